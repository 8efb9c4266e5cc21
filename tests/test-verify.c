/*
 * Stop proof: scripts of status, part and clock events, each poll checked
 * for the state, the wake time and the moment all targets went idle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/verify.h"

#define WAITING VERIFY_WAITING
#define QUIET VERIFY_QUIET
#define DONE VERIFY_DONE

enum op {
	END,
	IDLE, /* verify_on_status(id, idle) */
	BUSY, /* verify_on_status(id, busy) */
	PART, /* verify_on_part(id) */
	POLL, /* verify_poll, then check want, wake (when QUIET) and all_idle */
};

struct vstep {
	enum op op;
	const char *id;
	int64_t t;
	enum verify_state want;
	int64_t wake;
	int64_t all_idle; /* 0 while not all idle */
};

#define MAX_VSTEPS 12

struct vscript {
	const char *name;
	int64_t quiet_ms;
	const char *targets[3];
	struct vstep steps[MAX_VSTEPS];
};

/* A table of scripts reads best as written. */
/* clang-format off */
/* All armed at t=1000. */
static const struct vscript scripts[] = {
	{ "one target: idle, then the window passes at exactly quiet_ms", 100, { "a" }, {
		{ POLL, NULL, 1000, WAITING, 0, 0 },
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1010, QUIET, 1110, 1010 },
		{ POLL, NULL, 1109, QUIET, 1110, 1010 },
		{ POLL, NULL, 1110, DONE, 0, 1010 },
		{ POLL, NULL, 5000, DONE, 0, 1010 },
	} },
	{ "a part event during the window restarts it", 100, { "a" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ PART, "a", 1050, 0, 0, 0 },
		{ POLL, NULL, 1110, QUIET, 1150, 1010 },
		{ POLL, NULL, 1149, QUIET, 1150, 1010 },
		{ PART, "a", 1149, 0, 0, 0 },
		{ POLL, NULL, 1248, QUIET, 1249, 1010 },
		{ POLL, NULL, 1249, DONE, 0, 1010 },
	} },
	{ "busy after idle: back to waiting, the idle time forgotten", 100, { "a" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1050, QUIET, 1110, 1010 },
		{ BUSY, "a", 1060, 0, 0, 0 },
		{ POLL, NULL, 1060, WAITING, 0, 0 },
		{ POLL, NULL, 1500, WAITING, 0, 0 },
		{ IDLE, "a", 1600, 0, 0, 0 },
		{ POLL, NULL, 1600, QUIET, 1700, 1600 },
		{ POLL, NULL, 1700, DONE, 0, 1600 },
	} },
	{ "two targets: both must be idle", 100, { "a", "b" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1200, WAITING, 0, 0 },
		{ PART, "b", 1250, 0, 0, 0 },
		{ IDLE, "b", 1300, 0, 0, 0 },
		{ POLL, NULL, 1300, QUIET, 1400, 1300 },
		{ PART, "a", 1350, 0, 0, 0 },
		{ POLL, NULL, 1400, QUIET, 1450, 1300 },
		{ POLL, NULL, 1450, DONE, 0, 1300 },
	} },
	{ "two targets: one busy again during the window", 100, { "a", "b" }, {
		{ IDLE, "b", 1010, 0, 0, 0 },
		{ IDLE, "a", 1020, 0, 0, 0 },
		{ POLL, NULL, 1020, QUIET, 1120, 1020 },
		{ BUSY, "a", 1050, 0, 0, 0 },
		{ POLL, NULL, 1120, WAITING, 0, 0 },
		{ IDLE, "a", 1130, 0, 0, 0 },
		{ POLL, NULL, 1130, QUIET, 1230, 1130 },
		{ POLL, NULL, 1230, DONE, 0, 1130 },
	} },
	{ "events for sessions that are not targets are ignored", 100, { "a" }, {
		{ IDLE, "z", 1005, 0, 0, 0 },
		{ POLL, NULL, 1005, WAITING, 0, 0 },
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ PART, "z", 1050, 0, 0, 0 },
		{ BUSY, "z", 1060, 0, 0, 0 },
		{ POLL, NULL, 1060, QUIET, 1110, 1010 },
		{ POLL, NULL, 1110, DONE, 0, 1010 },
	} },
	{ "idle, part, idle (abort closing its part) keeps the first idle time", 100, { "a" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ PART, "a", 1020, 0, 0, 0 },
		{ IDLE, "a", 1030, 0, 0, 0 },
		{ POLL, NULL, 1110, QUIET, 1130, 1010 },
		{ POLL, NULL, 1130, DONE, 0, 1010 },
	} },
	{ "a part before idle does not delay the proof", 100, { "a" }, {
		{ PART, "a", 1005, 0, 0, 0 },
		{ POLL, NULL, 1005, WAITING, 0, 0 },
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1110, DONE, 0, 1010 },
	} },
	{ "once proven, later events change nothing", 100, { "a" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1110, DONE, 0, 1010 },
		{ BUSY, "a", 1200, 0, 0, 0 },
		{ PART, "a", 1210, 0, 0, 0 },
		{ IDLE, "a", 1220, 0, 0, 0 },
		{ POLL, NULL, 1230, DONE, 0, 1010 },
	} },
	{ "a zero window: proven as soon as all are idle", 0, { "a", "b" }, {
		{ IDLE, "a", 1010, 0, 0, 0 },
		{ POLL, NULL, 1010, WAITING, 0, 0 },
		{ IDLE, "b", 1020, 0, 0, 0 },
		{ POLL, NULL, 1020, DONE, 0, 1020 },
	} },
	{ "three targets, a part from any restarts the window", 50, { "a", "b", "c" }, {
		{ IDLE, "c", 1010, 0, 0, 0 },
		{ IDLE, "a", 1020, 0, 0, 0 },
		{ IDLE, "b", 1030, 0, 0, 0 },
		{ POLL, NULL, 1030, QUIET, 1080, 1030 },
		{ PART, "c", 1070, 0, 0, 0 },
		{ POLL, NULL, 1080, QUIET, 1120, 1030 },
		{ PART, "b", 1100, 0, 0, 0 },
		{ POLL, NULL, 1149, QUIET, 1150, 1030 },
		{ POLL, NULL, 1150, DONE, 0, 1030 },
	} },
};
/* clang-format on */

