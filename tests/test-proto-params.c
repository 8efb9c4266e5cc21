/* proto accessors: every type mismatch, absent key and nil. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

/* Unpack a literal msgpack encoding; the caller destroys u. */
static const msgpack_object *obj(msgpack_unpacked *u, const char *bytes, size_t len)
{
	size_t off = 0;

	msgpack_unpacked_init(u);
	assert_int_equal(msgpack_unpack_next(u, bytes, len, &off), MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	return &u->data;
}

#define OBJ(u, lit) obj(u, lit, sizeof(lit) - 1)

/* {s: "str", e: "", b: true, i: -5, u: 7, big: 2^63, a: [1], n: nil, f: 1.0,
 *  1: "intkey"} */
static const char options[] = "\x8a\xa1s\xa3str\xa1"
			      "e\xa0\xa1"
			      "b\xc3\xa1i\xfb\xa1u\x07"
			      "\xa3"
			      "big\xcf\x80\x00\x00\x00\x00\x00\x00\x00\xa1"
			      "a\x91\x01\xa1n\xc0"
			      "\xa1"
			      "f\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\x01\xa6intkey";

static void test_params_map(void **state)
{
	msgpack_unpacked u;
	const char *err = NULL;

	(void)state;
	assert_null(proto_params_map(OBJ(&u, "\x90"), &err));
	assert_null(err);
	msgpack_unpacked_destroy(&u);

	assert_null(proto_params_map(OBJ(&u, "\x91\xc0"), &err));
	assert_null(err);
	msgpack_unpacked_destroy(&u);

	/* Neovim's Lua {} */
	assert_null(proto_params_map(OBJ(&u, "\x91\x90"), &err));
	assert_null(err);
	msgpack_unpacked_destroy(&u);

	const msgpack_object *m = proto_params_map(OBJ(&u, "\x91\x81\xa1k\x01"), &err);
	assert_non_null(m);
	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	assert_null(err);
	msgpack_unpacked_destroy(&u);

	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\x91\x01", 2 },
		{ "\x91\x91\x01", 3 },
		{ "\x91\x91\x90", 3 },
		{ "\x92\x90\x90", 3 },
		{ "\x92\x80\x80", 3 },
		{ "\x92\xc0\xc0", 3 },
		{ "\x80", 1 },
		{ "\xc0", 1 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		assert_null(proto_params_map(obj(&u, bad[i].bytes, bad[i].len), &err));
		assert_string_equal(err, PROTO_PARAMS_BAD);
		msgpack_unpacked_destroy(&u);
	}
	err = NULL;
	assert_null(proto_params_map(NULL, &err));
	assert_non_null(err);
}

static void test_map_get(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *map = OBJ(&u, options);

	(void)state;
	assert_non_null(proto_map_get(map, "s"));
	assert_null(proto_map_get(map, "absent"));
	assert_null(proto_map_get(map, "st"));
	assert_null(proto_map_get(map, ""));
	/* The integer key 1 is not the string "1". */
	assert_null(proto_map_get(map, "1"));
	assert_null(proto_map_get(NULL, "s"));
	assert_null(proto_map_get(&map->via.map.ptr[0].val, "s"));
	msgpack_unpacked_destroy(&u);
}

static void test_map_str(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *map = OBJ(&u, options);
	const char *s = "untouched";
	size_t len = 99;

	(void)state;
	assert_int_equal(proto_map_str(map, "absent", &s, &len), PROTO_AGAIN);
	assert_int_equal(proto_map_str(map, "n", &s, &len), PROTO_AGAIN);
	assert_int_equal(proto_map_str(NULL, "s", &s, &len), PROTO_AGAIN);
	assert_string_equal(s, "untouched");
	assert_int_equal(len, 99);
	assert_int_equal(proto_map_str(map, "b", &s, &len), PROTO_ERR);
	assert_int_equal(proto_map_str(map, "a", &s, &len), PROTO_ERR);
	assert_int_equal(proto_map_str(map, "s", &s, &len), PROTO_OK);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "str", 3);
	assert_int_equal(proto_map_str(map, "e", &s, &len), PROTO_OK);
	assert_int_equal(len, 0);
	msgpack_unpacked_destroy(&u);
}

