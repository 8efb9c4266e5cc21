/*
 * The stop engine and the server lifecycle, with a fake backend and a clock
 * driven by hand: proof, the quiet window, retry, joining, children, a
 * child that starts mid-stop, servers going away, timeouts, late answers,
 * and teardown that waits for the safe point. Nothing here opens a socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/config.h"
#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/notify.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "fake-backend.h"
#include "helpers.h"

#define QUIET 100
#define TIMEOUT 1000

/* What the engine asks of the processes its stops end (io/procs.c). */
struct fake_procs {
	size_t n_warm, n_end, n_flush;
	bool all;          /* the last end's */
	char *sessions[4]; /* the last end's */
	size_t n_sessions;
	size_t found;      /* what the next end finds */
	proc_done_cb done; /* the end in flight */
	void *arg;
};

/* The world of one test: engine, host, fakes, what was said. */
struct world {
	struct fake_procs procs;
	struct wire_process processes[8][2]; /* the first of each result's */
	struct config cfg;
	struct engine *e;
	struct fakes fakes;
	int64_t wake; /* what the engine asked the host for */
	bool reap_asked;
	struct stop_result results[8];
	char *reasons[8];
	char *roots[8];
	char *running[8];    /* the first session of each result's running */
	char *background[8]; /* the first session of each result's background */
	size_t n_results;
	size_t n_published;
	struct notify_sink *sink;
	/* What the stops asked shims to fence: the last call. */
	size_t n_fences;
	uint64_t fence_shim;
	char *fence_ids[4];
	size_t n_fence_ids;
	struct fake *fence_fake; /* its aborts sent when the fence was asked */
	size_t fence_aborts;
	/* IDLE first answers the session's aborts, as OpenCode's abort route
	 * does once it has cancelled the session; false: the test answers. */
	bool answer_on_idle;
};

static void wake_at(void *arg, int64_t at)
{
	((struct world *)arg)->wake = at;
}

static void reap_soon(void *arg)
{
	((struct world *)arg)->reap_asked = true;
}

static void on_fence(void *arg, uint64_t shim, const char *const *ids, size_t n)
{
	struct world *w = arg;
	size_t i;

	w->n_fences++;
	w->fence_shim = shim;
	for (i = 0; i < w->n_fence_ids; i++)
		free(w->fence_ids[i]);
	for (i = 0; i < n && i < nitems(w->fence_ids); i++)
		w->fence_ids[i] = strdup(ids[i]);
	w->n_fence_ids = i;
	w->fence_aborts = w->fence_fake != NULL ? w->fence_fake->n_aborts : 0;
}

static int procs_end(void *ctx, const char *const *sessions, size_t n, bool all, size_t max,
    proc_done_cb done, void *arg)
{
	struct fake_procs *fp = ctx;
	size_t i;

	assert_null(fp->done);
	/* What the stop can still list. */
	assert_true(max > 0 && max <= STOP_MAX_PROCESSES);
	fp->n_end++;
	fp->all = all;
	for (i = 0; i < fp->n_sessions; i++)
		free(fp->sessions[i]);
	for (i = 0; i < n && i < nitems(fp->sessions); i++)
		fp->sessions[i] = strdup(sessions[i]);
	fp->n_sessions = i;
	if (fp->found == 0)
		return 0;
	fp->done = done;
	fp->arg = arg;
	return (int)fp->found;
}

/* The processes of the end in flight are gone: the first by TERM, the others
 * by KILL. */
static void procs_ended(struct fake_procs *fp, int64_t now)
{
	struct wire_process ends[4] = { { 0 } };
	proc_done_cb done = fp->done;
	size_t i;

	assert_non_null(done);
	for (i = 0; i < fp->found && i < nitems(ends); i++) {
		ends[i].pid = 100 + (int64_t)i;
		snprintf(ends[i].command, sizeof(ends[i].command), "sleep %zu", i);
		ends[i].signal = i == 0 ? "TERM" : "KILL";
		ends[i].ms = i == 0 ? 5 : 1005;
	}
	fp->done = NULL;
	done(fp->arg, ends, i, now);
}

static void procs_flush(void *ctx)
{
	struct fake_procs *fp = ctx;

	fp->n_flush++;
	if (fp->done != NULL)
		procs_ended(fp, 0);
}

static void procs_warm(void *ctx)
{
	((struct fake_procs *)ctx)->n_warm++;
}

static const struct procs_ops fake_procs_ops = {
	.end = procs_end,
	.flush = procs_flush,
	.warm = procs_warm,
};

static void on_news(const struct notify_event *ev, void *arg)
{
	struct world *w = arg;

	if (ev->type == NOTIFY_STOP)
		w->n_published++;
}

static int setup(void **state)
{
	struct engine_host host = { .wake_at = wake_at, .reap_soon = reap_soon };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	config_init(&w->cfg);
	w->cfg.quiet_ms = QUIET;
	w->cfg.stop_timeout_ms = TIMEOUT;
	host.arg = w;
	w->wake = -1;
	w->answer_on_idle = true;
	w->e = engine_new(&w->cfg, &host, SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES);
	assert_non_null(w->e);
	engine_set_backend(w->e, SERVER_HTTP, &fake_backend_ops, &w->fakes);
	engine_set_backend(w->e, SERVER_RELAY, &fake_backend_ops, &w->fakes);
	w->sink = notify_add(engine_notify(w->e), 1u << NOTIFY_STOP, on_news, w);
	assert_non_null(w->sink);
	stop_set_fence_sink(w->e, on_fence, w);
	engine_set_procs(w->e, &fake_procs_ops, &w->procs);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	size_t i;

	engine_free(w->e);
	fakes_free(&w->fakes);
	for (i = 0; i < w->n_results; i++) {
		free(w->reasons[i]);
		free(w->roots[i]);
		free(w->running[i]);
		free(w->background[i]);
	}
	for (i = 0; i < w->n_fence_ids; i++)
		free(w->fence_ids[i]);
	for (i = 0; i < w->procs.n_sessions; i++)
		free(w->procs.sessions[i]);
	free(w);
	return 0;
}

/* The host's top of the loop: what the engine deferred happens now. */
static void loop_top(struct world *w)
{
	if (w->reap_asked) {
		w->reap_asked = false;
		engine_reap(w->e);
	}
}

static struct server *add_server_spec(struct world *w, const char *url, bool configured,
    uint64_t shim, bool fences)
{
	struct server_spec spec = {
		.transport = SERVER_HTTP,
		.url = url,
		.configured = configured,
		.shim = shim,
		.fences = fences,
	};
	const char *cause = NULL;
	struct server *s = server_attach(w->e, &spec, &cause);

	assert_non_null(s);
	server_set_connected(s, true);
	return s;
}

