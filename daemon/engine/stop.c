#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/session.h"
#include "core/util.h"
#include "core/verify.h"
#include "engine/engine-int.h"
#include "engine/notify.h"

struct waiter {
	stop_done_cb cb;
	void *arg;
	struct waiter *next;
};

struct stop {
	struct engine *e;
	struct server *server;
	char *targets[VERIFY_MAX_TARGETS]; /* [0] is the root; verify borrows these */
	size_t n_targets;
	const char *background[VERIFY_MAX_TARGETS]; /* targets sent to the background */
	size_t n_background;
	char *directory;
	struct verify v;
	int64_t started_ms;
	int64_t proven_ms; /* when the proof was whole, processes ended too; 0: not yet */
	int64_t timeout_ms;
	int64_t deadline_ms;    /* when the current attempt stops waiting for proof */
	int64_t wake_ms;        /* when the stop next needs the clock */
	int64_t check_until_ms; /* while checking: when to give up on the answer */
	char *skipped;          /* aborted by the caller: attempt 1 sends it nothing */
	bool fenced;
	int64_t refused_tools, refused_requests, held;
	int attempt;
	bool checking, checked;
	size_t sent, failed; /* requests of the current attempt */
	char *last_error;
	const char *origin;
	struct waiter *waiters;
	bool finished;
	bool force;  /* stop_force() */
	bool forced; /* the tools' processes were ended for the stall */
	bool proven; /* every target idle: what is left is ending processes */
	bool ending; /* a request to end processes is in flight */
	struct wire_process processes[STOP_MAX_PROCESSES];
	size_t n_processes;
	unsigned refs;     /* the stop list's, and one per request in flight */
	size_t aborts_out; /* abort requests not answered yet, of any attempt */
	char *caller;      /* aborts this session too; its word not come yet */
	TAILQ_ENTRY(stop) link;
};

/* One abort request in flight: it knows its stop and its attempt. */
struct abort_req {
	struct stop *st;
	int attempt;
	char session[];
};

