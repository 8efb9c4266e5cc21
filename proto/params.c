/* Typed access to params and option maps; nothing here trusts a type. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

const msgpack_object *proto_params_map(const msgpack_object *params, const char **err)
{
	const msgpack_object *o;

	if (params == NULL || params->type != MSGPACK_OBJECT_ARRAY || params->via.array.size > 1)
		goto bad;
	if (params->via.array.size == 0)
		return NULL;
	o = &params->via.array.ptr[0];
	/* Some clients send [nil] for "no options", and Neovim's Lua sends
	 * an empty table, {} or {session = nil}, as [[]]. */
	if (o->type == MSGPACK_OBJECT_NIL ||
	    (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0))
		return NULL;
	if (o->type == MSGPACK_OBJECT_MAP)
		return o;
bad:
	*err = PROTO_PARAMS_BAD;
	return NULL;
}

bool proto_str_eq(const msgpack_object *o, const char *s)
{
	size_t len = strlen(s);

	return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len &&
	    memcmp(o->via.str.ptr, s, len) == 0;
}

const msgpack_object *proto_map_get(const msgpack_object *map, const char *key)
{
	size_t len;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	len = strlen(key);
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == len &&
		    memcmp(kv->key.via.str.ptr, key, len) == 0)
			return &kv->val;
	}
	return NULL;
}

/* The value of key unless it is absent or nil, which mean "not given". */
static const msgpack_object *given(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = proto_map_get(map, key);

	return v != NULL && v->type != MSGPACK_OBJECT_NIL ? v : NULL;
}

int proto_map_str(const msgpack_object *map, const char *key, const char **s, size_t *len)
{
	const msgpack_object *v = given(map, key);

	if (v == NULL)
		return PROTO_AGAIN;
	if (v->type != MSGPACK_OBJECT_STR)
		return PROTO_ERR;
	*s = v->via.str.ptr;
	*len = v->via.str.size;
	return PROTO_OK;
}

int proto_map_bool(const msgpack_object *map, const char *key, bool *out)
{
	const msgpack_object *v = given(map, key);

	if (v == NULL)
		return PROTO_AGAIN;
	if (v->type != MSGPACK_OBJECT_BOOLEAN)
		return PROTO_ERR;
	*out = v->via.boolean;
	return PROTO_OK;
}

int proto_map_int(const msgpack_object *map, const char *key, int64_t *out)
{
	const msgpack_object *v = given(map, key);

	if (v == NULL)
		return PROTO_AGAIN;
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*out = v->via.i64;
	else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
		*out = (int64_t)v->via.u64;
	else
		return PROTO_ERR;
	return PROTO_OK;
}

int proto_map_array(const msgpack_object *map, const char *key, const msgpack_object_array **out)
{
	const msgpack_object *v = given(map, key);

	if (v == NULL)
		return PROTO_AGAIN;
	if (v->type != MSGPACK_OBJECT_ARRAY)
		return PROTO_ERR;
	*out = &v->via.array;
	return PROTO_OK;
}

char *proto_strdup(const msgpack_object *o)
{
	char *s;

	/* An empty str may carry a NULL pointer, which memchr and memcpy
	 * must not see even with a zero length. */
	if (o == NULL || o->type != MSGPACK_OBJECT_STR ||
	    (o->via.str.size > 0 && memchr(o->via.str.ptr, '\0', o->via.str.size) != NULL))
		return NULL;
	s = malloc(o->via.str.size + 1);
	if (s == NULL)
		return NULL;
	if (o->via.str.size > 0)
		memcpy(s, o->via.str.ptr, o->via.str.size);
	s[o->via.str.size] = '\0';
	return s;
}

bool proto_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned char lo, hi;
	size_t n, i;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		/* The lead byte says how many continuation bytes follow and
		 * bounds the first of them (RFC 3629's table). */
		lo = 0x80;
		hi = 0xbf;
		if (*p >= 0xc2 && *p <= 0xdf)
			n = 1;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 2, lo = *p == 0xe0 ? 0xa0 : 0x80, hi = *p == 0xed ? 0x9f : 0xbf;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 3, lo = *p == 0xf0 ? 0x90 : 0x80, hi = *p == 0xf4 ? 0x8f : 0xbf;
		else
			return false;
		if ((size_t)(end - p) <= n || p[1] < lo || p[1] > hi)
			return false;
		for (i = 2; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

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

#define NUM_STR(x) NUM_STR_(x)
#define NUM_STR_(x) #x
#define NVIM_BAD \
	"nvim must be {function: NAME} ([A-Za-z_][A-Za-z0-9_#.:]*, at most " NUM_STR( \
	    PROTO_MAX_NVIM_FUNCTION) " bytes) or {lua: CODE} (UTF-8, at most " NUM_STR(PROTO_MAX_NVIM_LUA) " bytes)"

int proto_nvim_option(const msgpack_object *opts, const char **method, const char **arg,
    size_t *len, const char **msg)
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