static struct server *add_server(struct world *w, const char *url, bool configured, uint64_t shim)
{
	return add_server_spec(w, url, configured, shim, false);
}

/* A port-less OpenCode reached through its shim's connection. */
static struct server *add_relay(struct world *w, int pid, uint64_t shim)
{
	struct server_spec spec = { .transport = SERVER_RELAY, .pid = pid, .shim = shim };
	const char *cause = NULL;
	struct server *s = server_attach(w->e, &spec, &cause);

	assert_non_null(s);
	assert_true(server_connected(s));
	return s;
}

/* One event OpenCode publishes, as the server's backend reports it. */
static void event(struct world *w, struct server *s, int64_t now, json_t *j)
{
	engine_observe_event(w->e, s, "/p", j, now);
	json_decref(j);
}

/* session went idle: its aborts are answered first (answer_on_idle). */
static void idle(struct world *w, struct server *s, int64_t now, const char *session)
{
	struct fake *f = fake_of(&w->fakes, s);
	size_t i;

	for (i = 0; w->answer_on_idle && i < f->n_aborts; i++)
		if (!f->aborts[i].answered && strcmp(f->aborts[i].session, session) == 0)
			fake_answer(f, i, true, NULL, now);
	event(w, s, now,
	    jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\","
		  "\"status\":{\"type\":\"idle\"}}}",
		session));
}

#define BUSY(w, s, t, id) \
	event(w, s, t, \
	    jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\"," \
		  "\"status\":{\"type\":\"busy\"}}}", \
		id))
#define IDLE(w, s, t, id) idle(w, s, t, id)
#define PART(w, s, t, id) \
	event(w, s, t, \
	    jsonf("{\"type\":\"message.part.delta\",\"properties\":{\"sessionID\":\"%s\"," \
		  "\"messageID\":\"m\",\"partID\":\"p\",\"field\":\"text\",\"delta\":\".\"}}", \
		id))
#define CHILD(w, s, t, id, parent) \
	event(w, s, t, \
	    jsonf("{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"%s\"," \
		  "\"parentID\":\"%s\",\"directory\":\"/p\",\"title\":\"t\"}}}", \
		id, parent))

static void done_cb(const struct stop_result *res, void *arg)
{
	struct world *w = arg;
	size_t i = w->n_results++;

	assert_true(i < 8);
	w->results[i] = *res;
	/* The result is borrowed: keep copies of its strings. */
	w->roots[i] = strdup(res->session);
	w->results[i].session = w->roots[i];
	w->reasons[i] = res->reason != NULL ? strdup(res->reason) : NULL;
	w->results[i].reason = w->reasons[i];
	w->results[i].children = NULL;
	w->running[i] = res->n_running > 0 ? strdup(res->running[0]) : NULL;
	w->results[i].running = NULL;
	w->background[i] = res->n_background > 0 ? strdup(res->background[0]) : NULL;
	w->results[i].background = NULL;
	memcpy(w->processes[i], res->processes,
	    (res->n_processes < 2 ? res->n_processes : 2) * sizeof(*res->processes));
	w->results[i].processes = w->processes[i];
}

static struct stop *start(struct world *w, struct server *s, const char *id, int64_t now)
{
	struct session *root = session_table_find(engine_sessions(w->e), s, id);
	struct stop *st;

	assert_non_null(root);
	st = stop_start(w->e, session_table_root(engine_sessions(w->e), root), "test", NULL,
	    TIMEOUT, now, done_cb, w);
	assert_non_null(st);
	/* Never inside stop_start. */
	assert_int_equal(w->n_results, 0);
	return st;
}

/* Let the clock reach now: the host's timer fires if the engine asked. */
static void advance(struct world *w, int64_t now)
{
	while (w->wake >= 0 && w->wake <= now) {
		int64_t at = w->wake;

		/* The host's timer fires once. */
		w->wake = -1;
		engine_tick(w->e, at);
		loop_top(w);
	}
	loop_top(w);
}

/* Idle, then quiet for the window: verified, with the time to idle. */
static void test_proof(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	assert_int_equal(f->n_aborts, 1);
	assert_string_equal(f->aborts[0].session, "ses_r");
	/* A request may take as long as both attempts. */
	assert_int_equal(f->aborts[0].timeout_ms, 2 * TIMEOUT);
	assert_int_equal(w->wake, 1000 + TIMEOUT);
	fake_answer(f, 0, true, NULL, 1008);
	IDLE(w, s, 1010, "ses_r");
	assert_int_equal(w->wake, 1010 + QUIET);
	advance(w, 1109);
	assert_int_equal(w->n_results, 0);
	advance(w, 1110);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_null(w->results[0].reason);
	/* From the start to the proof: the quiet window is waited too. */
	assert_int_equal(w->results[0].ms, 110);
	assert_string_equal(w->results[0].session, "ses_r");
	assert_int_equal(w->n_published, 1);
	assert_int_equal(engine_counters(w->e)->verified, 1);
	assert_int_equal(engine_counters(w->e)->aborts, 1);
	assert_true(engine_idle(w->e));
	assert_int_equal(w->wake, -1);
}

/* Where the shim holds fences, it is told to hold them on the tree before
 * any abort goes, and idle is the proof: no quiet window. What the fences
 * refused while the stop ran is in its result; after, it counts nowhere. */
static void test_fenced(void **state)
{
	struct world *w = *state;
	struct server *s = add_server_spec(w, "http://a", false, 7, true);
	struct fake *f = fake_of(&w->fakes, s);
	const char *root;

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_c", "ses_r");
	BUSY(w, s, 2, "ses_c");
	w->fence_fake = f;
	start(w, s, "ses_r", 1000);
	assert_int_equal(w->n_fences, 1);
	assert_int_equal(w->fence_shim, 7);
	assert_int_equal(w->fence_aborts, 0);
	assert_int_equal(f->n_aborts, 2);
	assert_int_equal(w->n_fence_ids, 2);
	assert_string_equal(w->fence_ids[0], "ses_r");
	assert_string_equal(w->fence_ids[1], "ses_c");
	assert_true(stop_fence_hit(w->e, s, "ses_c", FENCE_TOOL, &root));
	assert_string_equal(root, "ses_r");
	assert_true(stop_fence_hit(w->e, s, "ses_r", FENCE_REQUEST, &root));
	assert_true(stop_fence_hit(w->e, s, "ses_r", FENCE_QUEUED, &root));
	assert_true(stop_fence_hit(w->e, s, "ses_r", FENCE_QUEUED, &root));
	assert_false(stop_fence_hit(w->e, s, "ses_unknown", FENCE_TOOL, &root));
	assert_null(root);
	IDLE(w, s, 1010, "ses_r");
	assert_int_equal(w->n_results, 0);
	IDLE(w, s, 1012, "ses_c");
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].ms, 12);
	assert_true(w->results[0].fenced);
	assert_int_equal(w->results[0].refused_tools, 1);
	assert_int_equal(w->results[0].refused_requests, 1);
	assert_int_equal(w->results[0].held, 2);
	assert_false(stop_fence_hit(w->e, s, "ses_c", FENCE_TOOL, &root));
	assert_string_equal(root, "ses_r");
}

