/*
 * The table of OpenCode sessions the daemon knows, fed by OpenCode events
 * (from the /global/event stream or the shim's relay). Pure bookkeeping:
 * no I/O, so tests drive it with JSON payloads.
 */
#ifndef OCSTOP_SESSION_H
#define OCSTOP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct server;

enum session_status {
	SESSION_IDLE,
	SESSION_BUSY,
	SESSION_RETRY,
};

/* Read-only outside session.c. */
struct session {
	char *id;
	struct server *server;     /* the process that runs it; borrowed */
	char *directory;
	char *parent;              /* parent session id, NULL for a root */
	char *title;
	enum session_status status;
	bool info_known;           /* parent and title came from session info */
	int64_t last_activity_ms;
	struct session *next;
};

/* What one OpenCode event meant for the table. */
enum session_event_kind {
	SEV_NONE,    /* not about a session, or malformed */
	SEV_STATUS,  /* session.status / session.idle */
	SEV_PART,    /* message.part.*: the session produced output */
	SEV_INFO,    /* session.created / session.updated */
	SEV_DELETED, /* session.deleted: the entry is gone */
	SEV_ERROR,   /* session.error */
};

struct session_event {
	enum session_event_kind kind;
	const char *type;          /* event type; borrowed from the payload */
	const char *session_id;    /* borrowed from the payload */
	struct session *session;   /* NULL for SEV_NONE and SEV_DELETED */
	enum session_status old_status;
	bool status_changed;
	bool created;              /* this event made a new entry */
};

struct session_table;

/* NULL on allocation failure; caller frees with session_table_free(). */
struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);

/* Apply one event payload {type, properties} seen on server for directory
 * (may be NULL). Returns -1 only when memory ran out. */
int session_table_apply(struct session_table *t, struct server *server, const char *directory,
    json_t *payload, int64_t now_ms, struct session_event *ev);

/* Merge one Session object ({id, parentID?, directory, title}) from a listing. */
struct session *session_table_merge_info(struct session_table *t, struct server *server,
    json_t *info, int64_t now_ms);

/* Set a status learned from a resync; returns the entry or NULL (unknown id
 * and no memory). Creates the entry when needed. */
struct session *session_table_set_status(struct session_table *t, struct server *server,
    const char *id, const char *directory, enum session_status status, bool *changed);

struct session *session_table_find(struct session_table *t, struct server *server, const char *id);
/* Any server; prefers a running entry when the id is known to several. */
struct session *session_table_find_any(struct session_table *t, const char *id);

/* Walk up the parent chain on the same server to the root. */
struct session *session_table_root(struct session_table *t, struct session *s);

/* True when s or any descendant is busy or retrying. */
bool session_table_tree_running(struct session_table *t, struct session *root);

/* Most descendants one stop handles; a larger tree is cut at this bound. */
#define SESSION_TREE_MAX 256

/* Fill out[] with the descendants of root (depth first), up to max; returns
 * how many exist (may exceed max). */
size_t session_table_descendants(struct session_table *t, struct session *root,
    struct session **out, size_t max);

/* Drop every entry of server (it went away). */
void session_table_drop_server(struct session_table *t, struct server *server);

/* Iteration: first entry, then s->next. */
struct session *session_table_first(struct session_table *t);
size_t session_table_count(const struct session_table *t);

const char *session_status_name(enum session_status s);
bool session_status_running(enum session_status s);

#endif
