#include "proto.h"
#include "rpc/rpc.h"

/* Liveness and version check; editors call it before anything else. */
static int method_ping(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	msgpack_packer *pk = rpc_reply_begin(call);

	(void)opts;
	(void)msg;
	if (pk == NULL)
		return 0;
	msgpack_pack_map(pk, 3);
	proto_pack_kv_str(pk, "version", OCSTOP_VERSION);
	proto_pack_kv_int(pk, "protocol", PROTO_VERSION);
	proto_pack_kv_bool(pk, "activated", rpc_activated(call));
	rpc_reply_end(call);
	return 0;
}

const struct method_entry method_ping_entry = {
	.name = PROTO_M_PING,
	.how = METHOD_REQUEST,
	.exec = method_ping,
};
