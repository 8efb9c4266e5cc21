/*
 * Ending the processes a stopped tree's tools left (io/procs.h), against
 * real processes this test starts with and without the marker: the scan
 * finds exactly the marked ones of the sessions asked about, spares what it
 * is told to, and ends them on the event loop, TERM first and KILL for one
 * that ignores TERM; a scan's cost among ~300 processes is measured.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/clock.h"
#include "core/util.h"
#include "helpers.h"
#include "io/procs.h"

#define CROWD 300
/* Children one test starts at most. */
#define MAX_SPAWNED (CROWD + 16)

/* What this test started: every test ends them, failed or not. */
static pid_t spawned[MAX_SPAWNED];
static size_t n_spawned;

/* A `sleep 300` child with the given marker (NULL: none), ignoring TERM
 * when asked; the disposition outlives exec. */
static pid_t spawn(const char *session, bool ignore_term)
{
	char marker[160];
	char *argv[] = { "sleep", "300", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", marker, NULL };
	pid_t pid;

	snprintf(marker, sizeof(marker), "OCSTOP_SESSION=%s", session != NULL ? session : "");
	if (session == NULL)
		envp[1] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		execve("/bin/sleep", argv, envp);
		_exit(127);
	}
	assert_true(n_spawned < MAX_SPAWNED);
	spawned[n_spawned++] = pid;
	return pid;
}

/* The child has exec'd: its environment is sleep's, not the fork's copy
 * of this test's. */
static void wait_exec(pid_t pid)
{
	char path[64], buf[64];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (i = 0; i < 2000; i++) {
		if ((f = fopen(path, "re")) != NULL) {
			buf[0] = '\0';
			if (fgets(buf, sizeof(buf), f) == NULL)
				buf[0] = '\0';
			fclose(f);
			if (strncmp(buf, "sleep", 5) == 0)
				return;
		}
		usleep(1000);
	}
	fail_msg("child %d did not exec", (int)pid);
}