/* An x's shim raised the fence at the x, on the session typed in: the stop
 * sends none of its own (it would name the root, and could come after the
 * user's next message lifted the x's), and is proven at idle all the same. */
static void test_fenced_x(void **state)
{
	struct world *w = *state;
	struct server *s = add_server_spec(w, "http://a", false, 7, true);
	struct session *root;

	BUSY(w, s, 0, "ses_r");
	root = session_table_find(engine_sessions(w->e), s, "ses_r");
	assert_non_null(stop_start(w->e, root, STOP_ORIGIN_X, NULL, TIMEOUT, 1000, done_cb, w));
	assert_int_equal(w->n_fences, 0);
	IDLE(w, s, 1010, "ses_r");
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_true(w->results[0].fenced);
}

/* Idle before our own abort is answered (the shim's abort, in-process,
 * came first): the stop waits for the answer, since an abort landing after
 * the stop ended would abort the user's next turn; up to the deadline. */
static void test_proof_waits_for_abort(void **state)
{
	struct world *w = *state;
	struct server *s = add_server_spec(w, "http://a", false, 7, true);
	struct fake *f = fake_of(&w->fakes, s);

	w->answer_on_idle = false;
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	IDLE(w, s, 1010, "ses_r");
	assert_int_equal(w->n_results, 0);
	assert_int_equal(w->wake, 1000 + TIMEOUT);
	fake_answer(f, 0, true, NULL, 1014);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	/* What the one who asked waited: to the proof, not to the idle. */
	assert_int_equal(w->results[0].ms, 14);
	/* An answer that never comes holds the proof until the deadline only. */
	BUSY(w, s, 2000, "ses_r");
	assert_non_null(stop_start(w->e, session_table_find(engine_sessions(w->e), s, "ses_r"),
	    "test", NULL, TIMEOUT, 2000, done_cb, w));
	IDLE(w, s, 2010, "ses_r");
	advance(w, 2000 + TIMEOUT - 1);
	assert_int_equal(w->n_results, 1);
	advance(w, 2000 + TIMEOUT);
	assert_int_equal(w->n_results, 2);
	assert_true(w->results[1].stopped);
	assert_int_equal(f->n_aborts, 2);
	fake_answer(f, 1, true, NULL, 3100);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* An x over HTTP: the shim aborts the session too, in-process. The proof
 * waits for its word that its abort returned (x.done), up to the deadline:
 * a prompt between the two aborts would be dropped. */
static void test_await_caller(void **state)
{
	struct world *w = *state;
	struct server *s = add_server_spec(w, "http://a", false, 7, true);
	struct session *root;
	struct stop *st;

	BUSY(w, s, 0, "ses_r");
	root = session_table_find(engine_sessions(w->e), s, "ses_r");
	st = stop_start(w->e, root, STOP_ORIGIN_X, NULL, TIMEOUT, 1000, done_cb, w);
	assert_non_null(st);
	stop_await_caller(st, "ses_r");
	IDLE(w, s, 1010, "ses_r");
	assert_int_equal(w->n_results, 0);
	stop_caller_done(w->e, "ses_other", 1011);
	assert_int_equal(w->n_results, 0);
	stop_caller_done(w->e, "ses_r", 1012);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].ms, 12);
	/* Its word never comes: proven at the deadline all the same. */
	BUSY(w, s, 2000, "ses_r");
	st = stop_start(w->e, root, STOP_ORIGIN_X, NULL, TIMEOUT, 2000, done_cb, w);
	assert_non_null(st);
	stop_await_caller(st, "ses_r");
	IDLE(w, s, 2010, "ses_r");
	advance(w, 2000 + TIMEOUT - 1);
	assert_int_equal(w->n_results, 1);
	advance(w, 2000 + TIMEOUT);
	assert_int_equal(w->n_results, 2);
	assert_true(w->results[1].stopped);
	assert_int_equal(w->results[1].ms, TIMEOUT);
	/* The shim disconnects before its word: it may never come. */
	BUSY(w, s, 4000, "ses_r");
	st = stop_start(w->e, root, STOP_ORIGIN_X, NULL, TIMEOUT, 4000, done_cb, w);
	assert_non_null(st);
	stop_await_caller(st, "ses_r");
	IDLE(w, s, 4010, "ses_r");
	assert_int_equal(w->n_results, 2);
	engine_shim_gone(w->e, 7, 4020);
	assert_int_equal(w->n_results, 3);
	assert_true(w->results[2].stopped);
	assert_int_equal(w->results[2].ms, 20);
}

/* A shim without fences (protocol 3) is told nothing; the quiet window
 * proves the stop, and the result says no fence held. */
static void test_unfenced_shim(void **state)
{
	struct world *w = *state;
	struct server *s = add_server_spec(w, "http://a", false, 7, false);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	assert_int_equal(w->n_fences, 0);
	IDLE(w, s, 1010, "ses_r");
	advance(w, 1109);
	assert_int_equal(w->n_results, 0);
	advance(w, 1110);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_false(w->results[0].fenced);
}

/* Output during the window restarts it; busy again undoes the idle. */
static void test_quiet_window(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	IDLE(w, s, 1010, "ses_r");
	PART(w, s, 1050, "ses_r");
	advance(w, 1110);
	assert_int_equal(w->n_results, 0);
	assert_int_equal(w->wake, 1150);
	BUSY(w, s, 1100, "ses_r");
	advance(w, 1200);
	assert_int_equal(w->n_results, 0);
	IDLE(w, s, 1300, "ses_r");
	advance(w, 1399);
	assert_int_equal(w->n_results, 0);
	advance(w, 1400);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	/* Proven a quiet window after all went idle for good. */
	assert_int_equal(w->results[0].ms, 400);
}

/* No proof by the deadline: the abort goes once more, then it is proven. */
static void test_retry(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	fake_answer(f, 0, true, NULL, 1005);
	advance(w, 1999);
	assert_int_equal(f->n_aborts, 1);
	advance(w, 2000);
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_r");
	assert_int_equal(f->aborts[1].timeout_ms, TIMEOUT);
	assert_int_equal(w->n_results, 0);
	IDLE(w, s, 2100, "ses_r");
	advance(w, 2200);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
}