static void run_script(const struct vscript *sc)
{
	const struct vstep *st;
	struct verify v;
	int64_t wake;
	size_t i;

	print_message("# %s\n", sc->name);
	verify_init(&v, sc->quiet_ms, 1000);
	for (i = 0; i < 3 && sc->targets[i] != NULL; i++)
		assert_int_equal(verify_add(&v, sc->targets[i]), 0);
	for (i = 0; i < MAX_VSTEPS && sc->steps[i].op != END; i++) {
		st = &sc->steps[i];
		switch (st->op) {
		case IDLE:
		case BUSY:
			verify_on_status(&v, st->id, st->op == IDLE, st->t);
			break;
		case PART:
			verify_on_part(&v, st->id, st->t);
			break;
		case POLL:
			print_message("#   step %zu: poll at %lld\n", i + 1, (long long)st->t);
			wake = -1;
			assert_int_equal(verify_poll(&v, st->t, &wake), st->want);
			if (st->want == QUIET) {
				assert_int_equal(wake, st->wake);
				assert_true(wake > st->t);
				/* Without a place for the wake time it still works. */
				assert_int_equal(verify_poll(&v, st->t, NULL), QUIET);
			}
			assert_int_equal(v.state, st->want);
			assert_int_equal(v.all_idle_ms, st->all_idle);
			break;
		case END:
			break;
		}
	}
}

static void test_scripts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		run_script(&scripts[i]);
}