static void stop_free(struct stop *st)
{
	struct waiter *w, *next;
	size_t i;

	for (w = st->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	for (i = 0; i < st->n_targets; i++)
		free(st->targets[i]);
	free(st->directory);
	free(st->last_error);
	free(st->skipped);
	free(st->caller);
	free(st);
}

static void stop_unref(struct stop *st)
{
	if (--st->refs == 0)
		engine_want_reap(st->e);
}

static void note_error(struct stop *st, const char *error)
{
	if (str_replace(&st->last_error, error != NULL ? error : "abort failed") < 0)
		log_warnx("stop %s: out of memory noting an error", st->targets[0]);
}

static void fill_result(const struct stop *st, struct stop_result *res, bool stopped,
    const char *reason, const char **running, size_t max_running)
{
	res->session = st->targets[0];
	res->server = st->server;
	res->stopped = stopped;
	res->children = (const char *const *)&st->targets[1];
	res->n_children = st->n_targets - 1;
	/* Stopped: what the one who asked waited for, to the proof. */
	if (stopped)
		res->ms = st->proven_ms - st->started_ms;
	else
		res->ms = st->v.all_idle_ms != 0 ? st->v.all_idle_ms - st->started_ms : -1;
	res->proven_at_ms = stopped ? st->proven_ms : 0;
	res->reason = reason;
	res->origin = st->origin;
	res->running = running;
	res->n_running =
	    stopped || running == NULL ? 0 : verify_pending(&st->v, running, max_running);
	res->fenced = st->fenced;
	res->background = st->background;
	res->n_background = st->n_background;
	res->refused_tools = st->refused_tools;
	res->refused_requests = st->refused_requests;
	res->held = st->held;
	res->processes = st->processes;
	res->n_processes = st->n_processes;
	res->force = st->forced;
}

void stop_force(struct stop *st)
{
	st->force = true;
}

void stop_pending_result(const struct stop *st, struct stop_result *res)
{
	fill_result(st, res, false, "pending", NULL, 0);
}

/* A stop holds its sessions in the table while it runs. */
static void pin_target(struct stop *st, const char *id, bool pin)
{
	struct session_table *t = st->e->sessions;
	struct session *s = session_table_find(t, st->server, id);

	if (s == NULL)
		return;
	if (pin)
		session_pin(t, s);
	else
		session_unpin(t, s);
}

/* Note target i among the background subagents when the table says it is
 * one. The targets are pinned, so their entries are still there. */
static void note_background(struct stop *st, size_t i)
{
	struct session *s = session_table_find(st->e->sessions, st->server, st->targets[i]);

	if (i > 0 && s != NULL && session_background(s))
		st->background[st->n_background++] = st->targets[i];
}

/* Again at the end: the mark may come while the stop runs (the subagent was
 * sent to the background just before the x). */
static void note_all_background(struct stop *st)
{
	size_t i;

	st->n_background = 0;
	for (i = 1; i < st->n_targets; i++)
		note_background(st, i);
}

/* End the stop: tell the log, the subscribers and the waiters. Its memory
 * waits until no request of it is in flight and the engine reaps. */
static void finish(struct stop *st, bool stopped, const char *reason)
{
	struct engine *e = st->e;
	struct notify_event ev = { .type = NOTIFY_STOP };
	const char *running[VERIFY_MAX_TARGETS];
	struct stop_result res;
	struct waiter *w;
	size_t i;

	st->finished = true;
	note_all_background(st);
	fill_result(st, &res, stopped, reason, running, nitems(running));
	if (stopped) {
		e->counters.verified++;
		log_info("stopped %s on %s (%zu children, %zu in the background, origin %s%s) in "
			 "%lld ms, verified",
		    res.session, st->server->url, res.n_children, res.n_background, res.origin,
		    res.fenced ? ", fenced" : "", (long long)res.ms);
	} else {
		e->counters.not_stopped++;
		log_warnx("NOT stopped %s on %s (origin %s): %s", res.session, st->server->url,
		    res.origin, reason);
	}
	ev.stop = &res;
	ev.server = st->server;
	notify_fire(e->notify, &ev);
	for (w = st->waiters; w != NULL; w = w->next)
		w->cb(&res, w->arg);
	for (i = 0; i < st->n_targets; i++)
		pin_target(st, st->targets[i], false);
	stop_unref(st);
}

static void abort_done(void *arg, bool ok, const char *error, int64_t now_ms);

static void send_abort(struct stop *st, const char *id)
{
	size_t len = strlen(id);
	struct abort_req *req = malloc(sizeof(*req) + len + 1);
	/* A request may take as long as what is left of the whole stop, so
	 * that its own timeout never ends a stop early. */
	int64_t timeout = (STOP_ATTEMPTS - st->attempt + 1) * st->timeout_ms;
	void *priv = st->server->priv;
	int rc = -1;

	st->sent++;
	if (req != NULL) {
		req->st = st;
		req->attempt = st->attempt;
		memcpy(req->session, id, len + 1);
		rc = st->server->ops->abort(priv, id, st->directory, timeout, abort_done, req);
	}
	if (rc < 0) {
		free(req);
		st->failed++;
		note_error(st, "could not send the abort request");
		return;
	}
	st->refs++;
	st->aborts_out++;
}

/* Send (again) to the root and every target not yet idle, but the first
 * time not to the one the caller aborts itself. */
static void send_attempt(struct stop *st, int64_t now_ms)
{
	size_t i;

	st->attempt++;
	st->sent = st->failed = 0;
	st->deadline_ms = now_ms + st->timeout_ms;
	for (i = 0; i < st->n_targets; i++) {
		if (i != 0 && st->v.idle[i])
			continue;
		if (st->attempt == 1 && st->skipped != NULL &&
		    strcmp(st->skipped, st->targets[i]) == 0)
			continue;
		send_abort(st, st->targets[i]);
	}
}

/* Every request of the current attempt failed (none sent: the caller
 * aborts the only target itself, which is not a failure). */
static bool all_failed(const struct stop *st)
{
	return st->sent > 0 && st->failed == st->sent;
}

static void give_up(struct stop *st)
{
	const char *pending[4];
	char reason[512];
	size_t n = verify_pending(&st->v, pending, nitems(pending));

	if (all_failed(st))
		snprintf(reason, sizeof(reason), "the abort request failed (%d attempts): %s",
		    st->attempt, st->last_error != NULL ? st->last_error : "unknown error");
	else if (n == 0)
		snprintf(reason, sizeof(reason),
		    "output did not go quiet within %lld ms (%d attempts)",
		    (long long)st->timeout_ms, st->attempt);
	else
		snprintf(reason, sizeof(reason),
		    "%s did not report idle within %lld ms (%d attempts)%s%s", pending[0],
		    (long long)st->timeout_ms, st->attempt, st->last_error != NULL ? ": " : "",
		    st->last_error != NULL ? st->last_error : "");
	finish(st, false, reason);
}

static void check_done(void *arg, bool ok, int64_t now_ms);
static void step(struct stop *st, int64_t now_ms);

void engine_set_procs(struct engine *e, const struct procs_ops *ops, void *ctx)
{
	e->procs = ops;
	e->procs_ctx = ctx;
}

static void processes_done(void *arg, const struct wire_process *ends, size_t n, int64_t now_ms)
{
	struct stop *st = arg;
	struct engine *e = st->e;
	size_t i;

	engine_enter(e);
	st->ending = false;
	for (i = 0; i < n && st->n_processes < STOP_MAX_PROCESSES; i++)
		st->processes[st->n_processes++] = ends[i];
	if (!st->finished) {
		if (st->proven && verify_pending(&st->v, NULL, 0) == 0) {
			st->proven_ms = now_ms;
			finish(st, true, NULL);
		} else if (st->proven) {
			/* A child started meanwhile (no fence held): the
			 * proof starts over. */
			st->proven = false;
			step(st, now_ms);
		} else {
			/* Forced: the tools whose processes ended can now end
			 * their turn; the proof gets one more wait, whatever
			 * became of the last attempt's requests. */
			st->sent = st->failed = 0;
			st->deadline_ms = now_ms + st->timeout_ms;
			st->wake_ms = st->deadline_ms;
			step(st, now_ms);
		}
		engine_rearm(e);
	}
	stop_unref(st);
	engine_leave(e);
}

/* Ask for the processes of the tree's sessions (every one the table knows,
 * idle ones too: a tool of an earlier turn may have left one) to be ended;
 * false when there is none to wait for. */
static bool end_processes(struct stop *st, bool all)
{
	struct engine *e = st->e;
	struct session *kids[SESSION_TREE_MAX], *root;
	const char *ids[SESSION_TREE_MAX + 1];
	size_t n = 0, k, i;
	int rc;

	if (e->procs == NULL || st->n_processes >= STOP_MAX_PROCESSES)
		return false;
	/* The stop pins its targets: the root is in the table. */
	if ((root = session_table_find(e->sessions, st->server, st->targets[0])) == NULL)
		return false;
	ids[n++] = st->targets[0];
	k = session_table_descendants(e->sessions, root, kids, nitems(kids));
	for (i = 0; i < k && i < nitems(kids); i++)
		ids[n++] = session_id(kids[i]);
	rc = e->procs->end(e->procs_ctx, ids, n, all, STOP_MAX_PROCESSES - st->n_processes,
	    processes_done, st);
	if (rc < 0)
		log_warnx("stop %s: could not look for the processes its tools left",
		    st->targets[0]);
	if (rc <= 0)
		return false;
	log_info("stop %s: ending %d processes its tools started", st->targets[0], rc);
	st->ending = true;
	st->refs++;
	return true;
}

/* Every target is idle: the stop ends once what the tools left is gone. */
static void proven(struct stop *st, int64_t now_ms)
{
	/* A status check still asked for decides nothing any more: its late
	 * answer must not turn the proof into "not stopped". */
	st->checking = false;
	if (st->proven && st->ending)
		return;
	st->proven = true;
	st->proven_ms = now_ms;
	if (!end_processes(st, false))
		finish(st, true, NULL);
}

/* Ask OpenCode for the statuses of the tree's directory before saying not
 * stopped; false when it cannot be asked. */
static bool start_check(struct stop *st, int64_t now_ms)
{
	struct server *srv = st->server;

	st->checked = true;
	if (srv->dead || !srv->connected || srv->ops->check == NULL)
		return false;
	st->refs++;
	if (srv->ops->check(srv->priv, st->directory, check_done, st) < 0) {
		st->refs--;
		return false;
	}
	log_info("stop %s: no proof from events; asking OpenCode for the statuses", st->targets[0]);
	st->checking = true;
	st->check_until_ms = now_ms + STOP_CHECK_MS;
	return true;
}

/* The statuses were observed (or could not be had): every target idle is
 * proof enough; anything else is not stopped. */
static void check_done(void *arg, bool ok, int64_t now_ms)
{
	struct stop *st = arg;
	struct engine *e = st->e;

	engine_enter(e);
	if (st->checking && !st->finished) {
		st->checking = false;
		if (!ok)
			note_error(st, "OpenCode's status route failed too");
		if (ok && verify_pending(&st->v, NULL, 0) == 0) {
			log_info("stop %s: OpenCode's status route says every session is idle",
			    st->targets[0]);
			if (st->v.all_idle_ms == 0)
				st->v.all_idle_ms = now_ms;
			proven(st, now_ms);
		} else {
			give_up(st);
		}
		engine_rearm(e);
	}
	stop_unref(st);
	engine_leave(e);
}

/* Decide what happens now: proven, retry, check, give up, or wait. */
static void step(struct stop *st, int64_t now_ms)
{
	int64_t wake = st->deadline_ms;

	if (st->finished || st->ending)
		return;
	if (verify_poll(&st->v, now_ms, &wake) == VERIFY_DONE) {
		/* Idle, maybe by the shim's own abort, while one of ours (or the
		 * shim's, when ours made it idle) is still on its way: landing
		 * after the stop ended, it would abort the user's next turn (a
		 * prompt that came between two aborts is dropped). Waited for,
		 * up to the deadline; the shim's word only while it is there
		 * to send it. */
		if ((st->aborts_out > 0 || (st->caller != NULL && st->server->shim != 0)) &&
		    now_ms < st->deadline_ms) {
			st->wake_ms = st->deadline_ms;
			return;
		}
		proven(st, now_ms);
		return;
	}
	if (st->checking) {
		if (now_ms >= st->check_until_ms) {
			note_error(st, "OpenCode's status route did not answer in time");
			give_up(st);
			return;
		}
		st->wake_ms = wake < st->check_until_ms ? wake : st->check_until_ms;
		return;
	}
	if (now_ms >= st->deadline_ms || all_failed(st)) {
		if (st->attempt >= STOP_ATTEMPTS) {
			if (st->force && !st->forced) {
				st->forced = true;
				log_warnx(
				    "stop %s: no proof after attempt %d; ending the processes "
				    "its tools started (forced)",
				    st->targets[0], st->attempt);
				if (end_processes(st, true))
					return;
			}
			/* Only a missing idle can be made up for: output that
			 * never goes quiet is seen, not asked about. */
			if (!st->checked && verify_pending(&st->v, NULL, 0) > 0 &&
			    start_check(st, now_ms)) {
				st->wake_ms = st->check_until_ms;
				return;
			}
			give_up(st);
			return;
		}
		log_info("stop %s: no proof after attempt %d; sending the abort again",
		    st->targets[0], st->attempt);
		send_attempt(st, now_ms);
		wake = st->deadline_ms;
		verify_poll(&st->v, now_ms, &wake);
		/* Nothing could be sent: give up at the next tick, not inside
		 * whatever called us. */
		if (all_failed(st))
			wake = now_ms;
	}
	st->wake_ms = wake < st->deadline_ms ? wake : st->deadline_ms;
}

static void abort_done(void *arg, bool ok, const char *error, int64_t now_ms)
{
	struct abort_req *req = arg;
	struct stop *st = req->st;
	struct engine *e = st->e;

	engine_enter(e);
	st->aborts_out--;
	if (st->finished) {
		log_debug("stop %s: abort of %s answered after the stop ended", st->targets[0],
		    req->session);
	} else if (st->aborts_out == 0 && !st->ending && st->v.state == VERIFY_DONE) {
		/* The last answer a proven stop waited for. */
		log_debug("stop %s: abort of %s answered (%s)", st->targets[0], req->session,
		    ok ? "ok" : error);
		step(st, now_ms);
		engine_rearm(e);
	} else if (req->attempt != st->attempt) {
		/* Attempt 2 is out: what attempt 1 says counts for nothing. */
		log_debug("stop %s: attempt %d's abort of %s answered late (%s)", st->targets[0],
		    req->attempt, req->session, ok ? "ok" : error);
	} else if (ok) {
		log_debug("stop %s: abort of %s accepted", st->targets[0], req->session);
	} else {
		log_warnx("stop %s: abort of %s failed: %s", st->targets[0], req->session,
		    error != NULL ? error : "abort failed");
		st->failed++;
		note_error(st, error);
		if (all_failed(st))
			step(st, now_ms);
		engine_rearm(e);
	}
	free(req);
	stop_unref(st);
	engine_leave(e);
}

static struct stop *find_tree(struct engine *e, const struct server *srv, const char *root)
{
	struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished && st->server == srv && strcmp(st->targets[0], root) == 0)
			return st;
	return NULL;
}

