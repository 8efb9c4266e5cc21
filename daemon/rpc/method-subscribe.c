#include "engine/notify.h"
#include "proto.h"
#include "rpc/rpc.h"

/* Turn the connection into an event feed, optionally filtered by type.
 * Names this version does not know are accepted and never match, so that a
 * client written for a later version still subscribes here. */
static int method_subscribe(const struct rpc_call *call, const msgpack_object *opts,
    const char **msg)
{
	const msgpack_object_array *events = NULL;
	unsigned mask = NOTIFY_ALL;
	const char *nvim_method, *arg = NULL;
	size_t arg_len = 0;
	msgpack_packer *pk;
	int type, rc;
	uint32_t i;

	if (proto_map_array(opts, "events", &events) == PROTO_ERR) {
		*msg = "events must be an array of strings";
		return PROTO_EBADREQ;
	}
	if (events != NULL) {
		mask = 0;
		for (i = 0; i < events->size; i++) {
			if (events->ptr[i].type != MSGPACK_OBJECT_STR) {
				*msg = "events must be an array of strings";
				return PROTO_EBADREQ;
			}
			type = notify_type_from_name(events->ptr[i].via.str.ptr,
			    events->ptr[i].via.str.size);
			if (type >= 0)
				mask |= 1u << type;
		}
	}
	if ((rc = proto_nvim_option(opts, &nvim_method, &arg, &arg_len, msg)) != 0)
		return rc;
	if (rpc_subscribe(call, mask, nvim_method, arg, arg_len) < 0) {
		*msg = "out of memory";
		return PROTO_EINTERNAL;
	}
	if ((pk = rpc_reply_begin(call)) != NULL) {
		msgpack_pack_map(pk, 0);
		rpc_reply_end(call);
	}
	return 0;
}

const struct method_entry method_subscribe_entry = {
	.name = PROTO_M_SUBSCRIBE,
	.how = METHOD_REQUEST,
	.exec = method_subscribe,
};
