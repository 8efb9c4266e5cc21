/* proto reader: round trips, splits at every offset, every malformed frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* Three pipelined messages: a request with options, a response, a
 * notification. */
static void pack_three(msgpack_sbuffer *sb)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);

	proto_pack_request_header(&pk, 7, PROTO_M_ABORT);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	proto_pack_kv_str(&pk, "session", "ses_1");
	proto_pack_kv_bool(&pk, "wait", false);

	proto_pack_result_header(&pk, UINT32_MAX);
	msgpack_pack_map(&pk, 1);
	proto_pack_kv_int(&pk, "protocol", PROTO_VERSION);

	proto_pack_notify_header(&pk, PROTO_N_EVENT);
	msgpack_pack_array(&pk, 0);
}

/* Count of messages seen by drain(), and checks of each against pack_three. */
static void check_three(const struct proto_msg *m, int i)
{
	const msgpack_object *map;
	const char *err = NULL;
	const char *s;
	size_t len;
	bool wait = true;
	int64_t v;

	switch (i) {
	case 0:
		assert_int_equal(m->kind, PROTO_REQUEST);
		assert_true(m->has_msgid);
		assert_int_equal(m->msgid, 7);
		assert_int_equal(m->method_len, strlen(PROTO_M_ABORT));
		assert_memory_equal(m->method, PROTO_M_ABORT, m->method_len);
		map = proto_params_map(m->params, &err);
		assert_non_null(map);
		assert_int_equal(proto_map_str(map, "session", &s, &len), PROTO_OK);
		assert_int_equal(len, 5);
		assert_memory_equal(s, "ses_1", 5);
		assert_int_equal(proto_map_bool(map, "wait", &wait), PROTO_OK);
		assert_false(wait);
		break;
	case 1:
		assert_int_equal(m->kind, PROTO_RESPONSE);
		assert_int_equal(m->msgid, UINT32_MAX);
		assert_int_equal(m->error->type, MSGPACK_OBJECT_NIL);
		assert_int_equal(proto_map_int(m->result, "protocol", &v), PROTO_OK);
		assert_int_equal(v, PROTO_VERSION);
		break;
	case 2:
		assert_int_equal(m->kind, PROTO_NOTIFY);
		assert_false(m->has_msgid);
		assert_int_equal(m->method_len, strlen(PROTO_N_EVENT));
		assert_memory_equal(m->method, PROTO_N_EVENT, m->method_len);
		assert_int_equal(m->params->type, MSGPACK_OBJECT_ARRAY);
		assert_int_equal(m->params->via.array.size, 0);
		break;
	default:
		fail_msg("unexpected message %d", i);
	}
}

/* Read messages until PROTO_AGAIN, checking each; returns the new count. */
static int drain(struct proto_reader *r, int seen)
{
	struct proto_msg m;
	int rc;

	while ((rc = proto_reader_next(r, &m)) == PROTO_OK)
		check_three(&m, seen++);
	assert_int_equal(rc, PROTO_AGAIN);
	return seen;
}

static void test_round_trip_pipelined(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);

	(void)state;
	pack_three(&sb);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(drain(r, 0), 3);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_split_every_offset(void **state)
{
	msgpack_sbuffer sb;

	(void)state;
	pack_three(&sb);
	for (size_t k = 0; k <= sb.size; k++) {
		struct proto_reader *r = proto_reader_new(0);
		int seen;

		assert_int_equal(proto_reader_feed(r, sb.data, k), PROTO_OK);
		seen = drain(r, 0);
		assert_int_equal(proto_reader_feed(r, sb.data + k, sb.size - k), PROTO_OK);
		assert_int_equal(drain(r, seen), 3);
		proto_reader_free(r);
	}
	msgpack_sbuffer_destroy(&sb);
}