/* Wait until pid runs as uid (its status's real uid). */
static void wait_uid(pid_t pid, unsigned long uid)
{
	char path[64], line[256];
	unsigned long v;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	for (i = 0; i < 5000; i++) {
		if ((f = fopen(path, "re")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				if (sscanf(line, "Uid: %lu", &v) == 1 && v == uid) {
					fclose(f);
					return;
				}
			fclose(f);
		}
		usleep(1000);
	}
	fail_msg("child %d did not become uid %lu", (int)pid, uid);
}

static int reap_all(void **state)
{
	size_t i;

	(void)state;
	/* One the test reaped itself is no child any more (its pid may be
	 * another's now): only one still running is killed. */
	for (i = 0; i < n_spawned; i++) {
		if (waitpid(spawned[i], NULL, WNOHANG) != 0)
			continue;
		kill(spawned[i], SIGKILL);
		waitpid(spawned[i], NULL, 0);
	}
	n_spawned = 0;
	return 0;
}

static bool spare_pid(void *arg, int pid)
{
	return pid == *(pid_t *)arg;
}

static const struct procs_found *find(const struct procs_found *f, long n, pid_t pid)
{
	long i;

	for (i = 0; i < n; i++)
		if (f[i].pid == pid)
			return &f[i];
	return NULL;
}

static char session_a[64], session_b[64];

static void test_scan_finds_the_marked(void **state)
{
	const char *ids[] = { session_a, session_b };
	struct event_base *base = event_base_new();
	struct procs *p = procs_new(base);
	struct procs_scan_stats st;
	struct procs_found found[8];
	pid_t a = spawn(session_a, false), b = spawn(session_b, false);
	pid_t other = spawn("ses_someone_else", false), none = spawn(NULL, false);
	long n;

	(void)state;
	assert_non_null(p);
	wait_exec(a);
	wait_exec(b);
	wait_exec(other);
	wait_exec(none);
	n = procs_scan(p, ids, 2, true, NULL, NULL, found, 8, &st);
	assert_int_equal(n, 2);
	assert_true(st.scanned >= 4 && st.read >= 4);
	assert_non_null(find(found, n, a));
	assert_int_equal(find(found, n, a)->session, 0);
	assert_string_equal(find(found, n, a)->command, "sleep 300");
	assert_true(find(found, n, a)->starttime > 0);
	assert_int_equal(find(found, n, b)->session, 1);
	/* One session only; the spared one is left; a bound of 1 counts all. */
	n = procs_scan(p, ids, 1, false, NULL, NULL, found, 8, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(found[0].pid, a);
	n = procs_scan(p, ids, 2, false, spare_pid, &a, found, 8, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(found[0].pid, b);
	n = procs_scan(p, ids, 2, false, NULL, NULL, found, 1, NULL);
	assert_int_equal(n, 2);
	/* A zombie is not there to end. */
	kill(b, SIGKILL);
	usleep(50000);
	n = procs_scan(p, ids, 2, false, NULL, NULL, found, 8, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(found[0].pid, a);
	procs_free(p);
	event_base_free(base);
}

/* A scan reads again what may carry a marker: the processes that started
 * since the last, and every marked one; not those it found unmarked. */
static void test_scan_reads_only_what_may_be_marked(void **state)
{
	const char *ids[] = { session_a };
	struct event_base *base = event_base_new();
	struct procs *p = procs_new(base);
	struct procs_scan_stats cold, warm;
	struct procs_found found[4];
	pid_t other = spawn(session_b, false), later, crowd[64];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < nitems(crowd); i++)
		crowd[i] = spawn(NULL, false);
	for (i = 0; i < nitems(crowd); i++)
		wait_exec(crowd[i]);
	wait_exec(other);
	assert_int_equal(procs_scan(p, ids, 1, false, NULL, NULL, found, 4, &cold), 0);
	/* Pids the kernel gave out meanwhile: the fresh ones are read again. */
	later = spawn(session_a, false);
	wait_exec(later);
	n = procs_scan(p, ids, 1, false, NULL, NULL, found, 4, &warm);
	assert_int_equal(n, 1);
	assert_int_equal(found[0].pid, later);
	print_message("# a first scan read %zu of %zu processes; the next, %zu\n", cold.read,
	    cold.scanned, warm.read);
	/* The crowd is not read again (processes others start meanwhile may
	 * be). */
	assert_true(warm.read + nitems(crowd) / 2 <= cold.read);
	/* The other tree's process is read every time: it is the next stop's
	 * to end when that tree stops. */
	ids[0] = session_b;
	n = procs_scan(p, ids, 1, false, NULL, NULL, found, 4, NULL);
	assert_int_equal(n, 1);
	assert_int_equal(found[0].pid, other);
	/* all reads everything but this process. */
	procs_scan(p, ids, 1, true, NULL, NULL, found, 4, &warm);
	assert_int_equal(warm.read + 1, warm.scanned);
	procs_free(p);
	event_base_free(base);
}

/* Another user's process is never one to end, marker or not (root can
 * start one to check; others skip). */
static void test_other_uid(void **state)
{
	const char *ids[] = { session_a };
	struct event_base *base = event_base_new();
	struct procs *p = procs_new(base);
	struct procs_found found[2];
	char marker[160], path[64];
	pid_t mine, theirs, undumpable;
	struct stat sb;

	(void)state;
	snprintf(marker, sizeof(marker), "OCSTOP_SESSION=%s", session_a);
	if (getuid() != 0) {
		print_message("# not root: no other user's process to start\n");
		skip();
	}
	mine = spawn(session_a, false);
	theirs = fork();
	assert_true(theirs >= 0);
	if (theirs == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(126);
		execle("/bin/sleep", "sleep", "300", NULL,
		    (char *[]){ "PATH=/usr/bin:/bin", marker, NULL });
		_exit(127);
	}
	spawned[n_spawned++] = theirs;
	/* One that became another user after its exec is not dumpable: its
	 * /proc files read as root's, the daemon's own uid here. */
	undumpable = fork();
	assert_true(undumpable >= 0);
	if (undumpable == 0) {
		execle("/usr/bin/python3", "python3", "-c",
		    "import os, time\nos.setgid(65534)\nos.setuid(65534)\ntime.sleep(300)\n", NULL,
		    (char *[]){ "PATH=/usr/bin:/bin", marker, NULL });
		_exit(127);
	}
	spawned[n_spawned++] = undumpable;
	wait_exec(mine);
	wait_exec(theirs);
	wait_uid(undumpable, 65534);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)undumpable);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_uid, 0);
	assert_int_equal(procs_scan(p, ids, 1, true, NULL, NULL, found, 2, NULL), 1);
	assert_int_equal(found[0].pid, mine);
	procs_free(p);
	event_base_free(base);
}

struct outcome {
	struct event_base *base;
	struct wire_process ends[8];
	size_t n, calls;
};

static void done(void *arg, const struct wire_process *ends, size_t n, int64_t now_ms)
{
	struct outcome *o = arg;

	(void)now_ms;
	o->calls++;
	o->n = n;
	memcpy(o->ends, ends, n * sizeof(*ends));
	event_base_loopexit(o->base, NULL);
}

static const struct wire_process *ended(const struct outcome *o, pid_t pid)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		if (o->ends[i].pid == pid)
			return &o->ends[i];
	return NULL;
}

