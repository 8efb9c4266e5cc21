#include <string.h>

#include "bus.h"
#include "daemon.h"
#include "log.h"
#include "observe.h"
#include "server.h"
#include "session.h"
#include "stop.h"

static void after_change(struct daemon *d, struct server *srv, const struct session_event *ev)
{
	if (ev->created && !ev->session->info_known && srv->ops->lookup != NULL)
		srv->ops->lookup(srv, ev->session->id, ev->session->directory);
	stop_observe(d, srv, ev);
	if (ev->kind == SEV_INFO && ev->created)
		bus_session(d, "session.created", ev->session);
	if (ev->status_changed)
		bus_session(d, "session.status", ev->session);
}

void observe_event(struct daemon *d, struct server *srv, const char *directory, json_t *payload)
{
	struct session_event ev;

	if (session_table_apply(d->sessions, srv, directory, payload, daemon_now_ms(), &ev) < 0) {
		log_warnx("%s: out of memory tracking session %s", srv->url,
		    ev.session_id != NULL ? ev.session_id : "?");
		return;
	}
	if (ev.kind == SEV_NONE)
		return;
	if (ev.kind == SEV_DELETED) {
		bus_session_deleted(d, srv, ev.session_id);
		return;
	}
	if (ev.status_changed)
		log_debug("%s: %s %s -> %s", srv->url, ev.session->id, session_status_name(ev.old_status),
		    session_status_name(ev.session->status));
	after_change(d, srv, &ev);
}

static void set_status(struct daemon *d, struct server *srv, const char *id, const char *directory,
    enum session_status status)
{
	struct session_event ev = { .kind = SEV_STATUS, .type = "session.status", .session_id = id };
	struct session *s = session_table_find(d->sessions, srv, id);
	bool changed;

	ev.created = s == NULL;
	ev.old_status = s != NULL ? s->status : SESSION_IDLE;
	s = session_table_set_status(d->sessions, srv, id, directory, status, &changed);
	if (s == NULL)
		return;
	if (!changed && !ev.created)
		return;
	ev.session = s;
	ev.status_changed = changed;
	log_debug("%s: resync: %s is %s", srv->url, id, session_status_name(status));
	after_change(d, srv, &ev);
}

static enum session_status status_of(json_t *st)
{
	const char *type = json_string_value(json_object_get(st, "type"));

	if (type != NULL && strcmp(type, "busy") == 0)
		return SESSION_BUSY;
	if (type != NULL && strcmp(type, "retry") == 0)
		return SESSION_RETRY;
	return SESSION_IDLE;
}

void observe_statuses(struct daemon *d, struct server *srv, const char *directory, json_t *statuses)
{
	struct session *s, *next;
	const char *id;
	json_t *st;

	if (!json_is_object(statuses))
		return;
	json_object_foreach(statuses, id, st)
		set_status(d, srv, id, directory, status_of(st));
	if (directory == NULL)
		return;
	for (s = session_table_first(d->sessions); s != NULL; s = next) {
		next = s->next;
		if (s->server == srv && session_status_running(s->status) && s->directory != NULL &&
		    strcmp(s->directory, directory) == 0 && json_object_get(statuses, s->id) == NULL)
			set_status(d, srv, s->id, directory, SESSION_IDLE);
	}
}

void observe_sessions(struct daemon *d, struct server *srv, json_t *list)
{
	size_t i;
	json_t *info;

	json_array_foreach(list, i, info)
		if (session_table_merge_info(d->sessions, srv, info, daemon_now_ms()) == NULL)
			log_debug("%s: skipped a session in a listing", srv->url);
}