static void test_byte_at_a_time(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	int seen = 0;

	(void)state;
	pack_three(&sb);
	for (size_t i = 0; i < sb.size; i++) {
		assert_int_equal(proto_reader_feed(r, sb.data + i, 1), PROTO_OK);
		seen = drain(r, seen);
	}
	assert_int_equal(seen, 3);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_error_response(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	proto_pack_error(&pk, 3, PROTO_ENOTFOUND, "no such session");
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(m.kind, PROTO_RESPONSE);
	assert_int_equal(m.msgid, 3);
	assert_int_equal(m.error->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(m.error->via.array.ptr[0].via.u64, PROTO_ERRKIND_VALIDATION);
	assert_true(proto_str_eq(&m.error->via.array.ptr[1], "not_found: no such session"));
	assert_int_equal(m.result->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* Each message stays readable while more bytes arrive, until the next call. */
static void test_msg_survives_feed(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;
	char *big = calloc(1, 200000);

	(void)state;
	pack_three(&sb);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	/* A partial frame large enough to make the unpacker grow its buffer. */
	big[0] = (char)0xdb;
	big[1] = 0x00;
	big[2] = 0x04;
	assert_int_equal(proto_reader_feed(r, big, 200000), PROTO_OK);
	check_three(&m, 0);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	check_three(&m, 1);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
	free(big);
}

struct bad_case {
	const char *name;
	const char *bytes;
	size_t len;
	int rc;
	bool has_msgid;
	uint32_t msgid;
	const char *err; /* substring of proto_reader_error() */
};

#define B(s) s, sizeof(s) - 1

static const struct bad_case bad_cases[] = {
	{ "not array", B("\x01"), PROTO_INVALID, false, 0, "must be an array" },
	{ "map", B("\x80"), PROTO_INVALID, false, 0, "must be an array" },
	{ "empty array", B("\x90"), PROTO_INVALID, false, 0, "message type" },
	{ "type tag 3", B("\x94\x03\x01\xa4ping\x90"), PROTO_INVALID, false, 0, "message type" },
	{ "type tag str",
	    B("\x94\xa1"
	      "0\x01\xa4ping\x90"),
	    PROTO_INVALID, false, 0, "message type" },
	{ "type tag negative", B("\x94\xff\x01\xa4ping\x90"), PROTO_INVALID, false, 0,
	    "message type" },
	{ "request of 3", B("\x93\x00\x07\xa4ping"), PROTO_INVALID, true, 7, "4 elements" },
	{ "request of 5", B("\x95\x00\x07\xa4ping\x90\x90"), PROTO_INVALID, true, 7, "4 elements" },
	{ "request of 1", B("\x91\x00"), PROTO_INVALID, false, 0, "msgid" },
	{ "msgid negative", B("\x94\x00\xff\xa4ping\x90"), PROTO_INVALID, false, 0, "msgid" },
	{ "msgid over u32", B("\x94\x00\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xa4ping\x90"),
	    PROTO_INVALID, false, 0, "msgid" },
	{ "msgid str",
	    B("\x94\x00\xa1"
	      "1\xa4ping\x90"),
	    PROTO_INVALID, false, 0, "msgid" },
	{ "method int", B("\x94\x00\x01\x01\x90"), PROTO_INVALID, true, 1,
	    "method must be a string" },
	{ "method nil", B("\x94\x00\x01\xc0\x90"), PROTO_INVALID, true, 1,
	    "method must be a string" },
	{ "method bin empty", B("\x94\x00\x01\xc4\x00\x90"), PROTO_INVALID, true, 1, "empty" },
	{ "method empty", B("\x94\x00\x01\xa0\x90"), PROTO_INVALID, true, 1, "empty" },
	{ "params map", B("\x94\x00\x02\xa4ping\x80"), PROTO_INVALID, true, 2,
	    "params must be an array" },
	{ "params nil", B("\x94\x00\x02\xa4ping\xc0"), PROTO_INVALID, true, 2,
	    "params must be an array" },
	{ "response of 3", B("\x93\x01\x05\xc0"), PROTO_INVALID, true, 5, "4 elements" },
	{ "response error str", B("\x94\x01\x05\xa1x\xc0"), PROTO_INVALID, true, 5,
	    "error must be" },
	{ "response error [1]", B("\x94\x01\x05\x91\x01\xc0"), PROTO_INVALID, true, 5,
	    "error must be" },
	{ "notify of 4", B("\x94\x02\xa4ping\x90\x90"), PROTO_INVALID, false, 0, "3 elements" },
	{ "notify method int", B("\x93\x02\x01\x90"), PROTO_INVALID, false, 0, "method" },
	{ "notify params str", B("\x93\x02\xa4ping\xa0"), PROTO_INVALID, false, 0, "params" },
	{ "0xc1 alone", B("\xc1"), PROTO_ERR, false, 0, "0xc1" },
	{ "0xc1 nested", B("\x94\x00\x01\xa4ping\x91\xc1"), PROTO_ERR, false, 0, "0xc1" },
	{ "huge array32", B("\xdd\x05\xf5\xe1\x00"), PROTO_ERR, false, 0, "does not fit" },
	{ "huge map32", B("\xdf\xff\xff\xff\xff"), PROTO_ERR, false, 0, "does not fit" },
	{ "huge str32", B("\xdb\xff\xff\xff\xff"), PROTO_ERR, false, 0, "does not fit" },
	{ "huge bin32", B("\xc6\x00\x20\x00\x00"), PROTO_ERR, false, 0, "does not fit" },
	{ "huge ext32", B("\xc9\x00\x10\x00\x01\x01"), PROTO_ERR, false, 0, "does not fit" },
	/* 600k declared items, the first of them 600k more: 1.2 MB at least. */
	{ "nested counts overflow budget", B("\x92\xdd\x00\x09\x27\xc0\xdd\x00\x09\x27\xc0"),
	    PROTO_ERR, false, 0, "does not fit" },
};

static void run_bad_case(const struct bad_case *c, bool trickle)
{
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;
	int rc = PROTO_OK;

	if (trickle) {
		for (size_t i = 0; i < c->len && rc == PROTO_OK; i++)
			rc = proto_reader_feed(r, c->bytes + i, 1);
	} else {
		rc = proto_reader_feed(r, c->bytes, c->len);
	}
	if (c->rc == PROTO_ERR) {
		assert_int_equal(rc, PROTO_ERR);
		assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	} else {
		assert_int_equal(rc, PROTO_OK);
		assert_int_equal(proto_reader_next(r, &m), c->rc);
		assert_int_equal(m.has_msgid, c->has_msgid);
		if (c->has_msgid)
			assert_int_equal(m.msgid, c->msgid);
		assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	}
	if (strstr(proto_reader_error(r), c->err) == NULL)
		fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, proto_reader_error(r), c->err);
	proto_reader_free(r);
}

static void test_bad_frames(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		run_bad_case(&bad_cases[i], false);
		run_bad_case(&bad_cases[i], true);
	}
}

/* A request for method named by n copies of 'm'. */
static void pack_method_len(msgpack_sbuffer *sb, size_t n)
{
	msgpack_packer pk;
	char name[PROTO_MAX_METHOD + 2];

	memset(name, 'm', n);
	name[n] = '\0';
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	proto_pack_request_header(&pk, 9, name);
	msgpack_pack_array(&pk, 0);
}

static void test_method_length(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	pack_method_len(&sb, PROTO_MAX_METHOD);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(m.method_len, PROTO_MAX_METHOD);
	msgpack_sbuffer_destroy(&sb);

	pack_method_len(&sb, PROTO_MAX_METHOD + 1);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_INVALID);
	assert_true(m.has_msgid);
	assert_int_equal(m.msgid, 9);
	assert_non_null(strstr(proto_reader_error(r), "too long"));
	msgpack_sbuffer_destroy(&sb);
	proto_reader_free(r);
}

/* pynvim's session layer sends method names as bin: read as the str, in a
 * request and in a notification, under the same bound. */
static void test_method_bin(void **state)
{
	static const char frames[] = "\x94\x00\x05\xc4\x04ping\x90"
				     "\x93\x02\xc4\x05"
				     "abort\x91\x80";
	char big[5 + PROTO_MAX_METHOD + 1];
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	assert_int_equal(proto_reader_feed(r, frames, sizeof(frames) - 1), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(m.kind, PROTO_REQUEST);
	assert_int_equal(m.msgid, 5);
	assert_int_equal(m.method_len, 4);
	assert_memory_equal(m.method, "ping", 4);
	assert_int_equal(m.params->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(m.kind, PROTO_NOTIFY);
	assert_int_equal(m.method_len, 5);
	assert_memory_equal(m.method, "abort", 5);
	assert_int_equal(m.params->via.array.size, 1);
	/* [0, 6, bin of PROTO_MAX_METHOD + 1 bytes, []] */
	memcpy(big, "\x94\x00\x06\xc4", 4);
	big[4] = PROTO_MAX_METHOD + 1;
	memset(big + 5, 'p', PROTO_MAX_METHOD + 1);
	assert_int_equal(proto_reader_feed(r, big, 5 + PROTO_MAX_METHOD + 1), PROTO_OK);
	assert_int_equal(proto_reader_feed(r, "\x90", 1), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_INVALID);
	assert_int_equal(m.msgid, 6);
	assert_non_null(strstr(proto_reader_error(r), "too long"));
	proto_reader_free(r);
}

/* [0, 1, "ping", [[[...[]...]]]] with depth containers in all. */
static void pack_nested(msgpack_sbuffer *sb, int depth)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	proto_pack_request_header(&pk, 1, PROTO_M_PING);
	for (int i = 2; i < depth; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, 0);
}

static void test_depth(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	pack_nested(&sb, PROTO_MAX_DEPTH);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	msgpack_sbuffer_destroy(&sb);

	pack_nested(&sb, PROTO_MAX_DEPTH + 1);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_ERR);
	assert_non_null(strstr(proto_reader_error(r), "nesting"));
	msgpack_sbuffer_destroy(&sb);
	proto_reader_free(r);
}

/* A request whose params hold one str32 padding the frame to exactly size. */
static void pack_sized(msgpack_sbuffer *sb, size_t size)
{
	msgpack_packer pk;
	size_t head = 1 + 1 + 1 + 5 + 1 + 5; /* array, 0, msgid, "ping", [, str32 */
	size_t pad = size - head;
	char str32[5] = { (char)0xdb, (char)(pad >> 24), (char)(pad >> 16), (char)(pad >> 8),
		(char)pad };
	char *body = calloc(1, pad);

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	proto_pack_request_header(&pk, 1, PROTO_M_PING);
	msgpack_pack_array(&pk, 1);
	msgpack_sbuffer_write(sb, str32, sizeof(str32));
	msgpack_sbuffer_write(sb, body, pad);
	assert_int_equal(sb->size, size);
	free(body);
}

static void test_frame_limit(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r;
	struct proto_msg m;
	size_t limit = 100;
	char over[103];

	(void)state;
	/* Exactly at the limit is fine. */
	pack_sized(&sb, limit);
	r = proto_reader_new(limit);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);

	/* One byte over, in one feed: the str header already gives it away. */
	pack_sized(&sb, limit + 1);
	r = proto_reader_new(limit);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_ERR);
	assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);

	/* Trickled: fails on the byte that crosses the limit, not later. The
	 * declared lengths all fit; only an array32 header runs over. */
	memset(over, 'x', sizeof(over));
	memcpy(over, "\x92\xd9\x5f", 3);
	memcpy(over + 98, "\xdd\x00\x00\x00\x00", 5);
	for (size_t i = 0; i < 2; i++) {
		r = proto_reader_new(limit);
		if (i == 0) {
			for (size_t k = 0; k < limit; k++)
				assert_int_equal(proto_reader_feed(r, over + k, 1), PROTO_OK);
			assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
			assert_int_equal(proto_reader_feed(r, over + limit, 1), PROTO_ERR);
		} else {
			assert_int_equal(proto_reader_feed(r, over, sizeof(over)), PROTO_ERR);
		}
		assert_non_null(strstr(proto_reader_error(r), "frame exceeds"));
		proto_reader_free(r);
	}

	/* The default limit, a frame one byte over it in one feed. */
	pack_sized(&sb, PROTO_MAX_FRAME + 1);
	r = proto_reader_new(0);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_ERR);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* Frames before the limit still count; pipelined frames each get a budget. */
