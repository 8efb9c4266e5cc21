/* SSE parser: fed whole and in every split, line endings, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "io/sse.h"

#define MAX_EVENTS 16

/* Events seen by the callback, copied out. */
struct seen {
	size_t n;
	char *data[MAX_EVENTS];
	size_t len[MAX_EVENTS];
};

static void seen_cb(const char *data, size_t len, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAX_EVENTS);
	assert_int_equal(data[len], '\0');
	s->data[s->n] = malloc(len + 1);
	assert_non_null(s->data[s->n]);
	memcpy(s->data[s->n], data, len + 1);
	s->len[s->n++] = len;
}

static void seen_clear(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->data[i]);
	s->n = 0;
}

/* Feed the whole stream, then every two-piece split of it, and check
 * each run gives exactly the expected events. */
static void check_stream(const char *stream, size_t max_event, const char *const *want,
    size_t nwant)
{
	size_t len = strlen(stream), cut, i;
	struct sse_parser *p;
	struct seen s = { 0 };

	for (cut = 0; cut <= len; cut++) {
		p = sse_parser_new(max_event, seen_cb, &s);
		assert_non_null(p);
		assert_int_equal(sse_parser_feed(p, stream, cut), 0);
		assert_int_equal(sse_parser_feed(p, stream + cut, len - cut), 0);
		assert_int_equal(s.n, nwant);
		for (i = 0; i < nwant; i++) {
			assert_int_equal(s.len[i], strlen(want[i]));
			assert_string_equal(s.data[i], want[i]);
		}
		seen_clear(&s);
		sse_parser_free(p);
	}
}

static void test_opencode_stream(void **state)
{
	static const char stream[] = "data: {\"directory\":\"/p\",\"payload\":{\"id\":\"evt_1\","
				     "\"type\":\"session.idle\",\"properties\":{\"sessionID\":"
				     "\"ses_1\"}}}\n\n"
				     "data: {\"payload\":{\"type\":\"server.heartbeat\"}}\n\n"
				     "data:no-space\n\n"
				     "data:  two spaces\n\n";
	static const char *const want[] = {
		"{\"directory\":\"/p\",\"payload\":{\"id\":\"evt_1\","
		"\"type\":\"session.idle\",\"properties\":{\"sessionID\":"
		"\"ses_1\"}}}",
		"{\"payload\":{\"type\":\"server.heartbeat\"}}",
		"no-space",
		" two spaces",
	};

	(void)state;
	check_stream(stream, 4096, want, 4);
}

static void test_one_byte_at_a_time(void **state)
{
	static const char stream[] = "data: a\r\n\r\ndata: b\rdata: c\r\r: x\n\n";
	struct seen s = { 0 };
	struct sse_parser *p;
	size_t i;

	(void)state;
	p = sse_parser_new(64, seen_cb, &s);
	assert_non_null(p);
	for (i = 0; i < sizeof stream - 1; i++)
		assert_int_equal(sse_parser_feed(p, stream + i, 1), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.data[0], "a");
	assert_string_equal(s.data[1], "b\nc");
	seen_clear(&s);
	sse_parser_free(p);
}

static void test_line_endings(void **state)
{
	static const char *const want[] = { "a", "b", "c", "d" };

	(void)state;
	check_stream("data: a\r\n\r\ndata: b\r\rdata: c\n\ndata: d\r\n\n", 64, want, 4);
}

