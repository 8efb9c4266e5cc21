/* proto packing helpers: the exact bytes on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

	proto_pack_error(&f->pk, 2, PROTO_EMETHOD, "no");
	assert_bytes(f, "\x94\x01\x02\x92\x02\xa2no\xc0");
}

static void test_error_null_message(void **state)
{
	struct fixture *f = *state;

	proto_pack_error(&f->pk, 2, PROTO_EINTERNAL, NULL);
	assert_bytes(f, "\x94\x01\x02\x92\x06\xc0\xc0");
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
		cmocka_unit_test_setup_teardown(test_cstr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kv_bool_false, setup, teardown),
		cmocka_unit_test(test_errcode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
