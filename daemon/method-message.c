#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"
#include "session.h"
#include "stop.h"

#define MAX_TEXT 256 /* longer texts are never a stop word */

/* Join the text parts; false when they are too long to be a stop word. */
static bool join_text(const msgpack_object_array *parts, char *out, size_t size, size_t *len)
{
	const char *type = NULL, *text = NULL;
	size_t type_len = 0, text_len = 0, i;

	*len = 0;
	for (i = 0; i < parts->size; i++) {
		const msgpack_object *p = &parts->ptr[i];

		if (p->type != MSGPACK_OBJECT_MAP ||
		    proto_map_str(p, "type", &type, &type_len) != PROTO_OK ||
		    type_len != 4 || memcmp(type, "text", 4) != 0 ||
		    proto_map_str(p, "text", &text, &text_len) != PROTO_OK)
			continue;
		if (*len + text_len >= size)
			return false;
		memcpy(out + *len, text, text_len);
		*len += text_len;
	}
	out[*len] = '\0';
	return true;
}

/* The OpenCode process this shim connection registered, if any. */
static struct server *shim_server(struct daemon *d, uint64_t client)
{
	struct server *s;

	for (s = server_list_first(d->servers); s != NULL; s = s->next)
		if (s->shim_client == client)
			return s;
	return NULL;
}

static void reply(const struct rpc_call *call, const char *verdict, bool aborted, const char *text)
{
	msgpack_packer *pk = rpc_reply_begin(call);

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, text != NULL ? 3 : 2);
	proto_pack_kv_str(pk, "verdict", verdict);
	proto_pack_kv_bool(pk, "aborted", aborted);
	if (text != NULL)
		proto_pack_kv_str(pk, "text", text);
	rpc_reply_end(call);
}

/* A user message is about to reach the model: pass it, swallow it (a stop
 * word with nothing running), or swallow it and stop the session's tree.
 * The answer never waits for the stop. */
static int method_message(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct daemon *d = call->d;
	const msgpack_object_array *parts = NULL;
	const msgpack_object *sid = proto_map_get(opts, "session");
	char text[MAX_TEXT], id[128];
	struct session *s = NULL, *root = NULL;
	struct server *srv;
	size_t len;

	if (sid == NULL || sid->type != MSGPACK_OBJECT_STR || sid->via.str.size >= sizeof(id) ||
	    proto_map_array(opts, "parts", &parts) != PROTO_OK) {
		*msg = "message needs session (string) and parts (array)";
		return PROTO_EBADREQ;
	}
	memcpy(id, sid->via.str.ptr, sid->via.str.size);
	id[sid->via.str.size] = '\0';
	if (!join_text(parts, text, sizeof(text), &len) || !config_is_stop_word(d->config, text, len)) {
		d->counters.verdicts_pass++;
		reply(call, "pass", false, NULL);
		return 0;
	}
	srv = shim_server(d, call->client);
	s = srv != NULL ? session_table_find(d->sessions, srv, id) : NULL;
	if (s == NULL)
		s = session_table_find_any(d->sessions, id);
	if (s != NULL)
		root = session_table_root(d->sessions, s);
	if (root != NULL && !session_table_tree_running(d->sessions, root)) {
		d->counters.verdicts_clear++;
		log_info("stop word in %s with nothing running: cleared", id);
		reply(call, "clear", false, "ocstop: nothing was running");
		bus_verdict(d, id, "clear");
		return 0;
	}
	/* Running, or unknown to us: the shim aborts in-process at once (the
	 * fastest path) and we stop and verify the whole tree. */
	d->counters.verdicts_abort++;
	/* No text: the shim knows the in-process latency and says it. */
	reply(call, "abort", false, NULL);
	bus_verdict(d, id, "abort");
	if (root != NULL && stop_start(d, root, "x", d->config->stop_timeout_ms, NULL, NULL) == NULL)
		log_warnx("stop word in %s: could not start the stop: out of memory", id);
	return 0;
}

const struct method_entry method_message_entry = {
	.name = PROTO_M_MESSAGE,
	.exec = method_message,
};
