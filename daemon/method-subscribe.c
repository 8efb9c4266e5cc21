#include <stdlib.h>

#include "client.h"
#include "proto.h"
#include "rpc.h"

/* Turn the connection into an event feed, optionally filtered by type. */
static int method_subscribe(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	const msgpack_object_array *events = NULL;
	struct client *c = client_find(call->d, call->client);
	char *types[32];
	size_t i, n = 0;
	msgpack_packer *pk;

	if (c == NULL)
		return 0;
	if (proto_map_array(opts, "events", &events) == PROTO_ERR) {
		*msg = "events must be an array of strings";
		return PROTO_EBADREQ;
	}
	if (events != NULL) {
		if (events->size > sizeof(types) / sizeof(types[0])) {
			*msg = "at most 32 event types";
			return PROTO_EBADREQ;
		}
		for (n = 0; n < events->size; n++) {
			if ((types[n] = proto_strdup(&events->ptr[n])) == NULL) {
				for (i = 0; i < n; i++)
					free(types[i]);
				*msg = "events must be an array of strings";
				return PROTO_EBADREQ;
			}
		}
	}
	client_subscribe(c, types, n);
	if ((pk = rpc_reply_begin(call)) != NULL) {
		msgpack_pack_map(pk, 0);
		rpc_reply_end(call);
	}
	return 0;
}

const struct method_entry method_subscribe_entry = {
	.name = PROTO_M_SUBSCRIBE,
	.exec = method_subscribe,
};
