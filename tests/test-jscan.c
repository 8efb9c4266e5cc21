/* The event stream's cheap read (core/jscan.c, oc_frame_read_delta()) against
 * jansson and oc_event_read(): what it takes, it reads as they do; what it
 * does not vouch for, it leaves to them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/jscan.h"
#include "core/opencode.h"

#define F(dir, payload) "{" dir "\"payload\":" payload "}"
#define DELTA(session, more) \
	"{\"type\":\"message.part.delta\",\"properties\":{\"sessionID\":" session \
	",\"messageID\":\"msg_1\",\"partID\":\"prt_1\",\"field\":\"text\",\"delta\":\"hi\"" more \
	"}}"

/* The full read: jansson, then oc_event_read(); kind OC_NONE when the frame
 * does not parse or says nothing. */
static enum oc_kind full_read(const char *data, json_t **frame, struct oc_event *ev,
    const char **dir)
{
	json_t *payload;

	memset(ev, 0, sizeof(*ev));
	*dir = NULL;
	if ((*frame = json_loadb(data, strlen(data), 0, NULL)) == NULL)
		return OC_NONE;
	*dir = json_string_value(json_object_get(*frame, "directory"));
	payload = json_object_get(*frame, "payload");
	if (!json_is_object(payload))
		return OC_NONE;
	return oc_event_read(payload, ev);
}

/* The cheap read takes the frame (want 1) or leaves it (want 0); when it
 * takes it, the full read must give the same. */
static void check(const char *data, int want)
{
	static struct oc_frame f;
	struct oc_event ev;
	const char *dir;
	json_t *frame;
	int got = oc_frame_read_delta(data, strlen(data), &f);

	if (got != want)
		fail_msg("%s: read %d, want %d", data, got, want);
	if (got == 1) {
		assert_int_equal(full_read(data, &frame, &ev, &dir), OC_PART);
		assert_int_equal(f.ev.kind, OC_PART);
		assert_string_equal(f.ev.type, ev.type);
		assert_string_equal(f.ev.session_id, ev.session_id);
		assert_null(ev.background);
		assert_null(f.ev.background);
		if (dir == NULL)
			assert_null(f.directory);
		else
			assert_string_equal(f.directory, dir);
		json_decref(frame);
	}
}

static void test_deltas_taken(void **state)
{
	(void)state;
	check(F("\"directory\":\"/home/u/p\",", DELTA("\"ses_1\"", "")), 1);
	check(F("", DELTA("\"ses_1\"", "")), 1);
	check(F("\"directory\":7,", DELTA("\"ses_1\"", "")), 1);
	check(F("\"directory\":\"/h/caf\xc3\xa9 \xf0\x9f\x98\x80\",", DELTA("\"ses_1\"", "")), 1);
	/* A delta's text: escapes, a surrogate pair, other members of any kind. */
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\"")), 1);
	check(F("", DELTA("\"ses_1\"", ",\"n\":[1,-0.5,0,{\"a\":[true,false,null]}],\"o\":{}")), 1);
	check(" \r\n\t{ \"payload\" : { \"type\" : \"message.part.delta\" , \"properties\" : "
	      "{ \"sessionID\" : \"ses_1\" } } } \n",
	    1);
	/* Repeated keys: the last one counts, at every level. */
	check(F("", DELTA("\"ses_1\"", ",\"sessionID\":\"ses_2\"")), 1);
	check(F("\"directory\":\"/a\",\"directory\":\"/b\",", DELTA("\"ses_1\"", "")), 1);
	check("{\"payload\":{\"type\":\"session.idle\"},\"payload\":" DELTA("\"ses_1\"", "") "}",
	    1);
}

