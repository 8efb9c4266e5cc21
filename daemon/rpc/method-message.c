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

static void reply(const struct rpc_call *call, const char *verdict, const char *text)
{
	msgpack_packer *pk = rpc_reply_begin(call);

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, text != NULL ? 2 : 1);
	proto_pack_kv_str(pk, "verdict", verdict);
	if (text != NULL)
		proto_pack_kv_str(pk, "text", text);
	rpc_reply_end(call);
}

/* A user message is about to reach the model: pass it, swallow it (a stop
 * word with nothing running), or swallow it and stop the session's tree.
 * The answer never waits for the stop: its outcome follows as x.result. An
 * answer the shim stopped waiting for (deadline, its wall clock) does
 * nothing: the shim decided alone and says so with x.done. */
static int method_message(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct engine *e = rpc_engine(call);
	const struct config *cfg = engine_config(e);
	const msgpack_object_array *parts = NULL;
	const char *url = NULL;
	size_t url_len = 0;
	struct selection sel;
	enum select_found found;
	struct rpc_x x;
	char text[RPC_MAX_TEXT + 1];
	int64_t deadline = 0;
	size_t len;
	bool fits;
	int rc;

	if ((rc = rpc_x_read(opts, &x, msg)) != 0)
		return rc;
	if (proto_map_array(opts, "parts", &parts) != PROTO_OK ||
	    proto_map_str(opts, "server_url", &url, &url_len) == PROTO_ERR ||
	    proto_map_int(opts, "deadline", &deadline) == PROTO_ERR) {
		*msg =
		    "message needs parts (array); server_url is a string, deadline an integer (ms "
		    "since the epoch)";
		return PROTO_EBADREQ;
	}
	if (join_text(parts, text, sizeof(text), &len, &fits) < 0) {
		*msg = "each part must be a map {type?: string, text?: string}";
		return PROTO_EBADREQ;
	}
	if (deadline > 0 && clock_wall_ms() > deadline) {
		log_info("message in %s answered after the shim's deadline: it decided alone",
		    x.session);
		*msg = "answered after the shim's deadline: nothing done";
		return PROTO_ETIMEOUT;
	}
	if (!fits || !config_is_stop_word(cfg, text, len)) {
		rpc_x_verdict(call, &x, "pass");
		reply(call, "pass", NULL);
		return 0;
	}
	selection_init(&sel);
	found = selection_add_id(&sel, engine_sessions(e), rpc_shim_server(call), x.session,
	    strlen(x.session), false);
	selection_clear(&sel);
	if (found == SELECT_IDLE) {
		reply(call, "clear", "ocstop: nothing was running");
		rpc_x_verdict(call, &x, "clear");
		rpc_x_stop(call, &x, RPC_X_CLEARED);
		return 0;
	}
	/* Running, or unknown to us: the shim aborts that session in-process
	 * at once (the fastest path); the daemon aborts the rest of its tree
	 * and proves the whole tree stopped. */
	reply(call, "abort", NULL);
	rpc_x_verdict(call, &x, "abort");
	rpc_x_answered(call, &x);
	rpc_x_stop(call, &x, RPC_X_SHIM_ABORTED);
	return 0;
}

const struct method_entry method_message_entry = {
	.name = PROTO_M_MESSAGE,
	.how = METHOD_REQUEST,
	.exec = method_message,
};