static int add_waiter(struct stop *st, stop_done_cb done, void *arg)
{
	struct waiter *w;

	if (done == NULL)
		return 0;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	w->cb = done;
	w->arg = arg;
	w->next = st->waiters;
	st->waiters = w;
	return 0;
}

static int add_target(struct stop *st, const char *id)
{
	if (st->n_targets >= VERIFY_MAX_TARGETS)
		return -1;
	if ((st->targets[st->n_targets] = strdup(id)) == NULL)
		return -1;
	if (verify_add(&st->v, st->targets[st->n_targets]) < 0) {
		free(st->targets[st->n_targets]);
		return -1;
	}
	pin_target(st, id, true);
	note_background(st, st->n_targets++);
	return 0;
}

static void add_running_descendants(struct stop *st, struct session *root)
{
	struct session *kids[SESSION_TREE_MAX];
	size_t n, i;

	n = session_table_descendants(st->e->sessions, root, kids, nitems(kids));
	for (i = 0; i < n && i < nitems(kids); i++)
		if (session_status_running(session_status(kids[i])) &&
		    add_target(st, session_id(kids[i])) < 0)
			log_warnx("stop %s: too many running descendants; %s left out",
			    st->targets[0], session_id(kids[i]));
	if (n > nitems(kids))
		log_warnx("stop %s: a tree of %zu sessions; only the first %zu are looked at",
		    st->targets[0], n, nitems(kids));
}

