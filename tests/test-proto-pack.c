/* proto packing helpers: the exact bytes on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

struct fixture {
	msgpack_sbuffer sb;
	msgpack_packer pk;
};

static int setup(void **state)
{
	struct fixture *f = test_malloc(sizeof(*f));

	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	msgpack_sbuffer_destroy(&f->sb);
	test_free(f);
	return 0;
}

#define assert_bytes(f, lit) \
	do { \
		assert_int_equal((f)->sb.size, sizeof(lit) - 1); \
		assert_memory_equal((f)->sb.data, lit, sizeof(lit) - 1); \
	} while (0)

static void test_request_header(void **state)
{
	struct fixture *f = *state;

	proto_pack_request_header(&f->pk, 7, PROTO_M_PING);
	msgpack_pack_array(&f->pk, 0);
	assert_bytes(f, "\x94\x00\x07\xa4ping\x90");
}

static void test_request_max_msgid(void **state)
{
	struct fixture *f = *state;

	proto_pack_request_header(&f->pk, UINT32_MAX, "a");
	assert_bytes(f,
	    "\x94\x00\xce\xff\xff\xff\xff\xa1"
	    "a");
}

static void test_notify_header(void **state)
{
	struct fixture *f = *state;

	proto_pack_notify_header(&f->pk, PROTO_N_EVENT);
	msgpack_pack_array(&f->pk, 0);
	assert_bytes(f,
	    "\x93\x02\xa5"
	    "event\x90");
}

static void test_result_header(void **state)
{
	struct fixture *f = *state;

	proto_pack_result_header(&f->pk, 300);
	msgpack_pack_map(&f->pk, 0);
	assert_bytes(f, "\x94\x01\xcd\x01\x2c\xc0\x80");
}

static void test_error(void **state)
{
	struct fixture *f = *state;

	/* Neovim shows a message only of kind 0 or 1: [1, "unknown_method: no"]. */
	proto_pack_error(&f->pk, 2, PROTO_EMETHOD, "no");
	assert_bytes(f, "\x94\x01\x02\x92\x01\xb2unknown_method: no\xc0");
}

static void test_error_kinds(void **state)
{
	struct fixture *f = *state;

	proto_pack_error(&f->pk, 2, PROTO_EUNREACHABLE, "down");
	assert_bytes(f, "\x94\x01\x02\x92\x00\xbaopencode_unreachable: down\xc0");
	assert_int_equal(proto_errcode_kind(PROTO_EBADREQ), PROTO_ERRKIND_VALIDATION);
	assert_int_equal(proto_errcode_kind(PROTO_EMETHOD), PROTO_ERRKIND_VALIDATION);
	assert_int_equal(proto_errcode_kind(PROTO_ENOTFOUND), PROTO_ERRKIND_VALIDATION);
	assert_int_equal(proto_errcode_kind(PROTO_ELIMIT), PROTO_ERRKIND_VALIDATION);
	assert_int_equal(proto_errcode_kind(PROTO_EUNREACHABLE), PROTO_ERRKIND_EXCEPTION);
	assert_int_equal(proto_errcode_kind(PROTO_ETIMEOUT), PROTO_ERRKIND_EXCEPTION);
	assert_int_equal(proto_errcode_kind(PROTO_EINTERNAL), PROTO_ERRKIND_EXCEPTION);
}

/* The code read back from an error of either form, with the message. */
static int read_error(struct fixture *f, const char *want_text)
{
	msgpack_unpacked u;
	const char *text = NULL;
	size_t len = 0;
	int code;

	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, f->sb.data, f->sb.size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
	code = proto_error_read(&u.data, &text, &len);
	if (code != PROTO_ERR)
		assert_non_null(text);
	if (want_text != NULL) {
		assert_int_equal(len, strlen(want_text));
		assert_memory_equal(text, want_text, len);
	}
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_clear(&f->sb);
	return code;
}

static void pack_error_pair(struct fixture *f, int64_t first, const char *text)
{
	msgpack_pack_array(&f->pk, 2);
	msgpack_pack_int64(&f->pk, first);
	proto_pack_cstr(&f->pk, text);
}

