/*
 * The msgpack-rpc reader and the params accessors, on any bytes. The input's
 * first byte picks the frame limit (0: the protocol's), then split.h's
 * header says how the stream is cut. The stream is read twice, fed in those
 * cuts with every message drained between feeds as a connection does, and
 * fed whole: the two must agree on whether the stream breaks and, when it
 * does not, on every message. Every message read goes through every accessor
 * the methods use (subscribe's nvim option too), and their answers must
 * agree with the objects' types; every error reply through proto_error_read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "fuzz.h"
#include "proto.h"
#include "split.h"

/* How much of each input goes through the accessors: enough to reach every
 * branch, not so much that long inputs make runs slow. */
#define FUZZ_MAX_KEYS 16
#define FUZZ_MAX_CHECKED 8

/* Keys the methods look up (PROTOCOL.md), so that absent keys are asked for
 * too, not only those the input happens to carry. */
static const char *const known_keys[] = {
	"session",
	"sessions",
	"directory",
	"all",
	"wait",
	"timeout_ms",
	"events",
	"parts",
	"type",
	"text",
	"message_id",
	"server_url",
	"worktree",
	"pid",
	"opencode_version",
	"username",
	"password",
	"event",
	"ok",
	"ms",
	"error",
	"statuses",
	"nvim",
	"function",
	"lua",
};

static void check_key(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = proto_map_get(map, key), *arr_obj;
	const msgpack_object_array *arr = NULL;
	const char *s = NULL;
	size_t len = 0;
	bool b = false;
	int64_t i = 0;
	int rc, absent;

	absent = v == NULL || v->type == MSGPACK_OBJECT_NIL;
	rc = proto_map_str(map, key, &s, &len);
	CHECK(rc == (absent ? PROTO_AGAIN : v->type == MSGPACK_OBJECT_STR ? PROTO_OK : PROTO_ERR));
	if (rc == PROTO_OK)
		CHECK(len == v->via.str.size && (len == 0 || memcmp(s, v->via.str.ptr, len) == 0));
	rc = proto_map_bool(map, key, &b);
	CHECK(rc ==
	    (absent                                     ? PROTO_AGAIN
		    : v->type == MSGPACK_OBJECT_BOOLEAN ? PROTO_OK
							: PROTO_ERR));
	rc = proto_map_int(map, key, &i);
	if (rc == PROTO_OK)
		CHECK(v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? i == v->via.i64 && i < 0
								 : (uint64_t)i == v->via.u64);
	else
		CHECK(rc == (absent ? PROTO_AGAIN : PROTO_ERR));
	rc = proto_map_array(map, key, &arr);
	CHECK(rc ==
	    (absent                                   ? PROTO_AGAIN
		    : v->type == MSGPACK_OBJECT_ARRAY ? PROTO_OK
						      : PROTO_ERR));
	if (rc != PROTO_OK)
		return;
	/* What abort does with its list of ids. */
	for (uint32_t k = 0; k < arr->size; k++) {
		arr_obj = &arr->ptr[k];
		free(proto_strdup(arr_obj));
		if (arr_obj->type == MSGPACK_OBJECT_STR)
			(void)proto_session_id_valid(arr_obj->via.str.ptr, arr_obj->via.str.size);
	}
}

static void check_str(const msgpack_object *o)
{
	char *copy = proto_strdup(o);

	if (copy == NULL)
		return;
	CHECK(o->type == MSGPACK_OBJECT_STR && strlen(copy) == o->via.str.size);
	CHECK(proto_str_eq(o, copy));
	free(copy);
}

/* subscribe's nvim option: what it accepts is within its bounds and is
 * the option's own bytes. */
static void check_nvim(const msgpack_object *map)
{
	const msgpack_object *nvim = proto_map_get(map, "nvim"), *v;
	const char *method = "", *arg = NULL, *msg = NULL;
	size_t len = 0;
	int rc = proto_nvim_option(map, &method, &arg, &len, &msg);

	if (rc != 0) {
		CHECK(rc == PROTO_EBADREQ && msg != NULL && method == NULL);
		CHECK(nvim != NULL && nvim->type != MSGPACK_OBJECT_NIL);
		return;
	}
	if (method == NULL) {
		CHECK(nvim == NULL || nvim->type == MSGPACK_OBJECT_NIL);
		return;
	}
	CHECK(nvim->type == MSGPACK_OBJECT_MAP && nvim->via.map.size == 1);
	v = &nvim->via.map.ptr[0].val;
	CHECK(v->type == MSGPACK_OBJECT_STR && arg == v->via.str.ptr && len == v->via.str.size);
	CHECK(len > 0 && proto_utf8_valid(arg, len));
	if (strcmp(method, PROTO_N_NVIM_CALL_FUNCTION) == 0)
		CHECK(len <= PROTO_MAX_NVIM_FUNCTION && memchr(arg, '\0', len) == NULL &&
		    proto_str_eq(&nvim->via.map.ptr[0].key, "function"));
	else
		CHECK(strcmp(method, PROTO_N_NVIM_EXEC_LUA) == 0 && len <= PROTO_MAX_NVIM_LUA &&
		    proto_str_eq(&nvim->via.map.ptr[0].key, "lua"));
}