struct stop *stop_start(struct engine *e, struct session *root, const char *origin,
    const char *aborted, int64_t timeout_ms, int64_t now_ms, stop_done_cb done, void *arg)
{
	struct server *srv = session_server(root);
	struct stop *st;
	bool failed = false;

	if (srv->dead)
		return NULL;
	if ((st = find_tree(e, srv, session_id(root))) != NULL)
		return add_waiter(st, done, arg) < 0 ? NULL : st;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->e = e;
	st->server = srv;
	st->origin = origin;
	st->timeout_ms = timeout_ms;
	st->started_ms = now_ms;
	st->refs = 1;
	st->directory = str_dup_or_null(session_directory(root), &failed);
	st->skipped = str_dup_or_null(aborted, &failed);
	/* Where the shim holds fences nothing can start the tree again, so
	 * idle is the proof: the quiet window is for where no fence holds. */
	st->fenced = srv->shim != 0 && srv->fences && e->fence != NULL;
	/* The watch is armed before any request goes out: OpenCode may report
	 * idle before it answers the abort. */
	verify_init(&st->v, st->fenced ? 0 : e->cfg->quiet_ms, now_ms);
	if (failed || add_target(st, session_id(root)) < 0 || add_waiter(st, done, arg) < 0) {
		if (st->n_targets > 0)
			pin_target(st, st->targets[0], false);
		stop_free(st);
		return NULL;
	}
	engine_enter(e);
	add_running_descendants(st, root);
	TAILQ_INSERT_HEAD(&e->stops, st, link);
	e->counters.aborts++;
	log_info("stopping %s on %s (%zu running descendants, origin %s)", st->targets[0], srv->url,
	    st->n_targets - 1, origin);
	/* Before the aborts, and on the connection relayed aborts take: the
	 * shim holds the fence before OpenCode can end a turn. An x's shim
	 * raised it at the x, on the session typed in, to be lifted there: a
	 * fence from here would name the root, and could come after the user's
	 * next message had lifted the x's. */
	if (st->fenced && strcmp(origin, STOP_ORIGIN_X) != 0)
		e->fence(e->fence_arg, srv->shim, (const char *const *)st->targets, st->n_targets);
	send_attempt(st, now_ms);
	if (e->procs != NULL)
		e->procs->warm(e->procs_ctx);
	/* Never finish inside stop_start: the caller still holds st. */
	st->wake_ms = all_failed(st) ? now_ms : st->deadline_ms;
	engine_rearm(e);
	engine_leave(e);
	return st;
}

