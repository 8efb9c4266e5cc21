#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/select.h"
#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/notify.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/rpc.h"

#define MAX_TEXT 256 /* longer texts are never a stop word */

/* Join the text parts into out; *fits is false when they are too long to be
 * a stop word. -1 when a part is not {type?: str, text?: str}. */
static int join_text(const msgpack_object_array *parts, char *out, size_t size, size_t *len,
    bool *fits)
{
	const char *type = NULL, *text = NULL;
	size_t type_len = 0, text_len = 0, i;
	int rc_type, rc;

	*len = 0;
	*fits = true;
	for (i = 0; i < parts->size; i++) {
		const msgpack_object *p = &parts->ptr[i];

		if (p->type != MSGPACK_OBJECT_MAP ||
		    (rc_type = proto_map_str(p, "type", &type, &type_len)) == PROTO_ERR ||
		    (rc = proto_map_str(p, "text", &text, &text_len)) == PROTO_ERR)
			return -1;
		if (rc_type != PROTO_OK || rc != PROTO_OK || type_len != 4 ||
		    memcmp(type, "text", 4) != 0 || !*fits)
			continue;
		if (*len + text_len >= size) {
			*fits = false;
			continue;
		}
		if (text_len > 0)
			memcpy(out + *len, text, text_len);
		*len += text_len;
	}
	out[*len] = '\0';
	return 0;
}

/* The optional string options, in one pass over the map: nil or a string. */
static bool options_valid(const msgpack_object *opts)
{
	static const char *const strings[] = { "message_id", "directory", "server_url" };
	const msgpack_object_kv *kv;
	size_t i, j;

	for (i = 0; i < opts->via.map.size; i++) {
		kv = &opts->via.map.ptr[i];
		if (kv->val.type == MSGPACK_OBJECT_STR || kv->val.type == MSGPACK_OBJECT_NIL)
			continue;
		for (j = 0; j < nitems(strings); j++)
			if (proto_str_eq(&kv->key, strings[j]))
				return false;
	}
	return true;
}

static void reply(const struct rpc_call *call, const char *verdict, const char *text)
{
	msgpack_packer *pk = rpc_reply_begin(call);

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, text != NULL ? 3 : 2);
	proto_pack_kv_str(pk, "verdict", verdict);
	/* The shim aborts in-process itself: that is the fastest path. */
	proto_pack_kv_bool(pk, "aborted", false);
	if (text != NULL)
		proto_pack_kv_str(pk, "text", text);
	rpc_reply_end(call);
}

static void publish(struct engine *e, const char *id, const char *verdict)
{
	struct notify_event ev = { .type = NOTIFY_VERDICT, .session_id = id, .verdict = verdict };

	/* A verdict costs nothing more when nobody listens. */
	if (!notify_wanted(engine_notify(e), NOTIFY_VERDICT))
		return;
	ev.session = session_table_find_any(engine_sessions(e), id);
	notify_fire(engine_notify(e), &ev);
}

/* A user message is about to reach the model: pass it, swallow it (a stop
 * word with nothing running), or swallow it and stop the session's tree.
 * The answer never waits for the stop. */
static int method_message(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct engine *e = rpc_engine(call);
	const struct config *cfg = engine_config(e);
	struct rpc_counters *k = rpc_counters(call);
	const msgpack_object_array *parts = NULL;
	const msgpack_object *sid = proto_map_get(opts, "session");
	struct session_table *t = engine_sessions(e);
	struct selection sel;
	enum select_found found;
	char text[MAX_TEXT], id[PROTO_MAX_SESSION_ID + 1];
	size_t len;
	bool fits;

	if (sid == NULL || sid->type != MSGPACK_OBJECT_STR ||
	    !proto_session_id_valid(sid->via.str.ptr, sid->via.str.size) ||
	    proto_map_array(opts, "parts", &parts) != PROTO_OK || !options_valid(opts)) {
		*msg = "message needs session (a session id) and parts (array); message_id, "
		       "directory, server_url are strings";
		return PROTO_EBADREQ;
	}
	if (join_text(parts, text, sizeof(text), &len, &fits) < 0) {
		*msg = "each part must be a map {type?: string, text?: string}";
		return PROTO_EBADREQ;
	}
	memcpy(id, sid->via.str.ptr, sid->via.str.size);
	id[sid->via.str.size] = '\0';
	if (!fits || !config_is_stop_word(cfg, text, len)) {
		k->verdicts_pass++;
		reply(call, "pass", NULL);
		return 0;
	}
	selection_init(&sel);
	found = selection_add_id(&sel, t, rpc_shim_server(call), id, strlen(id), false);
	if (found == SELECT_IDLE) {
		k->verdicts_clear++;
		log_debug("stop word in %s with nothing running: cleared", id);
		reply(call, "clear", "ocstop: nothing was running");
		publish(e, id, "clear");
		return 0;
	}
	/* Running, or unknown to us: the shim aborts in-process at once (the
	 * fastest path) and the daemon stops and verifies the whole tree. No
	 * text: the shim knows the in-process latency and says it. */
	k->verdicts_abort++;
	reply(call, "abort", NULL);
	publish(e, id, "abort");
	if (found == SELECT_RUNNING && sel.n > 0 &&
	    stop_start(e, sel.roots[0], "x", cfg->stop_timeout_ms, clock_now_ms(), NULL, NULL) ==
		NULL)
		log_warnx("stop word in %s: could not start the stop: out of memory", id);
	selection_clear(&sel);
	return 0;
}

const struct method_entry method_message_entry = {
	.name = PROTO_M_MESSAGE,
	.how = METHOD_REQUEST,
	.exec = method_message,
};
