/* Error names and kinds: part of the wire contract (PROTOCOL.md), never
 * renamed. */
#include <string.h>

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

#define N_ERRCODES (sizeof(errcode_names) / sizeof(errcode_names[0]))

const char *proto_errcode_name(int code)
{
	if (code <= 0 || (size_t)code >= N_ERRCODES)
		return "unknown";
	return errcode_names[code];
}

int proto_errcode_kind(int code)
{
	switch (code) {
	case PROTO_EBADREQ:
	case PROTO_EMETHOD:
	case PROTO_ENOTFOUND:
	case PROTO_ELIMIT:
		return PROTO_ERRKIND_VALIDATION;
	default:
		return PROTO_ERRKIND_EXCEPTION;
	}
}

int proto_errcode_from_name(const char *name, size_t len)
{
	size_t code;

	for (code = 1; code < N_ERRCODES; code++)
		if (strlen(errcode_names[code]) == len &&
		    memcmp(errcode_names[code], name, len) == 0)
			return (int)code;
	return 0;
}

/* The code the name at the start of text gives ("name" or "name: ..."),
 * with *rest after the separator; 0 when it starts with no known name. */
static int leading_name(const char *text, size_t len, size_t *rest)
{
	const char *colon = memchr(text, ':', len);
	size_t n = colon != NULL ? (size_t)(colon - text) : len;
	int code = proto_errcode_from_name(text, n);

	if (code == 0)
		return 0;
	if (colon == NULL)
		*rest = len;
	else if (n + 1 < len && text[n + 1] == ' ')
		*rest = n + 2;
	else
		return 0;
	return code;
}

int proto_error_read(const msgpack_object *error, const char **text, size_t *len)
{
	const msgpack_object_array *a;
	const char *s;
	size_t n, rest = 0;
	int64_t first;
	int code;

	if (error == NULL || error->type != MSGPACK_OBJECT_ARRAY)
		return PROTO_ERR;
	a = &error->via.array;
	if (a->size != 2 || a->ptr[1].type != MSGPACK_OBJECT_STR)
		return PROTO_ERR;
	if (a->ptr[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER && a->ptr[0].via.u64 <= INT32_MAX)
		first = (int64_t)a->ptr[0].via.u64;
	else if (a->ptr[0].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		first = a->ptr[0].via.i64;
	else
		return PROTO_ERR;
	n = a->ptr[1].via.str.size;
	/* msgpack-c gives an empty string no pointer at all. */
	s = n > 0 ? a->ptr[1].via.str.ptr : "";
	*text = s;
	*len = n;
	/* Protocol 6: [kind, "name: message"]. */
	if ((first == PROTO_ERRKIND_EXCEPTION || first == PROTO_ERRKIND_VALIDATION) &&
	    (code = leading_name(s, n, &rest)) != 0) {
		*text = s + rest;
		*len = n - rest;
		return code;
	}
	/* Before: [code, message]. A kind 0 with a name this version does
	 * not know is a later daemon's error. */
	return first > 0 && first <= INT32_MAX ? (int)first : 0;
}