/* Never proven: not stopped after exactly two attempts, with the reason. */
static void test_timeout(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	advance(w, 2000);
	advance(w, 2999);
	assert_int_equal(w->n_results, 0);
	advance(w, 3000);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_string_equal(w->results[0].reason,
	    "ses_r did not report idle within 1000 ms (2 attempts)");
	assert_int_equal(w->results[0].ms, -1);
	assert_int_equal(f->n_aborts, 2);
	assert_int_equal(engine_counters(w->e)->not_stopped, 1);
	/* Requests still in flight keep the stop's memory until they are answered. */
	fake_answer(f, 0, false, "late", 3500);
	fake_answer(f, 1, false, "late", 3500);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* No idle event by the end of the second attempt: OpenCode is asked for the
 * statuses before anything is reported, and an idle status is proof. */
static void test_check_idle(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	json_t *none = json_object();

	f->take_checks = true;
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	advance(w, 3000);
	assert_int_equal(w->n_results, 0);
	assert_int_equal(f->n_checks, 1);
	assert_string_equal(f->checks[0].directory, "/p");
	assert_int_equal(w->wake, 3000 + STOP_CHECK_MS);
	/* The status route lists no busy session in /p. */
	engine_observe_statuses(w->e, s, "/p", none, 3100);
	json_decref(none);
	fake_answer_check(f, 0, true, 3100);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].ms, 2100);
	assert_int_equal(engine_counters(w->e)->verified, 1);
	fake_answer(f, 0, true, NULL, 3200);
	fake_answer(f, 1, true, NULL, 3200);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* The idle comes while the status check is out, and the stop then waits
 * for its tools' processes to end: the check's late failure changes
 * nothing, the stop is proven, with its processes. */
static void test_check_late_after_proof(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	f->take_checks = true;
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	advance(w, 3000);
	assert_int_equal(f->n_checks, 1);
	w->procs.found = 1;
	IDLE(w, s, 3050, "ses_r");
	advance(w, 3150);
	assert_int_equal(w->procs.n_end, 1);
	assert_int_equal(w->n_results, 0);
	fake_answer_check(f, 0, false, 3200);
	assert_int_equal(w->n_results, 0);
	procs_ended(&w->procs, 3300);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_processes, 1);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* The check says it still runs, or does not answer in time: not stopped,
 * naming what still runs. */
static void test_check_busy(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	json_t *busy = jsonf("{\"ses_r\": {\"type\": \"busy\"}}");

	f->take_checks = true;
	BUSY(w, s, 0, "ses_r");
	BUSY(w, s, 0, "ses_q");
	start(w, s, "ses_r", 1000);
	advance(w, 3000);
	engine_observe_statuses(w->e, s, "/p", busy, 3100);
	json_decref(busy);
	fake_answer_check(f, 0, true, 3100);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_int_equal(w->results[0].n_running, 1);
	assert_string_equal(w->running[0], "ses_r");
	assert_string_equal(w->results[0].reason,
	    "ses_r did not report idle within 1000 ms (2 attempts)");
	/* No answer in time: the reason says so. */
	assert_non_null(stop_start(w->e, session_table_find(engine_sessions(w->e), s, "ses_q"),
	    "test", NULL, TIMEOUT, 4000, done_cb, w));
	advance(w, 6000);
	assert_int_equal(f->n_checks, 2);
	advance(w, 6000 + STOP_CHECK_MS - 1);
	assert_int_equal(w->n_results, 1);
	advance(w, 6000 + STOP_CHECK_MS);
	assert_int_equal(w->n_results, 2);
	assert_false(w->results[1].stopped);
	assert_non_null(strstr(w->results[1].reason, "status route did not answer"));
	/* A late answer finds the stop over. */
	fake_answer_check(f, 1, true, 9000);
	assert_int_equal(w->n_results, 2);
	for (size_t i = 0; i < f->n_aborts; i++)
		fake_answer(f, i, true, NULL, 9000);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* The x: the shim aborts the session it was typed in, so the stop's first
 * attempt sends it nothing (one abort per stop); the retry does, and so
 * does the stop at once when the shim says its abort failed. */
static void test_caller_aborts(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	struct session *root;

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 0, "ses_c", "ses_r");
	BUSY(w, s, 0, "ses_c");
	root = session_table_find(engine_sessions(w->e), s, "ses_r");
	assert_non_null(stop_start(w->e, root, "x", "ses_r", TIMEOUT, 1000, done_cb, w));
	assert_int_equal(f->n_aborts, 1);
	assert_string_equal(f->aborts[0].session, "ses_c");
	/* Nothing failed: the first attempt waits its time. */
	assert_int_equal(w->wake, 1000 + TIMEOUT);
	advance(w, 2000);
	assert_int_equal(f->n_aborts, 3);
	assert_string_equal(f->aborts[1].session, "ses_r");
	IDLE(w, s, 2010, "ses_r");
	IDLE(w, s, 2010, "ses_c");
	advance(w, 2010 + QUIET);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	/* The shim's abort failed: the daemon sends it now. */
	BUSY(w, s, 3000, "ses_r");
	root = session_table_find(engine_sessions(w->e), s, "ses_r");
	assert_non_null(stop_start(w->e, root, "x", "ses_r", TIMEOUT, 3000, done_cb, w));
	assert_int_equal(f->n_aborts, 3);
	stop_abort_skipped(w->e, "ses_r", 3005);
	assert_int_equal(f->n_aborts, 4);
	assert_string_equal(f->aborts[3].session, "ses_r");
	/* Said twice, sent once. */
	stop_abort_skipped(w->e, "ses_r", 3006);
	assert_int_equal(f->n_aborts, 4);
	IDLE(w, s, 3010, "ses_r");
	advance(w, 3010 + QUIET);
	assert_int_equal(w->n_results, 2);
	assert_true(w->results[1].stopped);
	for (size_t i = 0; i < f->n_aborts; i++)
		if (!f->aborts[i].answered)
			fake_answer(f, i, true, NULL, 4000);
	loop_top(w);
	assert_true(engine_idle(w->e));
}

/* Every request refused at once: retry at once, then give up naming why. */
static void test_requests_fail(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	fake_answer(f, 0, false, "HTTP 500 from http://a", 1003);
	assert_int_equal(f->n_aborts, 2);
	assert_int_equal(w->n_results, 0);
	fake_answer(f, 1, false, "HTTP 500 from http://a", 1006);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_string_equal(w->results[0].reason,
	    "the abort request failed (2 attempts): HTTP 500 from http://a");
}

/* A backend that cannot even send: the stop still does not end inside
 * stop_start, but at the next tick. */
static void test_cannot_send(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	f->refuse = true;
	start(w, s, "ses_r", 1000);
	assert_int_equal(w->wake, 1000);
	advance(w, 1000);
	advance(w, 1000);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_string_equal(w->results[0].reason,
	    "the abort request failed (2 attempts): could not send the abort request");
}

