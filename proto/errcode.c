/* Error-code names: part of the wire contract (PROTOCOL.md), never renamed. */
#include "proto.h"

static const char *const errcode_names[] = {
	[PROTO_EBADREQ] = "bad_request",
	[PROTO_EMETHOD] = "unknown_method",
	[PROTO_ENOTFOUND] = "not_found",
	[PROTO_EUNREACHABLE] = "opencode_unreachable",
	[PROTO_ETIMEOUT] = "timeout",
	[PROTO_EINTERNAL] = "internal",
	[PROTO_ELIMIT] = "limit",
};

const char *proto_errcode_name(int code)
{
	if (code <= 0 || (size_t)code >= sizeof(errcode_names) / sizeof(errcode_names[0]))
		return "unknown";
	return errcode_names[code];
}
