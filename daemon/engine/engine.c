#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/session.h"
#include "engine/engine-int.h"
#include "engine/notify.h"
#include "proto.h"

struct engine *engine_new(const struct config *cfg, const struct engine_host *host,
    size_t max_sessions, size_t max_session_bytes)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->cfg = cfg;
	e->host = *host;
	e->wake_ms = -1;
	TAILQ_INIT(&e->servers);
	TAILQ_INIT(&e->stops);
	e->sessions = session_table_new(max_sessions, max_session_bytes);
	e->notify = notify_new();
	if (e->sessions == NULL || e->notify == NULL) {
		engine_free(e);
		return NULL;
	}
	return e;
}

void engine_shutdown(struct engine *e)
{
	struct server *s;

	engine_enter(e);
	stops_shutdown(e);
	for (s = server_first(e); s != NULL; s = server_next(s))
		server_drop(s, "ocstopd is shutting down");
	if (e->procs != NULL)
		e->procs->flush(e->procs_ctx);
	engine_leave(e);
	/* Closing the backends answers their requests, which may still look
	 * for sessions (there are none of dropped servers): then the stops'
	 * last references are gone too. */
	engine_reap(e);
}

void engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	engine_shutdown(e);
	session_table_free(e->sessions);
	notify_free(e->notify);
	free(e);
}

void engine_reap(struct engine *e)
{
	e->reap_asked = false;
	servers_drop_pending(e);
	/* Closing a dropped server's backend answers its requests in flight:
	 * the last references to the stops they belong to go before those
	 * stops are looked at. */
	servers_reap(e);
	stops_reap(e);
}

void engine_tick(struct engine *e, int64_t now_ms)
{
	engine_enter(e);
	e->wake_ms = -1; /* the host's timer has fired */
	stops_tick(e, now_ms);
	engine_rearm(e);
	engine_leave(e);
}

bool engine_idle(const struct engine *e)
{
	return stops_idle(e);
}

struct session_table *engine_sessions(struct engine *e)
{
	return e->sessions;
}

struct notify *engine_notify(struct engine *e)
{
	return e->notify;
}

const struct config *engine_config(const struct engine *e)
{
	return e->cfg;
}

const struct engine_counters *engine_counters(const struct engine *e)
{
	return &e->counters;
}

void engine_notify_session(struct engine *e, int type, const struct session *s)
{
	struct notify_event ev = { .type = type, .session = s };

	notify_fire(e->notify, &ev);
}

/* A session the table could not take (why: session_table_apply()'s errno);
 * a flood of them is said as repeated failures, each as it is. */
static void untracked(struct engine *e, const struct server *srv, const char *id, int why,
    int64_t now_ms)
{
	if (why == ENOSPC)
		log_repeat_fail(&e->untracked, now_ms, ENOSPC,
		    "%s: cannot track session %s: the session table is full of sessions that run "
		    "or are being stopped (%zu sessions, %zu running, %zu bytes)",
		    server_url(srv), id, session_table_count(e->sessions),
		    session_table_running(e->sessions), session_table_bytes(e->sessions));
	else
		log_repeat_fail(&e->untracked, now_ms, ENOMEM,
		    "%s: cannot track session %s: out of memory", server_url(srv), id);
}

/* A new entry after some could not be made: say that the table takes them
 * again. */
static void tracked(struct engine *e, const struct session_change *c)
{
	uint64_t refused;

	if (!c->created || e->untracked.failures == 0)
		return;
	refused = log_repeat_ok(&e->untracked);
	log_info("the session table takes new sessions again (%zu sessions) after %llu could not "
		 "be tracked",
	    session_table_count(e->sessions), (unsigned long long)refused);
}

/* Running s names a parent the table has no entry for: make one (idle
 * until told otherwise) and learn what it is. A child outlives its parent's
 * turn (a background subagent runs on after its parent went idle): when the
 * daemon came up meanwhile, only the child was said to run, and without the
 * parent's entry its tree has no root to select and stop. Only for a
 * running s: the new entry is idle, so a server that names ever new parents
 * costs one lookup per running session, not an endless chain. */
static void learn_parent(struct engine *e, struct server *srv, struct session *s)
{
	const char *parent = session_parent(s);
	struct session *p;
	bool changed;

	if (parent == NULL || !session_status_running(session_status(s)) ||
	    session_table_find(e->sessions, srv, parent) != NULL)
		return;
	/* Making room must not take s, whose strings the new entry copies. */
	session_pin(e->sessions, s);
	p = session_table_set_status(e->sessions, srv, parent, session_directory(s), SESSION_IDLE,
	    &changed);
	session_unpin(e->sessions, s);
	if (p != NULL)
		server_lookup(srv, session_id(p), session_directory(p));
}

