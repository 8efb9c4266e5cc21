/*
 * The log's limit on repeated failures (core/log.h), on a clock driven by
 * hand: a day of a server that stays down, kinds, and the way back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"
#include "helpers.h"

#define DAY_MS (24 * 3600 * 1000)

/* The retry loop of a server that is down, as the HTTP backend words it:
 * curl's message carries how long the connect took. */
static void fail_at(struct log_repeat *r, int64_t now_ms, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s after %d ms", what, (int)(now_ms % 3));
	log_repeat_fail(r, now_ms, log_kind(msg), "OpenCode http://127.0.0.1:4096: %s", msg);
}

/* A day of failures every 2 s: 43,200 attempts. The first is said, then
 * summaries 10, 20, 40 ... 2560 s apart, then hourly. */
static void test_repeat_day(void **state)
{
	struct log_repeat r = { .failures = 0 };
	const char *out, *second;
	int64_t t;

	(void)state;
	stderr_catch();
	for (t = 0; t < DAY_MS; t += 2000)
		fail_at(&r, t, "Failed to connect");
	out = stderr_release();
	print_message("# %zu lines for %d attempts\n", count_lines(out, ""), DAY_MS / 2000);
	assert_int_equal(count_lines(out, ""), 1 + 9 + 22);
	assert_int_equal(count_lines(out, "Failed to connect after"), 32);
	assert_int_equal(count_lines(out, "still failing"), 31);
	/* The first line is the failure itself; the next counts what it held back. */
	assert_int_equal(strncmp(out,
			     "warn: OpenCode http://127.0.0.1:4096: Failed to connect after 0 ms\n",
			     67),
	    0);
	assert_non_null(second = strchr(out, '\n'));
	assert_non_null(strstr(second, "(still failing: 5 times in the last 10 s)\n"));
	assert_non_null(strstr(out, "(still failing: 1800 times in the last 3600 s)\n"));
	assert_int_equal(r.failures, DAY_MS / 2000);
}

/* A failure of a new kind is said at once, once per trouble; one said
 * before waits for the summary. */
static void test_repeat_kinds(void **state)
{
	struct log_repeat r = { .failures = 0 };
	const char *out;

	(void)state;
	stderr_catch();
	fail_at(&r, 0, "Failed to connect");
	fail_at(&r, 2000, "Failed to connect");
	fail_at(&r, 3000, "HTTP 401 unauthorized");
	fail_at(&r, 4000, "Failed to connect");
	fail_at(&r, 5000, "HTTP 401 unauthorized");
	fail_at(&r, 6000, "Failed to connect");
	out = stderr_release();
	assert_int_equal(count_lines(out, ""), 2);
	assert_non_null(strstr(out,
	    "HTTP 401 unauthorized after 0 ms (still failing: 2 times in "
	    "the last 3 s)\n"));
	/* Twelve kinds in all: the last eight are remembered, the first forgotten. */
	stderr_catch();
	for (int i = 0; i < 10; i++) {
		char what[32];

		snprintf(what, sizeof(what), "kind %c", 'a' + i);
		fail_at(&r, 7000 + i, what);
	}
	fail_at(&r, 8000, "kind j");
	fail_at(&r, 8001, "kind a");
	out = stderr_release();
	assert_int_equal(count_lines(out, "kind"), 11);
	assert_int_equal(count_lines(out, "kind a"), 2);
	assert_int_equal(count_lines(out, "kind j"), 1);
}

/* Working again ends the trouble: the count is returned, and the next
 * failure is said as a first one. */
static void test_repeat_ok(void **state)
{
	struct log_repeat r = { .failures = 0 };
	const char *out;
	int64_t t;

	(void)state;
	assert_int_equal(log_repeat_ok(&r), 0);
	stderr_catch();
	for (t = 0; t < 9000; t += 1000)
		fail_at(&r, t, "Failed to connect");
	assert_int_equal(log_repeat_ok(&r), 9);
	fail_at(&r, 9500, "Failed to connect");
	out = stderr_release();
	assert_int_equal(count_lines(out, ""), 2);
	assert_int_equal(count_lines(out, "still failing"), 0);
	assert_int_equal(log_repeat_ok(&r), 1);
	assert_int_equal(log_repeat_ok(&r), 0);
}

/* Messages that differ only in their numbers are one kind. */
static void test_kind(void **state)
{
	(void)state;
	assert_true(log_kind("connect to 127.0.0.1 port 4096 after 3 ms") ==
	    log_kind("connect to 127.0.0.1 port 4096 after 1017 ms"));
	assert_true(log_kind("HTTP 500") == log_kind("HTTP 503"));
	assert_true(log_kind("after 3 ms") != log_kind("after 3 s"));
	assert_true(log_kind("timed out") != log_kind("refused"));
	assert_true(log_kind("a1b") != log_kind("a1"));
	assert_true(log_kind("") != log_kind("1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repeat_day),
		cmocka_unit_test(test_repeat_kinds),
		cmocka_unit_test(test_repeat_ok),
		cmocka_unit_test(test_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
