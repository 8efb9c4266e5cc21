/*
 * What /proc says of a process, read without I/O (core/proc.h): the marker
 * in an environment, a command line made printable and bounded, and the
 * state and start time in a stat line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/proc.h"

#define ENV(s) s, sizeof(s) - 1

/* The session the environment marks, and whether it carries a marker. */
static int marks(const char *env, size_t len, const char *const *ids, size_t n, bool want_marked)
{
	bool marked = !want_marked;
	int i = proc_environ_session(env, len, ids, n, &marked);

	assert_int_equal(marked, want_marked);
	return i;
}

static void test_environ_session(void **state)
{
	const char *ids[] = { "ses_a", "ses_b" };

	(void)state;
	assert_int_equal(marks(ENV("A=1\0OCSTOP_SESSION=ses_b\0"), ids, 2, true), 1);
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_a\0PATH=/bin\0"), ids, 2, true), 0);
	/* Another tree's session, a prefix of one, one the id is a prefix of:
	 * marked, but not by these. */
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_c\0"), ids, 2, true), -1);
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_\0"), ids, 2, true), -1);
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_ab\0"), ids, 2, true), -1);
	/* Other names that hold the marker's, and its value elsewhere. */
	assert_int_equal(marks(ENV("XOCSTOP_SESSION=ses_a\0"), ids, 2, false), -1);
	assert_int_equal(marks(ENV("OCSTOP_SESSIONS=ses_a\0"), ids, 2, false), -1);
	assert_int_equal(marks(ENV("OCSTOP_CALL=ses_a\0X=OCSTOP_SESSION=ses_a\0"), ids, 2, false),
	    -1);
	/* The first of the name is what a program sees (getenv). */
	assert_int_equal(marks(ENV("OCSTOP_SESSION=other\0OCSTOP_SESSION=ses_a\0"), ids, 2, true),
	    -1);
	/* Cut by the bounded read: not trusted either way. */
	assert_int_equal(marks(ENV("A=1\0OCSTOP_SESSION=ses_a"), ids, 2, true), -1);
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_a"), ids, 2, true), -1);
	assert_int_equal(marks(ENV("A=1\0PATH=/b"), ids, 2, true), -1);
	/* Nothing to look in, nothing to look for. */
	assert_int_equal(marks("", 0, ids, 2, false), -1);
	assert_int_equal(marks(ENV("OCSTOP_SESSION=ses_a\0"), ids, 0, true), -1);
	assert_int_equal(marks(ENV("\0\0OCSTOP_SESSION=ses_a\0"), ids, 2, true), 0);
}

static void test_render_command(void **state)
{
	char out[PROTO_MAX_COMMAND], raw[600];
	size_t i;

	(void)state;
	proc_render_command(ENV("setsid\0sleep\0"
				"300\0"),
	    out);
	assert_string_equal(out, "setsid sleep 300");
	proc_render_command(ENV("node\0server.js"), out);
	assert_string_equal(out, "node server.js");
	/* An empty argument stays a place; control bytes and UTF-8 show as ?. */
	proc_render_command(ENV("a\0\0b\0"), out);
	assert_string_equal(out, "a  b");
	proc_render_command(ENV("echo\0\x1b[31m\n\xc3\xa9\0"), out);
	assert_string_equal(out, "echo ?[31m???");
	proc_render_command("", 0, out);
	assert_string_equal(out, "");
	proc_render_command(ENV("\0\0"), out);
	assert_string_equal(out, "");
	/* The bound: exactly full, and cut. */
	memset(raw, 'x', sizeof(raw));
	proc_render_command(raw, PROTO_MAX_COMMAND - 1, out);
	assert_int_equal(strlen(out), PROTO_MAX_COMMAND - 1);
	assert_int_equal(out[PROTO_MAX_COMMAND - 2], 'x');
	proc_render_command(raw, sizeof(raw), out);
	assert_int_equal(strlen(out), PROTO_MAX_COMMAND - 1);
	assert_string_equal(out + PROTO_MAX_COMMAND - 4, "...");
	for (i = 0; i < PROTO_MAX_COMMAND - 4; i++)
		assert_int_equal(out[i], 'x');
}

static void test_parse_stat(void **state)
{
	/* Fields as Linux 6 writes them; the start time (22nd) is 4242. */
	static const char tail[] =
	    " S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000 "
	    "200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	char line[512], state_ch = 0;
	uint64_t start = 0;

	(void)state;
	snprintf(line, sizeof(line), "123 (sleep)%s", tail);
	assert_true(proc_parse_stat(line, strlen(line), &state_ch, &start));
	assert_int_equal(state_ch, 'S');
	assert_int_equal(start, 4242);
	/* A command may hold spaces and parentheses: the last ')' ends it. */
	snprintf(line, sizeof(line), "123 (a) Z 9 (b))%s", tail);
	assert_true(proc_parse_stat(line, strlen(line), &state_ch, &start));
	assert_int_equal(state_ch, 'S');
	assert_int_equal(start, 4242);
	/* Short, or no command. */
	assert_false(proc_parse_stat(ENV("123 (sleep) S 1 2 3\n"), &state_ch, &start));
	assert_false(proc_parse_stat(ENV("123 sleep S 1 2 3\n"), &state_ch, &start));
	assert_false(proc_parse_stat(ENV("123 (sleep)"), &state_ch, &start));
	assert_false(proc_parse_stat("", 0, &state_ch, &start));
	snprintf(line, sizeof(line),
	    "123 (sleep) S 1 2 3 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 x");
	assert_false(proc_parse_stat(line, strlen(line), &state_ch, &start));
}

static void test_status_uid(void **state)
{
	static const char head[] = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\n";
	char s[512];

	(void)state;
	snprintf(s, sizeof(s), "%sUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n",
	    head);
	assert_true(proc_status_uid_is(s, strlen(s), 1000));
	assert_false(proc_status_uid_is(s, strlen(s), 0));
	/* Any of the four another: not only the uid's. */
	snprintf(s, sizeof(s), "%sUid:\t1000\t0\t1000\t1000\n", head);
	assert_false(proc_status_uid_is(s, strlen(s), 1000));
	snprintf(s, sizeof(s), "%sUid:\t1000\t1000\t1000\t0\n", head);
	assert_false(proc_status_uid_is(s, strlen(s), 1000));
	/* Cut short, missing, or not numbers: no. */
	snprintf(s, sizeof(s), "%sUid:\t1000\t1000", head);
	assert_false(proc_status_uid_is(s, strlen(s), 1000));
	assert_false(proc_status_uid_is(head, strlen(head), 1000));
	snprintf(s, sizeof(s), "%sUid:\tx\n", head);
	assert_false(proc_status_uid_is(s, strlen(s), 1000));
	/* A "Uid:" inside another line's value (the Name) is no Uid line. */
	snprintf(s, sizeof(s), "Name:\tUid:\t1000\t1000\t1000\t1000\nUid:\t0\t0\t0\t0\n");
	assert_false(proc_status_uid_is(s, strlen(s), 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_environ_session),
		cmocka_unit_test(test_render_command),
		cmocka_unit_test(test_parse_stat),
		cmocka_unit_test(test_status_uid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