/* After a session changed: learn what it is, tell the stops, publish. */
static void after_change(struct engine *e, struct server *srv, const struct session_change *c,
    enum oc_kind kind, int64_t now_ms)
{
	struct session *s = c->session;

	if (c->created && !session_info_known(s))
		server_lookup(srv, session_id(s), session_directory(s));
	if (kind == OC_INFO)
		learn_parent(e, srv, s);
	stops_on_event(e, srv, s, kind, now_ms);
	if (kind == OC_INFO && c->created)
		engine_notify_session(e, NOTIFY_SESSION_CREATED, s);
	if (c->status_changed) {
		log_debug("%s: %s %s -> %s", server_url(srv), session_id(s),
		    session_status_name(c->old_status), session_status_name(session_status(s)));
		engine_notify_session(e, NOTIFY_SESSION_STATUS, s);
	}
}

void engine_observe_read(struct engine *e, struct server *srv, const char *directory,
    const struct oc_event *ev, int64_t now_ms)
{
	struct session_change change;
	struct session *s;

	if (server_dead(srv) || ev->kind == OC_NONE)
		return;
	engine_enter(e);
	/* Publish a deletion while the entry still says what it was. */
	if (ev->kind == OC_DELETED &&
	    (s = session_table_find(e->sessions, srv, ev->session_id)) != NULL)
		engine_notify_session(e, NOTIFY_SESSION_DELETED, s);
	if (session_table_apply(e->sessions, srv, directory, ev, &change) < 0) {
		untracked(e, srv, ev->session_id, errno, now_ms);
	} else if (change.session != NULL) {
		tracked(e, &change);
		after_change(e, srv, &change, ev->kind, now_ms);
	}
	engine_rearm(e);
	engine_leave(e);
}

void engine_observe_event(struct engine *e, struct server *srv, const char *directory,
    json_t *payload, int64_t now_ms)
{
	struct oc_event ev;

	if (!server_dead(srv) && oc_event_read(payload, &ev) != OC_NONE)
		engine_observe_read(e, srv, directory, &ev, now_ms);
}

/* One status from a resync. */
static void resync_one(struct engine *e, struct server *srv, const char *id, const char *directory,
    enum session_status status, int64_t now_ms)
{
	struct session_change change = { .session = session_table_find(e->sessions, srv, id) };

	change.created = change.session == NULL;
	change.old_status = change.session != NULL ? session_status(change.session) : SESSION_IDLE;
	change.session = session_table_set_status(e->sessions, srv, id, directory, status,
	    &change.status_changed);
	if (change.session == NULL) {
		untracked(e, srv, id, errno, now_ms);
		return;
	}
	tracked(e, &change);
	if (change.created || change.status_changed)
		after_change(e, srv, &change, OC_STATUS, now_ms);
}

void engine_observe_statuses(struct engine *e, struct server *srv, const char *directory,
    json_t *statuses, int64_t now_ms)
{
	enum session_status status;
	struct session *s, *next;
	const char *id;
	json_t *st;

	if (server_dead(srv) || !json_is_object(statuses))
		return;
	engine_enter(e);
	json_object_foreach(statuses, id, st) {
		/* A status this version does not understand changes nothing. */
		if (!proto_session_id_valid(id, strlen(id)) || oc_status_read(st, &status) < 0)
			continue;
		resync_one(e, srv, id, directory, status, now_ms);
	}
	for (s = directory != NULL ? session_table_first_running(e->sessions) : NULL; s != NULL;
	     s = next) {
		next = session_next_running(s);
		if (session_server(s) == srv && session_directory(s) != NULL &&
		    strcmp(session_directory(s), directory) == 0 &&
		    json_object_get(statuses, session_id(s)) == NULL) {
			log_debug("%s: resync: %s went idle unseen", server_url(srv),
			    session_id(s));
			resync_one(e, srv, session_id(s), directory, SESSION_IDLE, now_ms);
		}
	}
	engine_rearm(e);
	engine_leave(e);
}

static void merge_one(struct engine *e, struct server *srv, json_t *obj)
{
	struct oc_info info;
	struct session *s;

	if (oc_info_read(obj, &info) < 0 ||
	    (s = session_table_merge_info(e->sessions, srv, &info)) == NULL) {
		log_debug("%s: skipped a session in a listing", server_url(srv));
		return;
	}
	learn_parent(e, srv, s);
}

void engine_observe_sessions(struct engine *e, struct server *srv, json_t *sessions)
{
	json_t *obj;
	size_t i;

	if (server_dead(srv))
		return;
	engine_enter(e);
	if (json_is_array(sessions)) {
		json_array_foreach(sessions, i, obj)
			merge_one(e, srv, obj);
	} else {
		merge_one(e, srv, sessions);
	}
	engine_leave(e);
}