void stop_abort_skipped(struct engine *e, const char *aborted, int64_t now_ms)
{
	struct stop *st;

	engine_enter(e);
	TAILQ_FOREACH(st, &e->stops, link) {
		if (st->finished || st->skipped == NULL || strcmp(st->skipped, aborted) != 0)
			continue;
		free(st->skipped);
		st->skipped = NULL;
		if (st->attempt == 1 && !st->checking) {
			log_info("stop %s: %s was not aborted by the shim; aborting it",
			    st->targets[0], aborted);
			send_abort(st, aborted);
		}
		step(st, now_ms);
	}
	engine_rearm(e);
	engine_leave(e);
}

void stop_await_caller(struct stop *st, const char *session)
{
	if (st->caller == NULL && !st->finished && (st->caller = strdup(session)) == NULL)
		log_warnx("stop %s: out of memory; not waiting for %s's own abort", st->targets[0],
		    session);
}

bool stop_shim_aborts(struct engine *e, const char *session)
{
	const struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished &&
		    ((st->caller != NULL && strcmp(st->caller, session) == 0) ||
			(st->skipped != NULL && strcmp(st->skipped, session) == 0)))
			return true;
	return false;
}

void stop_caller_done(struct engine *e, const char *session, int64_t now_ms)
{
	struct stop *st;

	engine_enter(e);
	TAILQ_FOREACH(st, &e->stops, link) {
		if (st->finished || st->caller == NULL || strcmp(st->caller, session) != 0)
			continue;
		free(st->caller);
		st->caller = NULL;
		step(st, now_ms);
	}
	engine_rearm(e);
	engine_leave(e);
}