static void test_limit_is_per_frame(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(100);
	struct proto_msg m;

	(void)state;
	pack_sized(&sb, 100);
	for (int i = 0; i < 5; i++)
		assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_sticky_error(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	pack_three(&sb);
	assert_int_equal(proto_reader_feed(r, "\xc1", 1), PROTO_ERR);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_ERR);
	assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	assert_non_null(strstr(proto_reader_error(r), "0xc1"));
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* Frames complete before a bad byte are still returned, then the error;
 * a half frame after them is never unpacked. */
static void test_frames_before_error(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;
	char *bytes;
	int i;

	(void)state;
	pack_three(&sb);
	assert_non_null(bytes = malloc(sb.size + 4));
	memcpy(bytes, sb.data, sb.size);
	memcpy(bytes + sb.size, "\x94\x00\xc1", 3);
	assert_int_equal(proto_reader_feed(r, bytes, sb.size + 3), PROTO_ERR);
	for (i = 0; i < 3; i++) {
		assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
		check_three(&m, i);
	}
	assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	assert_int_equal(proto_reader_next(r, &m), PROTO_ERR);
	assert_non_null(strstr(proto_reader_error(r), "0xc1"));
	free(bytes);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* A partial frame is said until its rest comes. */
static void test_partial(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);

	(void)state;
	pack_three(&sb);
	assert_false(proto_reader_partial(r));
	assert_int_equal(proto_reader_feed(r, sb.data, 3), PROTO_OK);
	assert_true(proto_reader_partial(r));
	assert_int_equal(proto_reader_feed(r, sb.data + 3, sb.size - 3), PROTO_OK);
	assert_false(proto_reader_partial(r));
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_invalid_then_valid(void **state)
{
	msgpack_sbuffer sb;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	pack_three(&sb);
	assert_int_equal(proto_reader_feed(r, "\x94\x00\x04\xa4ping\x80", 9), PROTO_OK);
	assert_int_equal(proto_reader_feed(r, sb.data, sb.size), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_INVALID);
	assert_int_equal(m.kind, PROTO_REQUEST);
	assert_true(m.has_msgid);
	assert_int_equal(m.msgid, 4);
	assert_int_equal(drain(r, 0), 3);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

/* Every msgpack type in params, so the scanner's header table is exercised
 * against what msgpack-c itself accepts. */
static void test_all_types(void **state)
{
	static const char frame[] =
	    "\x94\x00\x01\xa4ping\xdc\x00\x21"
	    "\x00\x7f\xe0\xff\xc0\xc2\xc3"
	    "\xcc\x01\xcd\x00\x01\xce\x00\x00\x00\x01\xcf\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xd0\x01\xd1\x00\x01\xd2\x00\x00\x00\x01\xd3\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xca\x00\x00\x00\x00\xcb\x00\x00\x00\x00\x00\x00\x00\x00"
	    "\xa1x\xd9\x01x\xda\x00\x01x\xdb\x00\x00\x00\x01x"
	    "\xc4\x01x\xc5\x00\x01x\xc6\x00\x00\x00\x01x"
	    "\xd4\x01x\xd5\x01xx\xd6\x01xxxx\xd7\x01xxxxxxxx\xd8\x01xxxxxxxxxxxxxxxx"
	    "\xc7\x01\x01x\xc8\x00\x01\x01x\xc9\x00\x00\x00\x01\x01x"
	    "\xde\x00\x01\xa1k\xdd\x00\x00\x00\x00";
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;
	size_t len = sizeof(frame) - 1;

	(void)state;
	for (size_t k = 0; k <= len; k++) {
		assert_int_equal(proto_reader_feed(r, frame, k), PROTO_OK);
		assert_int_equal(proto_reader_feed(r, frame + k, len - k), PROTO_OK);
		assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
		assert_int_equal(m.params->via.array.size, 33);
		assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	}
	proto_reader_free(r);
}

/* A ~1 MiB frame of many small items fed a byte at a time: the scanner must
 * resume rather than rescan, or this takes minutes. */
static void test_big_frame_bytewise(void **state)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;
	uint32_t n = PROTO_MAX_FRAME - 32;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	proto_pack_request_header(&pk, 1, PROTO_M_PING);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_array(&pk, n);
	for (uint32_t i = 0; i < n; i++)
		msgpack_pack_uint8(&pk, 1);
	assert_true(sb.size <= PROTO_MAX_FRAME);
	assert_true(sb.size > PROTO_MAX_FRAME - 64);
	for (size_t i = 0; i < sb.size; i++)
		assert_int_equal(proto_reader_feed(r, sb.data + i, 1), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_OK);
	assert_int_equal(m.params->via.array.ptr[0].via.array.size, n);
	proto_reader_free(r);
	msgpack_sbuffer_destroy(&sb);
}

static void test_new_free(void **state)
{
	struct proto_reader *r = proto_reader_new(0);
	struct proto_msg m;

	(void)state;
	assert_non_null(r);
	assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	assert_int_equal(proto_reader_feed(r, "", 0), PROTO_OK);
	assert_int_equal(proto_reader_next(r, &m), PROTO_AGAIN);
	proto_reader_free(r);
	proto_reader_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_free),
		cmocka_unit_test(test_round_trip_pipelined),
		cmocka_unit_test(test_split_every_offset),
		cmocka_unit_test(test_byte_at_a_time),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_msg_survives_feed),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_method_length),
		cmocka_unit_test(test_method_bin),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_limit_is_per_frame),
		cmocka_unit_test(test_sticky_error),
		cmocka_unit_test(test_frames_before_error),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_invalid_then_valid),
		cmocka_unit_test(test_all_types),
		cmocka_unit_test(test_big_frame_bytewise),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