/* "\r" then "\n" in the next feed is one line end, not two. */
static void test_crlf_split(void **state)
{
	struct seen s = { 0 };
	struct sse_parser *p;

	(void)state;
	p = sse_parser_new(64, seen_cb, &s);
	assert_non_null(p);
	assert_int_equal(sse_parser_feed(p, "data: a\r", 8), 0);
	assert_int_equal(sse_parser_feed(p, "\ndata: b\r", 9), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(sse_parser_feed(p, "\n", 1), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(sse_parser_feed(p, "\r\n", 2), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.data[0], "a\nb");
	seen_clear(&s);
	sse_parser_free(p);
}

static void test_multiline_data(void **state)
{
	static const char *const want[] = { "one\ntwo\n\nfour", "", "\n" };

	(void)state;
	check_stream("data: one\ndata: two\ndata:\ndata: four\n\n"
		     "data\n\n"
		     "data\ndata\n\n",
	    64, want, 3);
}

static void test_comments_and_fields(void **state)
{
	static const char *const want[] = { "x", "y" };

	(void)state;
	check_stream(": hello\n\n"
		     "event: message\nid: 7\nretry: 10\ndata: x\n: mid\n\n"
		     "database: no\ndat: no\ndata : no\nDATA: no\n\n"
		     "id: only\n\n"
		     "data: y\n\n"
		     "data: unterminated\n",
	    64, want, 2);
}

static void test_oversize_dropped(void **state)
{
	static const char *const want[] = { "0123456789", "ok", "a\nb" };
	struct seen s = { 0 };
	struct sse_parser *p;
	const char stream[] = "data: 0123456789\n\n"
			      "data: 0123456789A\n\n"
			      "data: ok\n\n"
			      "data: 01234\ndata: 56789\n\n"
			      "data: a\ndata: b\n\n";

	(void)state;
	check_stream(stream, 10, want, 3);
	p = sse_parser_new(10, seen_cb, &s);
	assert_non_null(p);
	assert_int_equal(sse_parser_feed(p, stream, sizeof stream - 1), 0);
	assert_int_equal(sse_parser_dropped(p), 2);
	seen_clear(&s);
	sse_parser_free(p);
}

/* A value far longer than the first buffer, whole and cut mid-value; the
 * same value one byte over the bound is dropped. */
static void test_long_value(void **state)
{
	enum { LEN = 100000 };
	char *stream = malloc(LEN + 16), *value;
	struct seen s = { 0 };
	struct sse_parser *p;
	size_t len, cut;

	(void)state;
	assert_non_null(stream);
	memcpy(stream, "data: ", 6);
	memset(stream + 6, 'v', LEN);
	memcpy(stream + 6 + LEN, "\r\n\r\n", 4);
	len = LEN + 10;
	value = stream + 6;
	for (cut = 0; cut <= len; cut += 7919) {
		p = sse_parser_new(LEN, seen_cb, &s);
		assert_non_null(p);
		assert_int_equal(sse_parser_feed(p, stream, cut), 0);
		assert_int_equal(sse_parser_feed(p, stream + cut, len - cut), 0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.len[0], LEN);
		assert_memory_equal(s.data[0], value, LEN);
		seen_clear(&s);
		sse_parser_free(p);
	}
	p = sse_parser_new(LEN - 1, seen_cb, &s);
	assert_non_null(p);
	assert_int_equal(sse_parser_feed(p, stream, len), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(sse_parser_dropped(p), 1);
	sse_parser_free(p);
	free(stream);
}

static void test_bom(void **state)
{
	static const char *const want[] = { "a", "b" };
	static const char *const want_not[] = { "b" };

	(void)state;
	check_stream("\xef\xbb\xbf"
		     "data: a\n\ndata: b\n\n",
	    64, want, 2);
	/* Only one leading BOM is dropped; a second spoils the field name. */
	check_stream("\xef\xbb\xbf\xef\xbb\xbf"
		     "data: a\n\ndata: b\n\n",
	    64, want_not, 1);
	/* A BOM prefix that is not a BOM is kept as field-name bytes. */
	check_stream("\xef\xbb"
		     "data: a\n\ndata: b\n\n",
	    64, want_not, 1);
}

static void test_reset(void **state)
{
	struct seen s = { 0 };
	struct sse_parser *p;

	(void)state;
	p = sse_parser_new(64, seen_cb, &s);
	assert_non_null(p);
	assert_int_equal(sse_parser_feed(p, "data: partial\ndata: mo", 22), 0);
	sse_parser_reset(p);
	/* A new stream: the partial event is gone and a BOM is dropped again. */
	assert_int_equal(sse_parser_feed(p,
			     "\xef\xbb\xbf"
			     "data: fresh\n\n",
			     17),
	    0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.data[0], "fresh");
	seen_clear(&s);
	sse_parser_free(p);
	sse_parser_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opencode_stream),
		cmocka_unit_test(test_one_byte_at_a_time),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_crlf_split),
		cmocka_unit_test(test_multiline_data),
		cmocka_unit_test(test_comments_and_fields),
		cmocka_unit_test(test_oversize_dropped),
		cmocka_unit_test(test_long_value),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
