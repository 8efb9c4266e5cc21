#include "core/util.h"
#include "engine/notify.h"
#include "proto.h"
#include "rpc/rpc.h"

static bool name_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

/* A Vim function's name as nvim_call_function takes it: a script, autoload
 * (a#b) or dict (d.f) function; nothing that could be an expression. */
static bool nvim_function_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_MAX_NVIM_FUNCTION || !name_start(s[0]))
		return false;
	for (i = 1; i < len; i++)
		if (!name_start(s[i]) && !(s[i] >= '0' && s[i] <= '9') && s[i] != '#' &&
		    s[i] != '.' && s[i] != ':')
			return false;
	return true;
}

#define NVIM_BAD \
	"nvim must be {function: NAME} ([A-Za-z_][A-Za-z0-9_#.:]*, at most " NUM_STR( \
	    PROTO_MAX_NVIM_FUNCTION) " bytes) or {lua: CODE} (UTF-8, at most " NUM_STR(PROTO_MAX_NVIM_LUA) " bytes)"

/* The nvim option: how a Neovim that cannot take an "event" notification
 * has each event run instead. *method NULL when the option is absent. */
static int read_nvim(const msgpack_object *opts, const char **method, const char **arg, size_t *len,
    const char **msg)
{
	const msgpack_object *nvim = proto_map_get(opts, "nvim");

	*method = NULL;
	if (nvim == NULL || nvim->type == MSGPACK_OBJECT_NIL)
		return 0;
	*msg = NVIM_BAD;
	if (nvim->type != MSGPACK_OBJECT_MAP || nvim->via.map.size != 1)
		return PROTO_EBADREQ;
	if (proto_map_str(nvim, "function", arg, len) == PROTO_OK) {
		if (!nvim_function_valid(*arg, *len))
			return PROTO_EBADREQ;
		*method = PROTO_N_NVIM_CALL_FUNCTION;
	} else if (proto_map_str(nvim, "lua", arg, len) == PROTO_OK) {
		if (*len == 0 || *len > PROTO_MAX_NVIM_LUA || !proto_utf8_valid(*arg, *len))
			return PROTO_EBADREQ;
		*method = PROTO_N_NVIM_EXEC_LUA;
	} else {
		return PROTO_EBADREQ;
	}
	*msg = NULL;
	return 0;
}

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
	if ((rc = read_nvim(opts, &nvim_method, &arg, &arg_len, msg)) != 0)
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
