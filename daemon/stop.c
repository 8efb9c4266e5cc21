#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "bus.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "stop.h"
#include "verify.h"

struct waiter {
	stop_done_cb cb;
	void *arg;
	struct waiter *next;
};

struct stop {
	uint64_t id;                 /* the token transports echo back */
	struct daemon *d;
	struct server *server;
	char *targets[VERIFY_MAX_TARGETS]; /* [0] is the root; verify borrows these */
	size_t n_targets;
	char *directory;
	struct verify v;
	int64_t started_ms;
	int64_t timeout_ms;
	int64_t deadline_ms;
	int attempt;
	size_t sent, failed;         /* abort requests of this attempt */
	char *last_error;
	const char *origin;
	struct event *timer;
	struct waiter *waiters;
	struct stop *next;
};

struct stop_list {
	struct stop *head;
	uint64_t next_id;
};

/* After shutdown freed the list, late reports (servers and clients going
 * away) find no stops instead of a NULL list. */
static struct stop *stops_head(struct daemon *d)
{
	return d->stops != NULL ? d->stops->head : NULL;
}

struct stop_list *stop_list_new(void)
{
	return calloc(1, sizeof(struct stop_list));
}

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
	if (st->timer != NULL)
		event_free(st->timer);
	free(st->directory);
	free(st->last_error);
	free(st);
}

static void stop_unlink(struct daemon *d, struct stop *st)
{
	struct stop **pp;

	for (pp = &d->stops->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			return;
		}
	}
}

static void fill_result(struct stop *st, struct stop_result *res, bool stopped, const char *reason)
{
	res->session = st->targets[0];
	res->server = st->server->url;
	res->stopped = stopped;
	res->children = (const char *const *)&st->targets[1];
	res->n_children = st->n_targets - 1;
	res->ms = st->v.all_idle_ms != 0 ? st->v.all_idle_ms - st->started_ms : -1;
	res->reason = reason;
	res->origin = st->origin;
}

void stop_pending_result(struct stop *st, struct stop_result *res)
{
	fill_result(st, res, false, "pending");
}

/* End the stop: tell the log, the subscribers and the waiters, then free. */
static void stop_finish(struct stop *st, bool stopped, const char *reason)
{
	struct daemon *d = st->d;
	struct stop_result res;
	struct waiter *w;

	stop_unlink(d, st);
	fill_result(st, &res, stopped, reason);
	if (stopped) {
		d->counters.verified++;
		log_info("stopped %s on %s (%zu children, origin %s) in %lld ms, verified", res.session,
		    res.server, res.n_children, res.origin, (long long)res.ms);
	} else {
		d->counters.not_stopped++;
		log_warnx("NOT stopped %s on %s (origin %s): %s", res.session, res.server, res.origin,
		    reason);
	}
	bus_stop(d, &res);
	for (w = st->waiters; w != NULL; w = w->next)
		if (w->cb != NULL)
			w->cb(d, &res, w->arg);
	stop_free(st);
}

static void send_abort(struct stop *st, const char *id)
{
	struct server *s = st->server;

	st->sent++;
	if (s->ops->abort(s, id, st->directory, st->id) < 0) {
		st->failed++;
		free(st->last_error);
		st->last_error = strdup("could not send the abort request");
	}
}

static void schedule(struct stop *st, int64_t at_ms)
{
	int64_t delay = at_ms - daemon_now_ms();
	struct timeval tv;

	if (delay < 0)
		delay = 0;
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(st->timer, &tv);
}

/* Send (again) to the root and every target not yet idle. */
static void send_attempt(struct stop *st)
{
	size_t i;

	st->attempt++;
	st->sent = st->failed = 0;
	st->deadline_ms = daemon_now_ms() + st->timeout_ms;
	for (i = 0; i < st->n_targets; i++)
		if (i == 0 || !st->v.idle[i])
			send_abort(st, st->targets[i]);
}

static void give_up(struct stop *st)
{
	const char *pending[4];
	char reason[512];
	size_t n = verify_pending(&st->v, pending, 4);

	if (st->sent > 0 && st->failed == st->sent)
		snprintf(reason, sizeof(reason), "the abort request failed (%d attempts): %s",
		    st->attempt, st->last_error != NULL ? st->last_error : "unknown error");
	else if (n == 0)
		snprintf(reason, sizeof(reason), "output did not go quiet within %lld ms (%d attempts)",
		    (long long)st->timeout_ms, st->attempt);
	else
		snprintf(reason, sizeof(reason), "%s did not report idle within %lld ms (%d attempts)%s%s",
		    pending[0], (long long)st->timeout_ms, st->attempt,
		    st->last_error != NULL ? ": " : "", st->last_error != NULL ? st->last_error : "");
	stop_finish(st, false, reason);
}

