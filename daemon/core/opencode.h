/*
 * What OpenCode says, read once: event payloads ({type, properties}, as
 * /global/event and the shim's relay deliver them), status objects
 * ({type: "busy"|"retry"|"idle", ...}) and Session objects ({id, parentID,
 * directory, title}). Events, resyncs and listings all go through here, so
 * they cannot read the same thing differently. Borrowed strings point into
 * the caller's JSON and live as long as it does.
 */
#ifndef OCSTOP_CORE_OPENCODE_H
#define OCSTOP_CORE_OPENCODE_H

#include <stdbool.h>

#include <jansson.h>

#include "core/status.h"
#include "proto.h"

/* What one event means for the daemon. */
enum oc_kind {
	OC_NONE,    /* not about a session, malformed, or not understood */
	OC_STATUS,  /* session.status, session.idle */
	OC_PART,    /* message.part.*: the session produced output */
	OC_INFO,    /* session.created, session.updated */
	OC_DELETED, /* session.deleted */
	OC_ERROR,   /* session.error */
};

/* A Session object's fields; NULL where absent or not a string. */
struct oc_info {
	const char *id; /* always a valid session id when read succeeded */
	const char *parent;
	const char *directory;
	const char *title;
};

struct oc_event {
	enum oc_kind kind;
	const char *type;           /* the event type; NULL for OC_NONE */
	const char *session_id;     /* valid session id unless OC_NONE */
	enum session_status status; /* OC_STATUS */
	struct oc_info info;        /* OC_INFO */
	/* OC_PART: the subagent session a task tool part says was sent to the
	 * background (OPENCODE_EXPERIMENTAL_BACKGROUND_SUBAGENTS); NULL else. */
	const char *background;
};

/* Read one payload; returns ev->kind. Anything unusable is OC_NONE: a
 * missing or malformed id, a status type this version does not know (it
 * changes nothing: guessing idle could hide a run, guessing busy could
 * invent one), an info event without its info object. */
enum oc_kind oc_event_read(json_t *payload, struct oc_event *ev);

/* Longest directory oc_frame_read_delta() copies; a longer one is left to
 * the full read. */
#define OC_FRAME_MAX_DIRECTORY 4096

/* One frame of /global/event, {directory, payload}, read by
 * oc_frame_read_delta(); its strings point into it. */
struct oc_frame {
	struct oc_event ev;
	const char *directory; /* NULL when absent or not a string */
	char id[PROTO_MAX_SESSION_ID + 1];
	char dir[OC_FRAME_MAX_DIRECTORY + 1];
};

/* The frame's text read without a JSON tree when it is a message.part.delta
 * (most of a streaming turn's events, each a token or a few) that
 * oc_event_read() would take: 1, and f holds what the full read would give.
 * 0 for any other frame, or one the cheap read does not vouch for: read it
 * with jansson and oc_event_read(). */
int oc_frame_read_delta(const char *data, size_t len, struct oc_frame *f);

/* A status object; -1 when its type is missing or not understood. */
int oc_status_read(json_t *status, enum session_status *out);

#define OC_SESSION_ID_PREFIX "ses"

/* Whether OpenCode could have made this session id (already valid for
 * proto_session_id_valid()): its ids start with "ses", and its routes answer
 * any other with a 500 (a schema error), not with "not found". */
bool oc_session_id_possible(const char *id);

/* A Session object; -1 when it has no valid id. */
int oc_info_read(json_t *info, struct oc_info *out);

/* From this version on, one abort ends a session whose prompt a plugin
 * blocked; 1.15 keeps it busy until a second one. */
#define OC_ONE_ABORT_MAJOR 1
#define OC_ONE_ABORT_MINOR 16

/* Whether version ("1.18.33", "v1.16.0-beta"; NULL when unknown) is at
 * least major.minor; false when unknown or not read. */
bool oc_version_at_least(const char *version, int major, int minor);

#endif