static void test_map_bool(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *map = OBJ(&u, options);
	bool v = false;

	(void)state;
	assert_int_equal(proto_map_bool(map, "absent", &v), PROTO_AGAIN);
	assert_int_equal(proto_map_bool(map, "n", &v), PROTO_AGAIN);
	assert_false(v);
	assert_int_equal(proto_map_bool(map, "u", &v), PROTO_ERR);
	assert_int_equal(proto_map_bool(map, "s", &v), PROTO_ERR);
	assert_int_equal(proto_map_bool(map, "b", &v), PROTO_OK);
	assert_true(v);
	msgpack_unpacked_destroy(&u);
}

static void test_map_int(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *map = OBJ(&u, options);
	int64_t v = 42;

	(void)state;
	assert_int_equal(proto_map_int(map, "absent", &v), PROTO_AGAIN);
	assert_int_equal(proto_map_int(map, "n", &v), PROTO_AGAIN);
	assert_int_equal(v, 42);
	assert_int_equal(proto_map_int(map, "big", &v), PROTO_ERR);
	assert_int_equal(proto_map_int(map, "f", &v), PROTO_ERR);
	assert_int_equal(proto_map_int(map, "b", &v), PROTO_ERR);
	assert_int_equal(proto_map_int(map, "s", &v), PROTO_ERR);
	assert_int_equal(v, 42);
	assert_int_equal(proto_map_int(map, "i", &v), PROTO_OK);
	assert_int_equal(v, -5);
	assert_int_equal(proto_map_int(map, "u", &v), PROTO_OK);
	assert_int_equal(v, 7);
	msgpack_unpacked_destroy(&u);
}

static void test_map_array(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *map = OBJ(&u, options);
	const msgpack_object_array *a = NULL;

	(void)state;
	assert_int_equal(proto_map_array(map, "absent", &a), PROTO_AGAIN);
	assert_int_equal(proto_map_array(map, "n", &a), PROTO_AGAIN);
	assert_null(a);
	assert_int_equal(proto_map_array(map, "s", &a), PROTO_ERR);
	assert_int_equal(proto_map_array(map, "a", &a), PROTO_OK);
	assert_non_null(a);
	assert_int_equal(a->size, 1);
	assert_int_equal(a->ptr[0].via.u64, 1);
	msgpack_unpacked_destroy(&u);
}

static void test_strdup(void **state)
{
	msgpack_unpacked u;
	char *s;

	(void)state;
	s = proto_strdup(OBJ(&u,
	    "\xa3"
	    "abc"));
	assert_string_equal(s, "abc");
	free(s);
	msgpack_unpacked_destroy(&u);

	s = proto_strdup(OBJ(&u, "\xa0"));
	assert_string_equal(s, "");
	free(s);
	msgpack_unpacked_destroy(&u);

	assert_null(proto_strdup(OBJ(&u,
	    "\xa3"
	    "a\0c")));
	msgpack_unpacked_destroy(&u);
	assert_null(proto_strdup(OBJ(&u, "\xa1\0")));
	msgpack_unpacked_destroy(&u);
	assert_null(proto_strdup(OBJ(&u, "\xc4\x01x")));
	msgpack_unpacked_destroy(&u);
	assert_null(proto_strdup(OBJ(&u, "\xc0")));
	msgpack_unpacked_destroy(&u);
	assert_null(proto_strdup(NULL));
}

static void test_str_eq(void **state)
{
	msgpack_unpacked u;
	const msgpack_object *o = OBJ(&u, "\xa4ping");

	(void)state;
	assert_true(proto_str_eq(o, "ping"));
	assert_false(proto_str_eq(o, "pin"));
	assert_false(proto_str_eq(o, "pings"));
	assert_false(proto_str_eq(o, "pong"));
	msgpack_unpacked_destroy(&u);

	o = OBJ(&u, "\xc4\x04ping");
	assert_false(proto_str_eq(o, "ping"));
	msgpack_unpacked_destroy(&u);

	o = OBJ(&u,
	    "\xa3"
	    "a\0c");
	assert_false(proto_str_eq(o, "a"));
	msgpack_unpacked_destroy(&u);
}