static void test_end_term_then_kill(void **state)
{
	const char *ids[] = { session_a };
	struct outcome o = { .base = event_base_new() };
	struct procs *p = procs_new(o.base);
	pid_t polite = spawn(session_a, false), stubborn = spawn(session_a, true);
	pid_t bystander = spawn(session_b, false);
	int64_t t0;
	int status;

	(void)state;
	assert_non_null(p);
	wait_exec(polite);
	wait_exec(stubborn);
	wait_exec(bystander);
	/* Nothing of a session nobody started: nothing to wait for. */
	assert_int_equal(procs_end(p, (const char *[]){ "ses_nobody" }, 1, false, NULL, NULL, 8,
			     done, &o),
	    0);
	t0 = clock_now_ms();
	assert_int_equal(procs_end(p, ids, 1, false, NULL, NULL, 8, done, &o), 2);
	assert_int_equal(o.calls, 0); /* never from inside the call */
	event_base_dispatch(o.base);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.n, 2);
	assert_string_equal(ended(&o, polite)->signal, "TERM");
	assert_true(ended(&o, polite)->ms >= 0 && ended(&o, polite)->ms < PROC_GRACE_MS);
	assert_string_equal(ended(&o, polite)->command, "sleep 300");
	assert_string_equal(ended(&o, stubborn)->signal, "KILL");
	assert_true(ended(&o, stubborn)->ms >= PROC_GRACE_MS);
	print_message("# TERM ended one in %lld ms; the one ignoring it was KILLed at %lld ms; "
		      "done after %lld ms\n",
	    (long long)ended(&o, polite)->ms, (long long)ended(&o, stubborn)->ms,
	    (long long)(clock_now_ms() - t0));
	assert_int_equal(waitpid(polite, &status, 0), polite);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	assert_int_equal(waitpid(stubborn, &status, 0), stubborn);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* Another tree's process is untouched. */
	assert_int_equal(waitpid(bystander, &status, WNOHANG), 0);
	procs_free(p);
	event_base_free(o.base);
}

/* A shutdown answers at once: what is still there gets KILL. */
static void test_flush(void **state)
{
	const char *ids[] = { session_a };
	struct outcome o = { .base = event_base_new() };
	struct procs *p = procs_new(o.base);
	pid_t stubborn = spawn(session_a, true);
	int status;

	(void)state;
	wait_exec(stubborn);
	assert_int_equal(procs_end(p, ids, 1, false, NULL, NULL, 8, done, &o), 1);
	procs_free(p);
	assert_int_equal(o.calls, 1);
	assert_string_equal(o.ends[0].signal, "KILL");
	assert_int_equal(waitpid(stubborn, &status, 0), stubborn);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	event_base_free(o.base);
}

static double elapsed_us(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 + (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

/* What a stop with nothing left pays: the scan it waits for, among a crowd
 * of this user's processes (none marked for it), when the stop's start
 * warmed it up (procs_warm), against a cold scan in the same run. */
static void test_scan_cost(void **state)
{
	const char *ids[] = { session_a };
	struct event_base *base = event_base_new();
	struct procs *p = procs_new(base);
	struct procs_scan_stats cold_st, warm_st;
	struct procs_found found[1];
	pid_t crowd[CROWD];
	struct timespec t0, t1;
	double cold = 1e12, warm = 1e12, us;
	size_t i;
	int round;

	(void)state;
	for (i = 0; i < CROWD; i++)
		crowd[i] = spawn(i % 30 == 0 ? session_b : NULL, false);
	for (i = 0; i < CROWD; i++)
		wait_exec(crowd[i]);
	for (round = 0; round < 20; round++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(procs_scan(p, ids, 1, true, NULL, NULL, found, 1, &cold_st), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((us = elapsed_us(&t0, &t1)) < cold)
			cold = us;
		/* As a stop does: warmed up at its start, scanned at its end. */
		procs_warm(p);
		event_base_loop(base, EVLOOP_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(procs_scan(p, ids, 1, false, NULL, NULL, found, 1, &warm_st), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((us = elapsed_us(&t0, &t1)) < warm)
			warm = us;
	}
	print_message("# among %zu processes (%d of this test's, 1 in 30 marked for another tree): "
		      "a cold scan reads %zu environments in %.0f us; after the warm-up, %zu in "
		      "%.0f us (best of 20)\n",
	    cold_st.scanned, CROWD, cold_st.read, cold, warm_st.read, warm);
	assert_true(cold_st.scanned >= CROWD);
	/* The other tree's marked processes are read every time, the crowd's
	 * others not. */
	assert_true(warm_st.read >= CROWD / 30 && warm_st.read < cold_st.read / 2);
	assert_true(warm < cold);
	procs_free(p);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_scan_finds_the_marked, reap_all),
		cmocka_unit_test_teardown(test_scan_reads_only_what_may_be_marked, reap_all),
		cmocka_unit_test_teardown(test_other_uid, reap_all),
		cmocka_unit_test_teardown(test_end_term_then_kill, reap_all),
		cmocka_unit_test_teardown(test_flush, reap_all),
		cmocka_unit_test_teardown(test_scan_cost, reap_all),
	};

	/* Ids of this run only: another run's children are not this one's. */
	snprintf(session_a, sizeof(session_a), "ses_test_a_%d", (int)getpid());
	snprintf(session_b, sizeof(session_b), "ses_test_b_%d", (int)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