void stops_shim_gone(struct engine *e, const struct server *srv, int64_t now_ms)
{
	struct stop *st;

	engine_enter(e);
	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished && st->server == srv && st->caller != NULL)
			step(st, now_ms);
	engine_rearm(e);
	engine_leave(e);
}

void stop_set_fence_sink(struct engine *e, stop_fence_cb cb, void *arg)
{
	e->fence = cb;
	e->fence_arg = arg;
}

bool stop_fence_hit(struct engine *e, struct server *srv, const char *id, enum fence_kind kind,
    const char **root)
{
	struct session *s = session_table_find(e->sessions, srv, id);
	struct stop *st;

	*root = NULL;
	if (s == NULL)
		return false;
	*root = session_id(session_table_root(e->sessions, s));
	if ((st = find_tree(e, srv, *root)) == NULL)
		return false;
	switch (kind) {
	case FENCE_TOOL:
		st->refused_tools++;
		break;
	case FENCE_REQUEST:
		st->refused_requests++;
		break;
	case FENCE_QUEUED:
		st->held++;
		break;
	}
	return true;
}

void stops_on_event(struct engine *e, struct server *srv, struct session *s, enum oc_kind kind,
    int64_t now_ms)
{
	struct session *root;
	const char *id = session_id(s);
	bool running = session_status_running(session_status(s));
	struct stop *st;
	int i;

	if (kind != OC_STATUS && kind != OC_PART)
		return;
	TAILQ_FOREACH(st, &e->stops, link) {
		if (st->finished || st->server != srv)
			continue;
		if ((i = verify_find(&st->v, id)) >= 0 && kind == OC_STATUS && running &&
		    st->v.idle[i]) {
			/* Something started it again after its abort took effect (a
			 * background subagent that ended just then prompts its parent
			 * with its result): abort it now, not at the next attempt. */
			log_info("stop %s: %s started again; aborting it again", st->targets[0],
			    id);
			send_abort(st, id);
		} else if (i < 0) {
			/* A child that started while its tree is being stopped. */
			if (kind != OC_STATUS || !running)
				continue;
			root = session_table_root(e->sessions, s);
			if (strcmp(session_id(root), st->targets[0]) != 0 || add_target(st, id) < 0)
				continue;
			log_info("stop %s: %s started meanwhile; aborting it too", st->targets[0],
			    id);
			verify_reopen(&st->v);
			send_abort(st, id);
		}
		if (kind == OC_STATUS)
			verify_on_status(&st->v, id, session_status(s) == SESSION_IDLE, now_ms);
		else
			verify_on_part(&st->v, id, now_ms);
		step(st, now_ms);
	}
}