/* Targets that still owe an idle, in the order they were added. */
static void test_pending(void **state)
{
	static const struct {
		enum op op;
		const char *id;
		size_t n;
		const char *want[3];
	} steps[] = {
		{ END, NULL, 3, { "a", "b", "c" } },
		{ IDLE, "b", 2, { "a", "c" } },
		{ IDLE, "z", 2, { "a", "c" } },
		{ PART, "a", 2, { "a", "c" } },
		{ IDLE, "a", 1, { "c" } },
		{ IDLE, "c", 0, { NULL } },
		{ BUSY, "b", 1, { "b" } },
	};
	const char *out[4], *sentinel = "untouched";
	struct verify v;
	size_t i, j, n;

	(void)state;
	verify_init(&v, 100, 1000);
	assert_int_equal(verify_add(&v, "a"), 0);
	assert_int_equal(verify_add(&v, "b"), 0);
	assert_int_equal(verify_add(&v, "c"), 0);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i].op == IDLE || steps[i].op == BUSY)
			verify_on_status(&v, steps[i].id, steps[i].op == IDLE, 1000 + (int64_t)i);
		else if (steps[i].op == PART)
			verify_on_part(&v, steps[i].id, 1000 + (int64_t)i);
		for (j = 0; j < 4; j++)
			out[j] = sentinel;
		n = verify_pending(&v, out, 4);
		assert_int_equal(n, steps[i].n);
		for (j = 0; j < n; j++)
			assert_string_equal(out[j], steps[i].want[j]);
		assert_ptr_equal(out[n], sentinel);
		/* A short buffer still gets the full count, and only max entries. */
		if (n > 1) {
			for (j = 0; j < 4; j++)
				out[j] = sentinel;
			assert_int_equal(verify_pending(&v, out, 1), n);
			assert_string_equal(out[0], steps[i].want[0]);
			assert_ptr_equal(out[1], sentinel);
		}
	}
}

/* Adding: duplicates are one target; the table is bounded. */
static void test_add(void **state)
{
	static char ids[VERIFY_MAX_TARGETS + 1][16];
	char dup[16];
	struct verify v;
	size_t i;

	(void)state;
	verify_init(&v, 100, 1000);
	assert_int_equal(verify_find(&v, "a"), -1);
	for (i = 0; i < VERIFY_MAX_TARGETS; i++) {
		snprintf(ids[i], sizeof(ids[i]), "ses_%zu", i);
		assert_int_equal(verify_add(&v, ids[i]), 0);
	}
	snprintf(ids[i], sizeof(ids[i]), "ses_%zu", i);
	assert_int_equal(verify_add(&v, ids[i]), -1);
	assert_int_equal(verify_find(&v, ids[i]), -1);
	assert_int_equal(verify_pending(&v, NULL, 0), VERIFY_MAX_TARGETS);

	/* An id already there, even in another buffer, is not added twice. */
	strcpy(dup, "ses_7");
	assert_int_equal(verify_add(&v, dup), 0);
	assert_int_equal(verify_pending(&v, NULL, 0), VERIFY_MAX_TARGETS);
	assert_int_equal(verify_find(&v, dup), 7);
	assert_int_equal(verify_find(&v, "ses_0"), 0);
	assert_int_equal(verify_find(&v, "ses_256"), 256);

	/* Every target must go idle before the window opens. */
	for (i = 0; i + 1 < VERIFY_MAX_TARGETS; i++)
		verify_on_status(&v, ids[i], true, 2000);
	assert_int_equal(verify_poll(&v, 3000, NULL), WAITING);
	verify_on_status(&v, ids[VERIFY_MAX_TARGETS - 1], true, 3000);
	assert_int_equal(verify_poll(&v, 3100, NULL), DONE);
	assert_int_equal(v.all_idle_ms, 3000);
}

/* A target that joins a proven watch reopens it: its statuses count again,
 * and the proof waits for it; reopening an open watch changes nothing. */
static void test_reopen(void **state)
{
	struct verify v;

	(void)state;
	verify_init(&v, 100, 1000);
	verify_add(&v, "a");
	verify_reopen(&v);
	assert_int_equal(verify_poll(&v, 1000, NULL), WAITING);
	verify_on_status(&v, "a", true, 1010);
	assert_int_equal(verify_poll(&v, 1110, NULL), DONE);
	verify_add(&v, "b");
	verify_on_status(&v, "b", false, 1120);
	assert_int_equal(verify_poll(&v, 1120, NULL), DONE);
	verify_reopen(&v);
	verify_on_status(&v, "b", false, 1120);
	assert_int_equal(verify_poll(&v, 1300, NULL), WAITING);
	assert_int_equal(verify_pending(&v, NULL, 0), 1);
	verify_on_status(&v, "b", true, 1400);
	assert_int_equal(verify_poll(&v, 1500, NULL), DONE);
	assert_int_equal(v.all_idle_ms, 1400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_reopen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