/* Decide what happens now: proven, retry, give up, or wait some more. */
static void stop_step(struct stop *st)
{
	int64_t now = daemon_now_ms(), wake = st->deadline_ms;

	if (verify_poll(&st->v, now, &wake) == VERIFY_DONE) {
		stop_finish(st, true, NULL);
		return;
	}
	if (now >= st->deadline_ms || (st->sent > 0 && st->failed == st->sent)) {
		if (st->attempt >= 2) {
			give_up(st);
			return;
		}
		log_info("stop %s: no proof after attempt %d; sending the abort again", st->targets[0],
		    st->attempt);
		send_attempt(st);
		wake = st->deadline_ms;
		verify_poll(&st->v, now, &wake);
	}
	schedule(st, wake < st->deadline_ms ? wake : st->deadline_ms);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	stop_step(arg);
}

static struct stop *stop_find_tree(struct daemon *d, struct server *server, const char *root)
{
	struct stop *st;

	for (st = d->stops->head; st != NULL; st = st->next)
		if (st->server == server && strcmp(st->targets[0], root) == 0)
			return st;
	return NULL;
}

static int add_waiter(struct stop *st, stop_done_cb done, void *arg)
{
	struct waiter *w;

	if (done == NULL)
		return 0;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
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
	st->n_targets++;
	return 0;
}

struct stop *stop_start(struct daemon *d, struct session *root, const char *origin,
    int64_t timeout_ms, stop_done_cb done, void *arg)
{
	struct session *kids[SESSION_TREE_MAX];
	struct stop *st = stop_find_tree(d, root->server, root->id);
	size_t n, i;

	if (st != NULL)
		return add_waiter(st, done, arg) < 0 ? NULL : st;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->d = d;
	st->id = ++d->stops->next_id;
	st->server = root->server;
	st->origin = origin;
	st->timeout_ms = timeout_ms;
	st->started_ms = daemon_now_ms();
	st->timer = evtimer_new(d->base, timer_cb, st);
	st->directory = root->directory != NULL ? strdup(root->directory) : NULL;
	/* The watch is armed before any request goes out: OpenCode may report
	 * idle before it answers the abort. */
	verify_init(&st->v, d->config->quiet_ms, st->started_ms);
	if (st->timer == NULL || (root->directory != NULL && st->directory == NULL) ||
	    add_target(st, root->id) < 0 || add_waiter(st, done, arg) < 0) {
		stop_free(st);
		return NULL;
	}
	n = session_table_descendants(d->sessions, root, kids, SESSION_TREE_MAX);
	for (i = 0; i < n && i < SESSION_TREE_MAX; i++)
		if (session_status_running(kids[i]->status) && add_target(st, kids[i]->id) < 0)
			log_warnx("stop %s: too many running descendants; %s left out", root->id, kids[i]->id);
	st->next = d->stops->head;
	d->stops->head = st;
	d->counters.aborts++;
	log_info("stopping %s on %s (%zu running descendants, origin %s)", root->id, root->server->url,
	    st->n_targets - 1, origin);
	send_attempt(st);
	/* Never finish inside stop_start: the caller still holds st. */
	schedule(st, st->failed == st->sent ? 0 : st->deadline_ms);
	return st;
}

void stop_observe(struct daemon *d, struct server *server, const struct session_event *ev)
{
	struct stop *st, *next;
	struct session *root;
	int64_t now = daemon_now_ms();

	if (ev->session == NULL)
		return;
	for (st = stops_head(d); st != NULL; st = next) {
		next = st->next;
		if (st->server != server)
			continue;
		if (verify_find(&st->v, ev->session->id) < 0) {
			/* A child that started while we were stopping its tree. */
			if (ev->kind != SEV_STATUS || !session_status_running(ev->session->status))
				continue;
			root = session_table_root(d->sessions, ev->session);
			if (strcmp(root->id, st->targets[0]) != 0 || add_target(st, ev->session->id) < 0)
				continue;
			send_abort(st, ev->session->id);
		}
		if (ev->kind == SEV_STATUS)
			verify_on_status(&st->v, ev->session->id, ev->session->status == SESSION_IDLE, now);
		else if (ev->kind == SEV_PART)
			verify_on_part(&st->v, ev->session->id, now);
		else
			continue;
		stop_step(st);
	}
}

void stop_on_abort_reply(struct daemon *d, uint64_t token, const char *session_id, bool ok,
    const char *error)
{
	struct stop *st;

	for (st = stops_head(d); st != NULL; st = st->next)
		if (st->id == token)
			break;
	if (st == NULL)
		return;
	if (ok) {
		log_debug("stop %s: abort of %s accepted", st->targets[0], session_id);
		return;
	}
	log_warnx("stop %s: abort of %s failed: %s", st->targets[0], session_id, error);
	st->failed++;
	free(st->last_error);
	st->last_error = strdup(error != NULL ? error : "abort failed");
	if (st->failed == st->sent)
		stop_step(st);
}

void stop_server_gone(struct daemon *d, struct server *server, const char *reason)
{
	struct stop *st, *next;

	for (st = stops_head(d); st != NULL; st = next) {
		next = st->next;
		if (st->server == server)
			stop_finish(st, false, reason);
	}
}

void stop_list_free(struct daemon *d)
{
	while (d->stops != NULL && d->stops->head != NULL)
		stop_finish(d->stops->head, false, "ocstopd is shutting down");
	free(d->stops);
	d->stops = NULL;
}

bool stop_list_idle(struct daemon *d)
{
	return stops_head(d) == NULL;
}