static void check_params(const msgpack_object *params)
{
	const msgpack_object *map;
	const char *err = NULL;
	char key[PROTO_MAX_METHOD + 1];

	map = proto_params_map(params, &err);
	if (map == NULL) {
		/* No options is [], [nil] or [[]]; anything else says why. */
		CHECK(err != NULL || params->via.array.size == 0 ||
		    params->via.array.ptr[0].type == MSGPACK_OBJECT_NIL ||
		    (params->via.array.ptr[0].type == MSGPACK_OBJECT_ARRAY &&
			params->via.array.ptr[0].via.array.size == 0));
		return;
	}
	CHECK(map->type == MSGPACK_OBJECT_MAP);
	check_nvim(map);
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
		check_key(map, known_keys[i]);
	/* The methods look up a few keys each; looking up every key of a large
	 * map would only make each run quadratic. */
	for (uint32_t i = 0; i < map->via.map.size && i < FUZZ_MAX_KEYS; i++) {
		const msgpack_object *k = &map->via.map.ptr[i].key;

		check_str(k);
		check_str(&map->via.map.ptr[i].val);
		if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof(key) ||
		    (k->via.str.size > 0 && memchr(k->via.str.ptr, '\0', k->via.str.size)))
			continue;
		memcpy(key, k->via.str.ptr, k->via.str.size);
		key[k->via.str.size] = '\0';
		/* The first entry with a key is the one that counts. */
		CHECK(proto_map_get(map, key) != NULL);
		check_key(map, key);
	}
}

/* Everything a connection would act on, packed, to compare two reads; the
 * first messages also go through the accessors. */
static void record(msgpack_packer *pk, int rc, const struct proto_msg *m, size_t nth)
{
	msgpack_pack_int(pk, rc);
	if (rc != PROTO_OK && rc != PROTO_INVALID)
		return;
	msgpack_pack_int(pk, m->kind);
	msgpack_pack_uint32(pk, m->has_msgid ? m->msgid : UINT32_MAX);
	if (rc == PROTO_INVALID)
		return;
	if (m->kind == PROTO_RESPONSE) {
		CHECK(m->error != NULL && m->result != NULL);
		msgpack_pack_object(pk, *m->error);
		msgpack_pack_object(pk, *m->result);
		if (m->error->type == MSGPACK_OBJECT_ARRAY) {
			const char *text = NULL;
			size_t len = 0;
			int code = proto_error_read(m->error, &text, &len);

			CHECK(proto_errcode_name(code) != NULL);
			CHECK(code == PROTO_ERR ||
			    (text != NULL &&
				(len == 0 ||
				    (text >= m->error->via.array.ptr[1].via.str.ptr &&
					text + len ==
					    m->error->via.array.ptr[1].via.str.ptr +
						m->error->via.array.ptr[1].via.str.size))));
		}
		return;
	}
	CHECK(m->method_len > 0 && m->method_len <= PROTO_MAX_METHOD);
	CHECK(m->params != NULL && m->params->type == MSGPACK_OBJECT_ARRAY);
	msgpack_pack_str_with_body(pk, m->method, m->method_len);
	msgpack_pack_object(pk, *m->params);
	if (nth < FUZZ_MAX_CHECKED)
		check_params(m->params);
}

/* Drain every message ready; false once the stream broke. */
static bool drain(struct proto_reader *r, msgpack_packer *pk, size_t *n)
{
	struct proto_msg m;
	int rc;

	while ((rc = proto_reader_next(r, &m)) != PROTO_AGAIN) {
		if (rc == PROTO_ERR) {
			CHECK(proto_reader_error(r)[0] != '\0');
			return false;
		}
		record(pk, rc, &m, (*n)++);
	}
	return true;
}

/* Read the stream in its cuts (whole when split has none); false when it
 * broke. */
static bool read_stream(struct split *sp, size_t max_frame, msgpack_sbuffer *out)
{
	struct proto_reader *r = proto_reader_new(max_frame);
	msgpack_packer pk;
	const uint8_t *chunk;
	size_t len, n = 0;
	bool ok = true;

	CHECK(r != NULL);
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	split_rewind(sp);
	while (ok && split_next(sp, &chunk, &len)) {
		if (proto_reader_feed(r, chunk, len) != PROTO_OK)
			ok = false;
		/* A broken stream answers nothing more, whatever was fed. */
		ok = drain(r, &pk, &n) && ok;
	}
	if (!ok)
		CHECK(proto_reader_feed(r, "", 0) == PROTO_ERR);
	proto_reader_free(r);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct split cut, whole;
	msgpack_sbuffer a, b;
	size_t max_frame;
	bool ok_cut, ok_whole;

	if (size == 0)
		return 0;
	/* Small limits reach the bounds with small inputs. */
	max_frame = data[0] == 0 ? 0 : (size_t)data[0] * 4;
	split_init(&cut, data + 1, size - 1);
	whole = cut;
	whole.n_sizes = 0;
	msgpack_sbuffer_init(&a);
	msgpack_sbuffer_init(&b);
	ok_cut = read_stream(&cut, max_frame, &a);
	ok_whole = read_stream(&whole, max_frame, &b);
	CHECK(ok_cut == ok_whole);
	if (ok_cut)
		CHECK(a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0));
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);
	return 0;
}