void stops_tick(struct engine *e, int64_t now_ms)
{
	struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished && st->wake_ms <= now_ms)
			step(st, now_ms);
}

void engine_rearm(struct engine *e)
{
	const struct stop *st;
	int64_t at = -1;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished && !st->ending && (at < 0 || st->wake_ms < at))
			at = st->wake_ms;
	if (at == e->wake_ms)
		return;
	e->wake_ms = at;
	if (e->host.wake_at != NULL)
		e->host.wake_at(e->host.arg, at);
}

void stops_server_gone(struct engine *e, struct server *srv, const char *reason)
{
	struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished && st->server == srv)
			finish(st, false, reason);
}

void stops_shutdown(struct engine *e)
{
	struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished)
			finish(st, false, "ocstopd is shutting down");
}

bool stops_idle(const struct engine *e)
{
	const struct stop *st;

	TAILQ_FOREACH(st, &e->stops, link)
		if (!st->finished)
			return false;
	return true;
}

void stops_reap(struct engine *e)
{
	struct stop *st, *next;

	for (st = TAILQ_FIRST(&e->stops); st != NULL; st = next) {
		next = TAILQ_NEXT(st, link);
		if (st->finished && st->refs == 0) {
			TAILQ_REMOVE(&e->stops, st, link);
			stop_free(st);
		}
	}
}