/* OpenCode answers aborts slower than the proof timeout: attempt 1's request
 * failing after attempt 2 went out must not count against attempt 2, and the
 * stop OpenCode carries out is reported stopped. */
static void test_slow_abort(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	w->answer_on_idle = false;
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 0);
	advance(w, TIMEOUT);
	assert_int_equal(f->n_aborts, 2);
	/* Attempt 1's request times out just after attempt 2 was sent. */
	fake_answer(f, 0, false, "Operation timed out after 1000 milliseconds", TIMEOUT + 1);
	assert_int_equal(w->n_results, 0);
	/* OpenCode carries out the first abort at 1.5 s and answers. */
	IDLE(w, s, 1500, "ses_r");
	fake_answer(f, 1, true, NULL, 1510);
	advance(w, 1600);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].ms, 1600);
}

/* Two requests for one tree share one stop; both hear how it ended. */
static void test_join(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	struct stop *a, *b;

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_c", "ses_r");
	BUSY(w, s, 2, "ses_c");
	a = start(w, s, "ses_r", 1000);
	/* Asked for the child: the same tree, the same stop. */
	b = start(w, s, "ses_c", 1001);
	assert_ptr_equal(a, b);
	assert_int_equal(f->n_aborts, 2);
	assert_int_equal(engine_counters(w->e)->aborts, 1);
	IDLE(w, s, 1010, "ses_c");
	IDLE(w, s, 1020, "ses_r");
	advance(w, 1120);
	assert_int_equal(w->n_results, 2);
	assert_true(w->results[0].stopped && w->results[1].stopped);
	assert_string_equal(w->results[0].session, "ses_r");
	assert_string_equal(w->results[1].session, "ses_r");
	assert_int_equal(w->results[0].n_children, 1);
	assert_int_equal(w->n_published, 1);
}

/* The root and every running descendant are aborted; idle ones are not;
 * proof needs them all. */
static void test_tree(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_c1", "ses_r");
	CHILD(w, s, 2, "ses_c2", "ses_r");
	CHILD(w, s, 3, "ses_g", "ses_c1");
	BUSY(w, s, 4, "ses_g");
	start(w, s, "ses_r", 1000);
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[0].session, "ses_r");
	assert_string_equal(f->aborts[1].session, "ses_g");
	IDLE(w, s, 1010, "ses_r");
	advance(w, 1200);
	assert_int_equal(w->n_results, 0);
	IDLE(w, s, 1300, "ses_g");
	advance(w, 1400);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_children, 1);
	assert_int_equal(w->results[0].ms, 400);
}

/* A subagent that starts while its tree is being stopped is aborted too,
 * and the proof waits for it. */
static void test_child_mid_stop(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	IDLE(w, s, 1010, "ses_r");
	CHILD(w, s, 1020, "ses_late", "ses_r");
	BUSY(w, s, 1030, "ses_late");
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_late");
	advance(w, 1200);
	assert_int_equal(w->n_results, 0);
	/* Another tree's child is none of this stop's business. */
	BUSY(w, s, 1210, "ses_other");
	CHILD(w, s, 1220, "ses_oc", "ses_other");
	BUSY(w, s, 1230, "ses_oc");
	assert_int_equal(f->n_aborts, 2);
	IDLE(w, s, 1300, "ses_late");
	advance(w, 1400);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_children, 1);
}

/* A target that goes busy again after its idle (a background subagent
 * that ended just then prompts its parent with its result) is aborted
 * again at once, not only at the next attempt. */
static void test_restart_mid_stop(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	assert_int_equal(f->n_aborts, 1);
	IDLE(w, s, 1010, "ses_r");
	BUSY(w, s, 1050, "ses_r");
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_r");
	/* OpenCode says busy twice per prompt: one abort for it. */
	BUSY(w, s, 1051, "ses_r");
	assert_int_equal(f->n_aborts, 2);
	IDLE(w, s, 1060, "ses_r");
	advance(w, 1200);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(f->n_aborts, 2);
}

/* The parent's task tool part as OpenCode 1.18.33 updates it once the
 * subagent in child was sent to the background. */
#define BACKGROUNDED(w, s, t, parent, child) \
	event(w, s, t, \
	    jsonf("{\"type\":\"message.part.updated\",\"properties\":{\"part\":{" \
		  "\"sessionID\":\"%s\",\"messageID\":\"m\",\"type\":\"tool\"," \
		  "\"tool\":\"task\",\"state\":{\"status\":\"completed\",\"metadata\":{" \
		  "\"parentSessionId\":\"%s\",\"sessionId\":\"%s\",\"background\":true," \
		  "\"jobId\":\"%s\"}}}}}", \
		parent, parent, child, child))

/* A subagent sent to the background runs on while its parent is idle: a
 * stop of the parent's tree aborts it, and its result says which of the
 * children ran in the background. A foreground sibling is no such child. */
static void test_background(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_fg", "ses_r");
	CHILD(w, s, 2, "ses_bg", "ses_r");
	BUSY(w, s, 3, "ses_fg");
	BUSY(w, s, 4, "ses_bg");
	BACKGROUNDED(w, s, 5, "ses_r", "ses_bg");
	IDLE(w, s, 6, "ses_r");
	assert_true(session_background(session_table_find(engine_sessions(w->e), s, "ses_bg")));
	assert_false(session_background(session_table_find(engine_sessions(w->e), s, "ses_fg")));
	start(w, s, "ses_r", 1000);
	assert_int_equal(f->n_aborts, 3);
	IDLE(w, s, 1010, "ses_r");
	IDLE(w, s, 1020, "ses_fg");
	IDLE(w, s, 1030, "ses_bg");
	advance(w, 1200);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_children, 2);
	assert_int_equal(w->results[0].n_background, 1);
	assert_string_equal(w->background[0], "ses_bg");
}

/* The mark may come while the stop runs: the result has it. */
static void test_background_mid_stop(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_bg", "ses_r");
	BUSY(w, s, 2, "ses_bg");
	start(w, s, "ses_r", 1000);
	BACKGROUNDED(w, s, 1005, "ses_r", "ses_bg");
	IDLE(w, s, 1010, "ses_r");
	IDLE(w, s, 1020, "ses_bg");
	advance(w, 1200);
	assert_int_equal(w->n_results, 1);
	assert_int_equal(w->results[0].n_background, 1);
	assert_string_equal(w->background[0], "ses_bg");
}

/* The server goes while stopping: not stopped, with the reason; the
 * backend's close answers the request in flight; memory goes at the reap. */
