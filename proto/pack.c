/* Packing the msgpack-rpc envelope and small option maps. */
#include <stdlib.h>
#include <string.h>

#include "proto.h"

/* Start with room for a typical reply; grow by doubling. */
#define PROTO_BUF_INIT 1024

/* Between an error's name and its message (PROTOCOL.md, Errors). */
#define ERROR_SEP ": "
#define ERROR_SEP_LEN (sizeof(ERROR_SEP) - 1)

/* The packer's writer: every token of every reply goes through here, so it
 * is one bounds check and a copy. */
static int buf_write(void *data, const char *buf, size_t len)
{
	struct proto_buf *b = data;
	size_t cap;
	char *grown;

	if (b->oom)
		return -1;
	if (len > b->cap - b->size) {
		for (cap = b->cap != 0 ? b->cap : PROTO_BUF_INIT; cap - b->size < len; cap *= 2)
			;
		if ((grown = realloc(b->data, cap)) == NULL) {
			b->oom = true;
			return -1;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->size, buf, len);
	b->size += len;
	return 0;
}

void proto_buf_init(struct proto_buf *b)
{
	b->data = NULL;
	b->size = b->cap = 0;
	msgpack_packer_init(&b->pk, b, buf_write);
	b->oom = false;
}

void proto_buf_reset(struct proto_buf *b)
{
	b->size = 0;
	b->oom = false;
}

void proto_buf_append(struct proto_buf *b, const void *data, size_t len)
{
	(void)buf_write(b, data, len);
}

void proto_buf_destroy(struct proto_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->size = b->cap = 0;
}

void proto_pack_request_header(msgpack_packer *pk, uint32_t msgid, const char *method)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PROTO_REQUEST);
	msgpack_pack_uint32(pk, msgid);
	proto_pack_cstr(pk, method);
}

void proto_pack_notify_header(msgpack_packer *pk, const char *method)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint8(pk, PROTO_NOTIFY);
	proto_pack_cstr(pk, method);
}

void proto_pack_result_header(msgpack_packer *pk, uint32_t msgid)
{
	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PROTO_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	msgpack_pack_nil(pk);
}

void proto_pack_error(msgpack_packer *pk, uint32_t msgid, int code, const char *message)
{
	const char *name;
	size_t name_len, msg_len;

	msgpack_pack_array(pk, 4);
	msgpack_pack_uint8(pk, PROTO_RESPONSE);
	msgpack_pack_uint32(pk, msgid);
	msgpack_pack_array(pk, 2);
	msgpack_pack_int(pk, proto_errcode_kind(code));
	/* The name first, where a program finds it and a person reads past. */
	name = proto_errcode_name(code);
	name_len = strlen(name);
	msg_len = message != NULL ? strlen(message) : 0;
	msgpack_pack_str(pk, name_len + (message != NULL ? ERROR_SEP_LEN + msg_len : 0));
	msgpack_pack_str_body(pk, name, name_len);
	if (message != NULL) {
		msgpack_pack_str_body(pk, ERROR_SEP, ERROR_SEP_LEN);
		msgpack_pack_str_body(pk, message, msg_len);
	}
	msgpack_pack_nil(pk);
}
