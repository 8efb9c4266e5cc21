#include <string.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "proto.h"
#include "rpc/rpc.h"

/* Longest directory a relayed event may name. */
#define EVENT_MAX_DIRECTORY 4096

/* The relay's way up: the shim of a port-less OpenCode forwards its events,
 * {directory, event: "<JSON {type, properties}>"}, as notifications. */
static int method_opencode_event(const struct rpc_call *call, const msgpack_object *opts,
    const char **msg)
{
	struct engine *e = rpc_engine(call);
	struct server *srv = rpc_shim_server(call);
	const char *json = NULL, *dir = NULL;
	size_t json_len = 0, dir_len = 0;
	char dirbuf[EVENT_MAX_DIRECTORY];
	json_t *payload;

	if (srv == NULL || server_transport(srv) != SERVER_RELAY) {
		*msg = "this connection relays no OpenCode process";
		return PROTO_EBADREQ;
	}
	if (proto_map_str(opts, "event", &json, &json_len) != PROTO_OK) {
		*msg = "opencode.event without an event";
		return PROTO_EBADREQ;
	}
	if (proto_map_str(opts, "directory", &dir, &dir_len) == PROTO_OK && dir_len > 0 &&
	    !proto_utf8_valid(dir, dir_len)) {
		*msg = "directory must be UTF-8";
		return PROTO_EBADREQ;
	}
	if (dir != NULL && dir_len > 0 && dir_len < sizeof(dirbuf) &&
	    memchr(dir, '\0', dir_len) == NULL) {
		memcpy(dirbuf, dir, dir_len);
		dirbuf[dir_len] = '\0';
		dir = dirbuf;
	} else {
		dir = NULL;
	}
	if ((payload = json_loadb(json, json_len, 0, NULL)) == NULL) {
		log_debug("%s: unparsable relayed event skipped", server_url(srv));
		return 0;
	}
	engine_observe_event(e, srv, dir, payload, clock_now_ms());
	json_decref(payload);
	return 0;
}

const struct method_entry method_opencode_event_entry = {
	.name = PROTO_N_OPENCODE_EVENT,
	.how = METHOD_NOTIFY,
	.exec = method_opencode_event,
};