static void test_server_gone(void **state)
{
	struct world *w = *state;
	struct server *s = add_relay(w, 4242, 7);
	struct fake *f = fake_of(&w->fakes, s);

	assert_string_equal(server_url(s), "pid:4242");
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	engine_shim_gone(w->e, 7, 0);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_string_equal(w->results[0].reason, "its plugin disconnected");
	/* Dropped, not yet freed: the backend is closed only at the safe point. */
	assert_true(server_dead(s));
	assert_false(f->closed);
	assert_null(server_first(w->e));
	assert_null(session_table_find(engine_sessions(w->e), s, "ses_r"));
	assert_true(w->reap_asked);
	loop_top(w);
	assert_true(f->closed);
	assert_true(f->aborts[0].answered);
	assert_true(engine_idle(w->e));
}

/* A configured server stays when its link fails; one nobody stands for goes. */
static void test_server_lifecycle(void **state)
{
	struct world *w = *state;
	struct server *kept = add_server(w, "http://kept", true, 0);
	struct server *shim = add_server(w, "http://shim", false, 9);
	struct server *lone = add_server(w, "http://lone", false, 0);

	assert_int_equal(server_count(w->e), 3);
	assert_true(server_link_down(kept));
	assert_true(server_link_down(shim));
	assert_false(server_link_down(lone));
	assert_true(server_dead(lone));
	assert_int_equal(server_count(w->e), 2);
	/* The shim goes: its connected HTTP server stays, serving others. */
	engine_shim_gone(w->e, 9, 0);
	assert_false(server_dead(shim));
	assert_int_equal(server_shim(shim), 0);
	server_set_error(shim, 0, "event stream ended");
	assert_false(server_link_down(shim));
	assert_true(server_dead(shim));
	loop_top(w);
	assert_ptr_equal(server_first(w->e), kept);
	assert_null(server_next(kept));
	/* The same URL again is the same server; a new shim takes it. */
	assert_ptr_equal(add_server(w, "http://kept/", false, 4), kept);
	assert_ptr_equal(server_of_shim(w->e, 4), kept);
}

/* The configuration loaded again (SIGHUP): a server it no longer names goes
 * unless a shim stands for it, and then only with its shim; a new one comes;
 * one a shim announced becomes configured; the configuration's password
 * replaces the old one only where no shim gave its own. */
static void test_reconfigure(void **state)
{
	struct world *w = *state;
	struct server *old = add_server(w, "http://old", true, 0);
	struct server *held = add_server(w, "http://held", true, 7);
	struct server *announced = add_server(w, "http://announced", false, 8);
	struct server_spec spec = {
		.transport = SERVER_HTTP,
		.configured = true,
		.username = "alice",
		.password = "new-pw",
	};
	char *urls[] = { "http://announced/", "http://new", "http://kept" };
	struct server *kept = add_server(w, "http://kept", true, 0), *s;
	const char *cause = NULL;

	assert_int_equal(servers_reconfigure(w->e, &spec, urls, 3, &cause), 0);
	/* Dropped at the safe point, as every drop. */
	assert_false(server_dead(old));
	loop_top(w);
	assert_null(server_find_url(w->e, "http://old"));
	assert_false(server_dead(held));
	assert_false(server_configured(held));
	assert_true(server_configured(announced));
	assert_string_equal(server_password(kept), "new-pw");
	assert_string_equal(server_username(kept), "alice");
	assert_null(server_password(announced)); /* its shim's word, not ours */
	assert_non_null(s = server_find_url(w->e, "http://new"));
	assert_true(server_configured(s));
	assert_int_equal(server_count(w->e), 4);
	/* No longer configured: it goes with its shim once its link fails. */
	engine_shim_gone(w->e, 7, 0);
	assert_false(server_link_down(held));
	assert_true(server_dead(held));
	/* Still configured: it stays with its shim gone. */
	engine_shim_gone(w->e, 8, 0);
	assert_true(server_link_down(announced));
	assert_false(server_dead(announced));
	/* No password any more: none is sent. */
	spec.password = NULL;
	spec.username = NULL;
	assert_int_equal(servers_reconfigure(w->e, &spec, urls, 3, &cause), 0);
	assert_null(server_password(kept));
	assert_string_equal(server_username(kept), "opencode");
	loop_top(w);
}

/* The first use-after-free, as the engine saw it: while one stop's end is
 * being published, a sink drops another server whose stop comes next in the
 * walk. Nothing is freed under the walk; both end; all memory goes later. */
static struct server *victim;

static void drop_on_stop(const struct notify_event *ev, void *arg)
{
	struct world *w = arg;

	(void)ev;
	if (victim != NULL)
		engine_shim_gone(w->e, server_shim(victim), 0);
	victim = NULL;
}

static void test_drop_while_publishing(void **state)
{
	struct world *w = *state;
	struct server *a = add_server(w, "http://a", true, 0);
	struct server *b = add_relay(w, 4343, 5);
	struct fake *fa = fake_of(&w->fakes, a), *fb = fake_of(&w->fakes, b);

	assert_non_null(notify_add(engine_notify(w->e), 1u << NOTIFY_STOP, drop_on_stop, w));
	BUSY(w, a, 0, "ses_a");
	BUSY(w, b, 0, "ses_b");
	start(w, b, "ses_b", 1000);
	start(w, a, "ses_a", 1000);
	advance(w, 2000);
	victim = b;
	/* Both time out in the same tick: a's end drops b mid-walk. The drop
	 * waits for the safe point; b's stop ends on its own first. */
	w->wake = -1;
	engine_tick(w->e, 3000);
	assert_int_equal(w->n_results, 2);
	assert_string_equal(w->results[0].session, "ses_a");
	assert_string_equal(w->results[1].session, "ses_b");
	assert_string_equal(w->results[1].reason,
	    "ses_b did not report idle within 1000 ms (2 attempts)");
	assert_false(server_dead(b));
	assert_true(w->reap_asked);
	/* The safe point drops b and frees it: a is all that is left. */
	loop_top(w);
	assert_true(fb->closed);
	assert_false(fa->closed);
	assert_ptr_equal(server_first(w->e), a);
	assert_null(server_next(a));
}

/* A sink removed while news is dispatched is freed only afterwards. */
static void remove_self(const struct notify_event *ev, void *arg)
{
	(void)ev;
	notify_remove(*(struct notify_sink **)arg);
}

static void test_sink_removed_in_dispatch(void **state)
{
	struct world *w = *state;
	struct notify *n = engine_notify(w->e);
	struct notify_sink *self = notify_add(n, 1u << NOTIFY_SESSION_STATUS, remove_self, &self);
	struct server *s = add_server(w, "http://a", true, 0);

	assert_non_null(self);
	assert_true(notify_wanted(n, NOTIFY_SESSION_STATUS));
	BUSY(w, s, 0, "ses_r");
	assert_false(notify_wanted(n, NOTIFY_SESSION_STATUS));
	IDLE(w, s, 1, "ses_r");
}