static void test_others_left(void **state)
{
	(void)state;
	/* Other types, and deltas oc_event_read() does not take. */
	check(F("", "{\"type\":\"session.idle\",\"properties\":{\"sessionID\":\"ses_1\"}}"), 0);
	check(F("", "{\"type\":\"message.part.updated\",\"properties\":{\"sessionID\":\"ses_1\"}}"),
	    0);
	check(F("", DELTA("\"ses 1\"", "")), 0);
	check(F("", DELTA("7", "")), 0);
	check(F("", "{\"type\":\"message.part.delta\",\"properties\":[]}"), 0);
	check(F("", "{\"type\":\"message.part.delta\"}"), 0);
	check("{\"payload\":[]}", 0);
	/* The last of repeated keys says otherwise. */
	check("{\"payload\":" DELTA("\"ses_1\"", "") ",\"payload\":{\"type\":\"session.idle\"}}",
	    0);
	check("{\"payload\":" DELTA("\"ses_1\"", "") ",\"payload\":{\"type\":"
						     "\"message.part.delta\"}}",
	    0);
	check(F("", DELTA("\"ses_1\"", ",\"sessionID\":null")), 0);
	/* Escapes where the value is read: left to jansson, which reads them. */
	check(F("", "{\"type\":\"message.part.del\\u0074a\",\"properties\":{\"sessionID\":\"s\"}}"),
	    0);
	check(F("", DELTA("\"ses\\u005f1\"", "")), 0);
	check(F("\"directory\":\"/a\\/b\",", DELTA("\"ses_1\"", "")), 0);
	check("{\"pay\\u006coad\":" DELTA("\"ses_1\"", "") "}", 0);
}

static void test_refused(void **state)
{
	char deep[256] = "{\"payload\":" DELTA("\"ses_1\"", ",\"d\":");
	size_t i;

	(void)state;
	/* Not JSON, or JSON jansson refuses. */
	check("", 0);
	check(DELTA("\"ses_1\"", "") " x", 0);
	check(DELTA("\"ses_1\"", "") "}", 0);
	check("[" DELTA("\"ses_1\"", "") "]", 0);
	check(F("", DELTA("\"ses_1\"", ",")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\xc3\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\xed\xa0\x80\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"a\tb\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\\x\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\\u0000\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\\ud83d\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"t\":\"\\ude00\"")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"n\":01")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"n\":1.")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"n\":-")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"n\":tru")), 0);
	/* JSON this reader does not vouch for. */
	check(F("", DELTA("\"ses_1\"", ",\"n\":1e400")), 0);
	check(F("", DELTA("\"ses_1\"", ",\"n\":99999999999999999999")), 0);
	for (i = 0; i < JSCAN_MAX_NEST; i++)
		strcat(deep, "[");
	for (i = 0; i < JSCAN_MAX_NEST; i++)
		strcat(deep, "]");
	strcat(deep, "}}}");
	check(deep, 0);
}

/* jscan itself: a value's type and raw bytes at each path. */
static void test_jscan_paths(void **state)
{
	static const char text[] = "{\"a\":{\"b\":\"x\\ny\",\"c\":[1],\"d\":{}},\"e\":null}";
	struct jscan_field f[] = {
		{ .path = { "a", "b" } },
		{ .path = { "a", "c" } },
		{ .path = { "a", "d" } },
		{ .path = { "e" } },
		{ .path = { "a", "zz" } },
	};

	(void)state;
	assert_int_equal(jscan(text, sizeof(text) - 1, f, 5), 0);
	assert_int_equal(f[0].type, JSCAN_STRING);
	assert_int_equal(f[0].len, 4);
	assert_memory_equal(f[0].str, "x\\ny", 4);
	assert_true(f[0].escaped);
	assert_int_equal(f[1].type, JSCAN_OTHER);
	assert_int_equal(f[2].type, JSCAN_OBJECT);
	assert_int_equal(f[3].type, JSCAN_OTHER);
	assert_int_equal(f[4].type, JSCAN_ABSENT);
	/* Cut anywhere, it is not one JSON text. */
	for (size_t cut = 0; cut < sizeof(text) - 1; cut++)
		assert_int_equal(jscan(text, cut, f, 5), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deltas_taken),
		cmocka_unit_test(test_others_left),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_jscan_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
