/*
 * The shim's fences, both ways: the daemon tells a fences-capable shim to
 * hold them on a tree it stops (fence), and the shim tells what they
 * refused (fence.hit).
 */
#include <string.h>

#include "core/log.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/rpc-int.h"
#include "wire.h"

/* The longest tool name logged; a longer one is cut. */
#define FENCE_MAX_NAME 64

static const struct {
	const char *name;
	enum fence_kind kind;
	const char *what;
} fence_kinds[] = {
	{ "tool", FENCE_TOOL, "a tool call" },
	{ "request", FENCE_REQUEST, "a model request" },
	{ "queued", FENCE_QUEUED, "a queued message" },
};

/* A shim's fence refused something: {session, kind: "tool"|"request"|
 * "queued", name?, at?}. Counted into the stop of that tree that runs, which
 * reports it; one refused after the stop ended is logged only. */
static int method_fence_hit(const struct rpc_call *call, const msgpack_object *opts,
    const char **msg)
{
	const msgpack_object *kind = proto_map_get(opts, "kind");
	struct server *srv = rpc_shim_server(call);
	const char *id = NULL, *name = NULL, *root;
	size_t id_len = 0, name_len = 0, i;
	char session[PROTO_MAX_SESSION_ID + 1];
	int rc;

	for (i = 0; i < nitems(fence_kinds); i++)
		if (kind != NULL && proto_str_eq(kind, fence_kinds[i].name))
			break;
	if (proto_map_str(opts, "session", &id, &id_len) != PROTO_OK ||
	    !proto_session_id_valid(id, id_len) || i == nitems(fence_kinds) ||
	    (rc = proto_map_str(opts, "name", &name, &name_len)) == PROTO_ERR ||
	    (rc == PROTO_OK && !proto_utf8_valid(name, name_len))) {
		*msg = "fence.hit needs session (a session id) and kind (\"tool\", \"request\" or "
		       "\"queued\"); name is a UTF-8 string";
		return PROTO_EBADREQ;
	}
	if (srv == NULL) {
		*msg = "fence.hit comes only from a registered shim";
		return PROTO_EBADREQ;
	}
	memcpy(session, id, id_len);
	session[id_len] = '\0';
	if (name_len > FENCE_MAX_NAME)
		name_len = FENCE_MAX_NAME;
	if (stop_fence_hit(rpc_engine(call), srv, session, fence_kinds[i].kind, &root))
		log_info("stop %s: the fence refused %s in %s%s%.*s", root, fence_kinds[i].what,
		    session, name != NULL ? ": " : "", (int)name_len, name != NULL ? name : "");
	else /* not bounded by any stop: a peer could flood the log at info */
		log_debug("fence refused %s in %s%s%.*s (tree %s, no stop running)",
		    fence_kinds[i].what, session, name != NULL ? ": " : "", (int)name_len,
		    name != NULL ? name : "", root != NULL ? root : "unknown");
	return 0;
}

const struct method_entry method_fence_hit_entry = {
	.name = PROTO_M_FENCE_HIT,
	.how = METHOD_NOTIFY,
	.exec = method_fence_hit,
};

static void send_fence(void *arg, uint64_t shim, const char *const *ids, size_t n)
{
	struct control *ctl = arg;
	msgpack_packer *pk = rpc_notify_begin(ctl, shim, PROTO_M_FENCE);

	if (pk == NULL)
		return;
	msgpack_pack_array(pk, 1);
	wire_pack_fence(pk, ids, n);
	rpc_notify_end(ctl, shim);
}

void fence_sink_init(struct control *ctl)
{
	stop_set_fence_sink(ctl->e, send_fence, ctl);
}

void fence_sink_fini(struct control *ctl)
{
	stop_set_fence_sink(ctl->e, NULL, NULL);
}