/* A stop holds its sessions in a full table: they are not evicted. */
static void test_pins(void **state)
{
	struct world *w = *state;
	struct engine_host host = { .wake_at = wake_at, .reap_soon = reap_soon, .arg = w };
	struct engine *small = engine_new(&w->cfg, &host, 3, SESSION_TABLE_MAX_BYTES);
	struct engine *saved = w->e;
	struct session_table *t;
	struct server *s;

	assert_non_null(small);
	engine_set_backend(small, SERVER_HTTP, &fake_backend_ops, &w->fakes);
	w->e = small;
	s = add_server(w, "http://a", true, 0);
	t = engine_sessions(small);
	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	IDLE(w, s, 1010, "ses_r");
	/* Idle and the oldest, but pinned: the others make room. */
	IDLE(w, s, 1020, "ses_1");
	IDLE(w, s, 1030, "ses_2");
	IDLE(w, s, 1040, "ses_3");
	assert_non_null(session_table_find(t, s, "ses_r"));
	assert_true(session_pinned(session_table_find(t, s, "ses_r")));
	assert_int_equal(session_table_count(t), 3);
	advance(w, 1200);
	assert_int_equal(w->n_results, 1);
	assert_false(session_pinned(session_table_find(t, s, "ses_r")));
	/* Its stop just ended: that counts as recent activity. */
	IDLE(w, s, 1300, "ses_4");
	IDLE(w, s, 1310, "ses_5");
	assert_non_null(session_table_find(t, s, "ses_r"));
	IDLE(w, s, 1320, "ses_6");
	assert_null(session_table_find(t, s, "ses_r"));
	engine_free(small);
	w->e = saved;
}

static void count_probe(void *arg, enum probe_outcome outcome, int64_t now_ms)
{
	(void)outcome;
	(void)now_ms;
	(*(int *)arg)++;
}

/* Lookups of unknown ids a server has in flight are bounded, so that they
 * never take all the requests a backend holds, which a stop's aborts need. */
static void test_probe_bound(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	int done = 0, taken = 0, i;

	f->take_probes = true;
	for (i = 0; i < SERVER_MAX_PROBES + 8; i++)
		if (server_probe(s, "ses_unknown", count_probe, &done) == 0)
			taken++;
	assert_int_equal(taken, SERVER_MAX_PROBES);
	assert_int_equal(f->n_probes, SERVER_MAX_PROBES);
	fake_answer_probe(f, 0, PROBE_NOT_FOUND, 10);
	assert_int_equal(done, 1);
	assert_int_equal(server_probe(s, "ses_unknown", count_probe, &done), 0);
	assert_int_equal(server_probe(s, "ses_unknown", count_probe, &done), -1);
	for (i = 1; i < (int)f->n_probes; i++)
		fake_answer_probe(f, (size_t)i, PROBE_NOT_FOUND, 20);
	assert_int_equal(done, SERVER_MAX_PROBES + 1);
	assert_int_equal(server_probe(s, "ses_unknown", count_probe, &done), 0);
	fake_answer_probe(f, f->n_probes - 1, PROBE_NOT_FOUND, 30);
}

/* A flood of new sessions into a table full of running ones: each is
 * refused, and the log says so, truly and a bounded number of times (the
 * flood measured: 39,000 events in 15 s); once there is room again, one
 * line says the table takes sessions again. */
static void test_table_full_log(void **state)
{
	struct world *w = *state;
	struct engine_host host = { .wake_at = wake_at, .reap_soon = reap_soon, .arg = w };
	struct engine *small = engine_new(&w->cfg, &host, 100, SESSION_TABLE_MAX_BYTES);
	struct engine *saved = w->e;
	struct server *s;
	const char *out;
	char id[32];
	int i;

	assert_non_null(small);
	engine_set_backend(small, SERVER_HTTP, &fake_backend_ops, &w->fakes);
	w->e = small;
	s = add_server(w, "http://a", true, 0);
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "ses_run%d", i);
		BUSY(w, s, i, id);
	}
	stderr_catch();
	for (i = 0; i < 39000; i++) {
		snprintf(id, sizeof(id), "ses_new%d", i);
		BUSY(w, s, 1000 + (int64_t)i * 15000 / 39000, id);
	}
	out = stderr_release();
	print_message("# %zu lines for 39000 refused sessions\n", count_lines(out, ""));
	assert_int_equal(session_table_count(engine_sessions(small)), 100);
	assert_int_equal(count_lines(out, ""), 2);
	assert_int_equal(count_lines(out,
			     "the session table is full of sessions that run or are "
			     "being stopped (100 sessions, 100 running, "),
	    2);
	assert_int_equal(count_lines(out, "cannot track session ses_new0: "), 1);
	assert_int_equal(count_lines(out, "(still failing: 26000 times in the last 10 s)"), 1);
	assert_int_equal(count_lines(out, "out of memory"), 0);
	/* One goes idle and makes room: a new one is taken in its place, and
	 * that is said once. */
	stderr_catch();
	IDLE(w, s, 20000, "ses_run0");
	BUSY(w, s, 20001, "ses_late1");
	BUSY(w, s, 20002, "ses_run1");
	out = stderr_release();
	assert_non_null(session_table_find(engine_sessions(small), s, "ses_late1"));
	assert_int_equal(count_lines(out, ""), 2);
	assert_int_equal(count_lines(out, "forgot 1 idle sessions so far"), 1);
	assert_int_equal(count_lines(out,
			     "the session table takes new sessions again (100 sessions) "
			     "after 39000 could not be tracked"),
	    1);
	engine_free(small);
	w->e = saved;
}

/* News of a session the daemon learns only by status: it asks who it is. */
static void test_lookup_new_session(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	assert_int_equal(f->lookups, 1);
	BUSY(w, s, 1, "ses_r");
	assert_int_equal(f->lookups, 1);
	CHILD(w, s, 2, "ses_c", "ses_r");
	assert_int_equal(f->lookups, 1);
}

/* A child known only from a status (the daemon came up while it ran on in
 * the background, its parent idle) whose parent a lookup then names: the
 * parent gets an entry, is looked up in turn, and its tree is stopped
 * whole from it. */