static void test_error_read(void **state)
{
	static const struct {
		int64_t first;
		const char *text, *rest;
		int code;
	} cases[] = {
		{ 1, "not_found: no session ses_a: gone", "no session ses_a: gone",
		    PROTO_ENOTFOUND },
		{ 0, "timeout: late", "late", PROTO_ETIMEOUT },
		/* An older daemon's [code, message]. */
		{ 3, "no such session", "no such session", PROTO_ENOTFOUND },
		{ 1, "params must be an array", "params must be an array", PROTO_EBADREQ },
		{ 7, "limit: the old form keeps its text", "limit: the old form keeps its text",
		    PROTO_ELIMIT },
		/* A name this version does not know, or one not followed by ": ". */
		{ 0, "busy: later", "busy: later", 0 },
		{ 0, "timeout:late", "timeout:late", 0 },
		{ 0, "timeouts: late", "timeouts: late", 0 },
		/* An empty message: msgpack-c gives no pointer for it. */
		{ 0, "", "", 0 },
	};
	struct fixture *f = *state;
	size_t i;
	int code;

	/* Every code survives the trip, and so does its message. */
	for (code = PROTO_EBADREQ; code <= PROTO_ELIMIT; code++) {
		pack_error_pair(f, proto_errcode_kind(code), proto_errcode_name(code));
		assert_int_equal(read_error(f, ""), code);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pack_error_pair(f, cases[i].first, cases[i].text);
		assert_int_equal(read_error(f, cases[i].rest), cases[i].code);
	}
	/* Neither form. */
	msgpack_pack_array(&f->pk, 2);
	msgpack_pack_int(&f->pk, 3);
	msgpack_pack_int(&f->pk, 5);
	assert_int_equal(read_error(f, NULL), PROTO_ERR);
	msgpack_pack_array(&f->pk, 1);
	msgpack_pack_int(&f->pk, 3);
	assert_int_equal(read_error(f, NULL), PROTO_ERR);
	proto_pack_cstr(&f->pk, "not_found: x");
	assert_int_equal(read_error(f, NULL), PROTO_ERR);
}

static void test_error_null_message(void **state)
{
	struct fixture *f = *state;

	proto_pack_error(&f->pk, 2, PROTO_EINTERNAL, NULL);
	assert_bytes(f, "\x94\x01\x02\x92\x00\xa8internal\xc0");
}

static void test_cstr(void **state)
{
	struct fixture *f = *state;

	proto_pack_cstr(&f->pk, NULL);
	proto_pack_cstr(&f->pk, "");
	proto_pack_cstr(&f->pk, "hi");
	assert_bytes(f, "\xc0\xa0\xa2hi");
}

static void test_kv(void **state)
{
	struct fixture *f = *state;

	msgpack_pack_map(&f->pk, 5);
	proto_pack_kv_str(&f->pk, "s", "v");
	proto_pack_kv_str(&f->pk, "n", NULL);
	proto_pack_kv_int(&f->pk, "i", -1);
	proto_pack_kv_int(&f->pk, "j", 200);
	proto_pack_kv_bool(&f->pk, "b", true);
	assert_bytes(f,
	    "\x85\xa1s\xa1v\xa1n\xc0\xa1i\xff\xa1j\xcc\xc8\xa1"
	    "b\xc3");
}

static void test_kv_bool_false(void **state)
{
	struct fixture *f = *state;

	proto_pack_kv_bool(&f->pk, "b", false);
	assert_bytes(f,
	    "\xa1"
	    "b\xc2");
}

static void test_errcode_names(void **state)
{
	(void)state;
	assert_string_equal(proto_errcode_name(PROTO_EBADREQ), "bad_request");
	assert_string_equal(proto_errcode_name(PROTO_EMETHOD), "unknown_method");
	assert_string_equal(proto_errcode_name(PROTO_ENOTFOUND), "not_found");
	assert_string_equal(proto_errcode_name(PROTO_EUNREACHABLE), "opencode_unreachable");
	assert_string_equal(proto_errcode_name(PROTO_ETIMEOUT), "timeout");
	assert_string_equal(proto_errcode_name(PROTO_EINTERNAL), "internal");
	assert_string_equal(proto_errcode_name(0), "unknown");
	assert_string_equal(proto_errcode_name(-1), "unknown");
	assert_string_equal(proto_errcode_name(PROTO_ELIMIT), "limit");
	assert_string_equal(proto_errcode_name(8), "unknown");
	assert_int_equal(proto_errcode_from_name("limit", 5), PROTO_ELIMIT);
	assert_int_equal(proto_errcode_from_name("bad_request", 11), PROTO_EBADREQ);
	assert_int_equal(proto_errcode_from_name("limits", 6), 0);
	assert_int_equal(proto_errcode_from_name("lim", 3), 0);
	assert_int_equal(proto_errcode_from_name("unknown", 7), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_request_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_max_msgid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_result_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_null_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cstr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv_bool_false, setup, teardown),
		cmocka_unit_test(test_errcode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
