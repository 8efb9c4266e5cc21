#include <string.h>

#include "core/jscan.h"
#include "core/opencode.h"
#include "proto.h"

const char *session_status_name(enum session_status s)
{
	switch (s) {
	case SESSION_BUSY:
		return "busy";
	case SESSION_RETRY:
		return "retry";
	case SESSION_IDLE:
		break;
	}
	return "idle";
}

bool session_status_running(enum session_status s)
{
	return s == SESSION_BUSY || s == SESSION_RETRY;
}

static const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A session id OpenCode could have made; anything else (it would go into
 * URL paths) is treated as absent. */
static const char *valid_id(const char *id)
{
	return id != NULL && proto_session_id_valid(id, strlen(id)) ? id : NULL;
}

/* A decimal number of at most 6 digits at *s; -1 when none. */
static long version_part(const char **s)
{
	long n = 0;
	int digits = 0;

	for (; **s >= '0' && **s <= '9' && digits < 6; (*s)++, digits++)
		n = n * 10 + (**s - '0');
	return digits == 0 || (**s >= '0' && **s <= '9') ? -1 : n;
}

bool oc_version_at_least(const char *version, int major, int minor)
{
	const char *s = version;
	long ma, mi;

	if (s == NULL)
		return false;
	if (*s == 'v')
		s++;
	if ((ma = version_part(&s)) < 0 || *s++ != '.' || (mi = version_part(&s)) < 0)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

bool oc_session_id_possible(const char *id)
{
	return strncmp(id, OC_SESSION_ID_PREFIX, strlen(OC_SESSION_ID_PREFIX)) == 0;
}

int oc_status_read(json_t *status, enum session_status *out)
{
	const char *type = json_str(status, "type");

	if (type == NULL)
		return -1;
	if (strcmp(type, "busy") == 0)
		*out = SESSION_BUSY;
	else if (strcmp(type, "retry") == 0)
		*out = SESSION_RETRY;
	else if (strcmp(type, "idle") == 0)
		*out = SESSION_IDLE;
	else
		return -1;
	return 0;
}

int oc_info_read(json_t *info, struct oc_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(info) || (out->id = valid_id(json_str(info, "id"))) == NULL)
		return -1;
	out->parent = valid_id(json_str(info, "parentID"));
	out->directory = json_str(info, "directory");
	out->title = json_str(info, "title");
	return 0;
}

static enum oc_kind classify(const char *type)
{
	if (strcmp(type, "session.status") == 0 || strcmp(type, "session.idle") == 0)
		return OC_STATUS;
	if (strncmp(type, "message.part.", 13) == 0)
		return OC_PART;
	if (strcmp(type, "session.created") == 0 || strcmp(type, "session.updated") == 0)
		return OC_INFO;
	if (strcmp(type, "session.deleted") == 0)
		return OC_DELETED;
	if (strcmp(type, "session.error") == 0)
		return OC_ERROR;
	return OC_NONE;
}

/* The session an event is about, wherever OpenCode put its id. */
static const char *event_session_id(const char *type, json_t *props)
{
	json_t *info;

	if (strncmp(type, "session.", 8) == 0 &&
	    json_is_object(info = json_object_get(props, "info")))
		return json_str(info, "id");
	if (strcmp(type, "message.part.updated") == 0)
		return json_str(json_object_get(props, "part"), "sessionID");
	return json_str(props, "sessionID");
}

/* A task tool part carries its subagent's session in state.metadata, with
 * background true once the subagent was detached from the tool call (the
 * model asked for it, or POST /experimental/session/:id/background): the
 * child keeps its parentID, and this mark is all that tells it apart. */
static const char *background_child(const char *type, json_t *props)
{
	json_t *part = json_object_get(props, "part"), *meta;
	const char *tool = json_str(part, "tool");

	if (strcmp(type, "message.part.updated") != 0 || tool == NULL || strcmp(tool, "task") != 0)
		return NULL;
	meta = json_object_get(json_object_get(part, "state"), "metadata");
	if (!json_is_true(json_object_get(meta, "background")))
		return NULL;
	return valid_id(json_str(meta, "sessionId"));
}

static enum oc_kind none(struct oc_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	return OC_NONE;
}

enum oc_kind oc_event_read(json_t *payload, struct oc_event *ev)
{
	json_t *props = json_object_get(payload, "properties");
	const char *type = json_str(payload, "type");

	memset(ev, 0, sizeof(*ev));
	if (type == NULL || !json_is_object(props))
		return none(ev);
	ev->kind = classify(type);
	ev->type = type;
	if (ev->kind == OC_NONE)
		return none(ev);
	if (ev->kind == OC_INFO) {
		if (oc_info_read(json_object_get(props, "info"), &ev->info) < 0)
			return none(ev);
		ev->session_id = ev->info.id;
		return ev->kind;
	}
	if ((ev->session_id = valid_id(event_session_id(type, props))) == NULL)
		return none(ev);
	if (ev->kind == OC_STATUS) {
		ev->status = SESSION_IDLE; /* session.idle */
		if (strcmp(type, "session.status") == 0 &&
		    oc_status_read(json_object_get(props, "status"), &ev->status) < 0)
			return none(ev);
	}
	if (ev->kind == OC_PART)
		ev->background = background_child(type, props);
	return ev->kind;
}

int oc_frame_read_delta(const char *data, size_t len, struct oc_frame *f)
{
	static const char delta[] = "message.part.delta";
	enum { DIR, PAYLOAD, TYPE, PROPS, SESSION };
	struct jscan_field r[] = {
		[DIR] = { .path = { "directory" } },
		[PAYLOAD] = { .path = { "payload" } },
		[TYPE] = { .path = { "payload", "type" } },
		[PROPS] = { .path = { "payload", "properties" } },
		[SESSION] = { .path = { "payload", "properties", "sessionID" } },
	};

	if (jscan(data, len, r, sizeof(r) / sizeof(r[0])) < 0 || r[PAYLOAD].type != JSCAN_OBJECT ||
	    r[TYPE].type != JSCAN_STRING || r[TYPE].escaped || r[TYPE].len != sizeof(delta) - 1 ||
	    memcmp(r[TYPE].str, delta, sizeof(delta) - 1) != 0 || r[PROPS].type != JSCAN_OBJECT ||
	    r[SESSION].type != JSCAN_STRING || r[SESSION].escaped ||
	    !proto_session_id_valid(r[SESSION].str, r[SESSION].len) ||
	    (r[DIR].type == JSCAN_STRING &&
		(r[DIR].escaped || r[DIR].len > OC_FRAME_MAX_DIRECTORY)))
		return 0;
	memset(&f->ev, 0, sizeof(f->ev));
	memcpy(f->id, r[SESSION].str, r[SESSION].len);
	f->id[r[SESSION].len] = '\0';
	f->ev.kind = OC_PART;
	f->ev.type = delta;
	f->ev.session_id = f->id;
	f->directory = NULL;
	if (r[DIR].type == JSCAN_STRING) {
		memcpy(f->dir, r[DIR].str, r[DIR].len);
		f->dir[r[DIR].len] = '\0';
		f->directory = f->dir;
	}
	return 1;
}