static void test_parent_learned_by_lookup(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);
	struct session *p;
	json_t *info;

	BUSY(w, s, 0, "ses_c");
	assert_int_equal(f->lookups, 1);
	info = jsonf("[{\"id\":\"ses_c\",\"parentID\":\"ses_p\",\"directory\":\"/p\"}]");
	engine_observe_sessions(w->e, s, info);
	json_decref(info);
	p = session_table_find(engine_sessions(w->e), s, "ses_p");
	assert_non_null(p);
	assert_int_equal(session_status(p), SESSION_IDLE);
	assert_string_equal(session_directory(p), "/p");
	assert_int_equal(f->lookups, 2);
	assert_true(session_table_tree_running(engine_sessions(w->e), p));
	start(w, s, "ses_p", 1000);
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_c");
	IDLE(w, s, 1010, "ses_p");
	IDLE(w, s, 1020, "ses_c");
	advance(w, 1200);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_children, 1);
	/* The same from an event naming a parent never seen; but the parent
	 * of a child that does not run is not looked for. */
	BUSY(w, s, 1300, "ses_c2");
	CHILD(w, s, 1310, "ses_c2", "ses_p2");
	assert_non_null(session_table_find(engine_sessions(w->e), s, "ses_p2"));
	CHILD(w, s, 1320, "ses_c3", "ses_p3");
	assert_null(session_table_find(engine_sessions(w->e), s, "ses_p3"));
}

/* Shutdown ends the stops in flight and answers their requests. */
static void test_shutdown(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	engine_shutdown(w->e);
	assert_int_equal(w->n_results, 1);
	assert_string_equal(w->results[0].reason, "ocstopd is shutting down");
	assert_true(f->closed);
	assert_true(engine_idle(w->e));
}

/* A stop proven idle ends what its tree's tools left, idle sessions' too,
 * and its result waits for them and lists them; its start warmed the look
 * up. None found: the result comes at once. */
static void test_processes(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	BUSY(w, s, 0, "ses_r");
	CHILD(w, s, 1, "ses_c", "ses_r");
	start(w, s, "ses_r", 1000);
	assert_int_equal(w->procs.n_warm, 1);
	assert_int_equal(w->procs.n_end, 0);
	w->procs.found = 2;
	IDLE(w, s, 1010, "ses_r");
	advance(w, 1110);
	assert_int_equal(w->procs.n_end, 1);
	assert_false(w->procs.all);
	assert_int_equal(w->procs.n_sessions, 2);
	assert_string_equal(w->procs.sessions[0], "ses_r");
	assert_string_equal(w->procs.sessions[1], "ses_c");
	/* Waiting for them asks for no timer; the grace is the ender's. */
	assert_int_equal(w->n_results, 0);
	assert_int_equal(w->wake, -1);
	assert_false(engine_idle(w->e));
	procs_ended(&w->procs, 2120);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	/* The proof includes the ending of what the tools left. */
	assert_int_equal(w->results[0].ms, 1120);
	assert_false(w->results[0].force);
	assert_int_equal(w->results[0].n_processes, 2);
	assert_int_equal(w->results[0].processes[0].pid, 100);
	assert_string_equal(w->results[0].processes[0].command, "sleep 0");
	assert_string_equal(w->results[0].processes[1].signal, "KILL");
	loop_top(w);
	assert_true(engine_idle(w->e));
	/* Nothing left the next time: no wait. */
	w->procs.found = 0;
	BUSY(w, s, 3000, "ses_r");
	assert_non_null(stop_start(w->e, session_table_find(engine_sessions(w->e), s, "ses_r"),
	    "test", NULL, TIMEOUT, 3000, done_cb, w));
	IDLE(w, s, 3010, "ses_r");
	advance(w, 3110);
	assert_int_equal(w->procs.n_end, 2);
	assert_int_equal(w->n_results, 2);
	assert_int_equal(w->results[1].n_processes, 0);
}

/* A child that starts while the processes end (no fence held) undoes the
 * proof: the stop waits for it too, then ends its processes again. */
static void test_child_while_ending(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);
	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	w->procs.found = 1;
	IDLE(w, s, 1010, "ses_r");
	advance(w, 1110);
	assert_int_equal(w->procs.n_end, 1);
	CHILD(w, s, 1120, "ses_c", "ses_r");
	BUSY(w, s, 1121, "ses_c");
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_c");
	procs_ended(&w->procs, 1130);
	assert_int_equal(w->n_results, 0);
	w->procs.found = 0;
	IDLE(w, s, 1140, "ses_c");
	advance(w, 1240);
	assert_int_equal(w->procs.n_end, 2);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_int_equal(w->results[0].n_processes, 1);
}

/* Forced: a stop with no proof after its retry ends every process of its
 * tools (all), then waits for proof once more, and its result says so. */
static void test_force(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	struct fake *f = fake_of(&w->fakes, s);

	BUSY(w, s, 0, "ses_r");
	stop_force(start(w, s, "ses_r", 1000));
	w->procs.found = 1;
	advance(w, 2000);
	assert_int_equal(w->procs.n_end, 0);
	/* The retry's request fails: the stall is known at once. */
	fake_answer(f, 1, false, "timed out", 2500);
	assert_int_equal(w->procs.n_end, 1);
	assert_true(w->procs.all);
	assert_int_equal(w->n_results, 0);
	/* The wait for proof after the processes ended is not cut short by
	 * the failed request. */
	procs_ended(&w->procs, 2600);
	w->procs.found = 0;
	assert_int_equal(w->n_results, 0);
	assert_int_equal(w->wake, 2600 + TIMEOUT);
	IDLE(w, s, 3200, "ses_r");
	advance(w, 3300);
	assert_int_equal(w->procs.n_end, 2);
	assert_false(w->procs.all);
	assert_int_equal(w->n_results, 1);
	assert_true(w->results[0].stopped);
	assert_true(w->results[0].force);
	assert_int_equal(w->results[0].n_processes, 1);
	assert_string_equal(w->results[0].processes[0].signal, "TERM");
}

/* Not forced: a stall ends nothing. */
static void test_no_force(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	w->procs.found = 1;
	advance(w, 3000);
	assert_int_equal(w->n_results, 1);
	assert_false(w->results[0].stopped);
	assert_false(w->results[0].force);
	assert_int_equal(w->procs.n_end, 0);
}

/* A shutdown while processes end: the stop ends, the ender answers at once. */
static void test_shutdown_ending(void **state)
{
	struct world *w = *state;
	struct server *s = add_server(w, "http://a", true, 0);

	BUSY(w, s, 0, "ses_r");
	start(w, s, "ses_r", 1000);
	w->procs.found = 1;
	IDLE(w, s, 1010, "ses_r");
	advance(w, 1110);
	assert_non_null(w->procs.done);
	engine_shutdown(w->e);
	assert_int_equal(w->procs.n_flush, 1);
	assert_null(w->procs.done);
	assert_int_equal(w->n_results, 1);
	assert_string_equal(w->results[0].reason, "ocstopd is shutting down");
	assert_true(engine_idle(w->e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiet_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fenced_x, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proof_waits_for_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_await_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfenced_shim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_late_after_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_caller_aborts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_fail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cannot_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_join, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_mid_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_mid_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_background, setup, teardown),
		cmocka_unit_test_setup_teardown(test_background_mid_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconfigure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_while_publishing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_removed_in_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_full_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_new_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_learned_by_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_child_while_ending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_ending, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