/* Well-formed UTF-8 only: RFC 3629's table, byte by byte at its edges. */
static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		bool valid;
	} cases[] = {
		{ "", true }, { "plain ascii", true },
		{ "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80", true },
		{ "\xed\x9f\xbf", true },      /* U+D7FF, before the surrogates */
		{ "\xf4\x8f\xbf\xbf", true },  /* U+10FFFF */
		{ "\xff", false },             /* never a UTF-8 byte */
		{ "\xc3", false },             /* cut short */
		{ "\xc3(", false },            /* not a continuation */
		{ "\xc0\xaf", false },         /* overlong '/' */
		{ "\xe0\x80\xaf", false },     /* overlong */
		{ "\xed\xa0\x80", false },     /* a surrogate */
		{ "\xf4\x90\x80\x80", false }, /* past U+10FFFF */
		{ "\xf0\x9f\x98", false },     /* cut short */
		{ "\x80", false },             /* a lone continuation */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (proto_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].valid)
			fail_msg("case %zu: want %s", i, cases[i].valid ? "valid" : "invalid");
}

/* subscribe's nvim option on what a hostile peer can send: bin, NUL,
 * bytes that are not UTF-8, wrong types, extra keys. */
static void test_nvim_option(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *method; /* NULL: refused */
	} cases[] = {
#define C(lit, method) { lit, sizeof(lit) - 1, method }
		/* {nvim: {function: "F"}} */
		C("\x81\xa4nvim\x81\xa8"
		  "function\xa1"
		  "F",
		    PROTO_N_NVIM_CALL_FUNCTION),
		/* {nvim: {lua: "x"}} */
		C("\x81\xa4nvim\x81\xa3lua\xa1x", PROTO_N_NVIM_EXEC_LUA),
		/* {nvim: {lua: "a\0b"}}: Lua takes NUL in a chunk */
		C("\x81\xa4nvim\x81\xa3lua\xa3"
		  "a\x00"
		  "b",
		    PROTO_N_NVIM_EXEC_LUA),
		/* {nvim: nil} and {}: no option */
		C("\x81\xa4nvim\xc0", ""),
		C("\x80", ""),
		/* the name as bin */
		C("\x81\xa4nvim\x81\xa8"
		  "function\xc4\x01"
		  "F",
		    NULL),
		/* a NUL in the name, or after it */
		C("\x81\xa4nvim\x81\xa8"
		  "function\xa3"
		  "F\x00"
		  "G",
		    NULL),
		C("\x81\xa4nvim\x81\xa8"
		  "function\xa2"
		  "F\x00",
		    NULL),
		/* the code as bin, or not UTF-8 */
		C("\x81\xa4nvim\x81\xa3lua\xc4\x01x", NULL),
		C("\x81\xa4nvim\x81\xa3lua\xa2\xc3\x28", NULL),
		/* the key as bin */
		C("\x81\xa4nvim\x81\xc4\x03lua\xa1x", NULL),
		/* wrong types: nvim an array, a str; the name a number, nil */
		C("\x81\xa4nvim\x91\xa1x", NULL),
		C("\x81\xa4nvim\xa1x", NULL),
		C("\x81\xa4nvim\x81\xa8"
		  "function\x05",
		    NULL),
		C("\x81\xa4nvim\x81\xa8"
		  "function\xc0",
		    NULL),
		/* both, and the same key twice */
		C("\x81\xa4nvim\x82\xa3lua\xa1x\xa3lua\xa1y", NULL),
#undef C
	};
	const char *method, *arg, *msg;
	msgpack_unpacked u;
	size_t len;
	int rc;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		method = "unset";
		msg = NULL;
		rc = proto_nvim_option(obj(&u, cases[i].bytes, cases[i].len), &method, &arg, &len,
		    &msg);
		if (cases[i].method == NULL) {
			if (rc != PROTO_EBADREQ || msg == NULL ||
			    strstr(msg, "nvim must be") == NULL)
				fail_msg("case %zu: not refused", i);
		} else if (rc != 0 ||
		    (cases[i].method[0] == '\0'
			    ? method != NULL
			    : method == NULL || strcmp(method, cases[i].method) != 0)) {
			fail_msg("case %zu: rc %d, method %s", i, rc, method ? method : "NULL");
		}
		msgpack_unpacked_destroy(&u);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_params_map),
		cmocka_unit_test(test_map_get),
		cmocka_unit_test(test_map_str),
		cmocka_unit_test(test_map_bool),
		cmocka_unit_test(test_map_int),
		cmocka_unit_test(test_map_array),
		cmocka_unit_test(test_strdup),
		cmocka_unit_test(test_str_eq),
		cmocka_unit_test(test_nvim_option),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
