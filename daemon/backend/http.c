/*
 *   checking --200--> streaming --stream ends--> backoff --timer--> checking
 *      \--error/401-------------------------------^
 *
 * A server nobody configured and no shim stands for is dropped by the engine
 * when its link fails (server_link_down); the backend then stops retrying.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "backend/http.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/opencode.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "io/http.h"
#include "io/sse.h"
#include "proto.h"

/* OpenCode never answers a request that connects in its first ~300 ms: a
 * health check waits PROBE_TIMEOUT_MIN_MS, then twice as long after each one
 * that timed out, up to PROBE_TIMEOUT_MS, for an OpenCode that is only slow. */
#define PROBE_TIMEOUT_MIN_MS 250
#define PROBE_TIMEOUT_MS 1000
#define REQUEST_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000
#define STREAM_SILENCE_S 25 /* OpenCode sends a heartbeat every 10 s */
/* The wait before the next health check doubles from the least; in the first
 * BACKOFF_FAST_FOR_MS of an outage (OpenCode restarting takes 2-3 s) it is at
 * most BACKOFF_FAST_MAX_MS, so a server that is back is reached within that;
 * a server that stays down is checked once every BACKOFF_MAX_MS. */
#define BACKOFF_MIN_MS 100
#define BACKOFF_FAST_MAX_MS 250
#define BACKOFF_FAST_FOR_MS 30000
#define BACKOFF_MAX_MS 2000
#define MAX_EVENT (4u << 20)
#define MAX_AUX 128        /* resync, lookup, probe and abort requests in flight */
#define MAX_RESYNC_DIRS 64 /* directories asked about after a reconnect */

enum aux_kind { AUX_ABORT, AUX_STATUS, AUX_CHECK, AUX_LOOKUP, AUX_PROBE_SESSION, AUX_PROBE_STATUS };

/* A short request in flight. Its callback, when it has one, is answered
 * exactly once: by the reply, or by the link's close. */
struct aux {
	struct link *l;
	enum aux_kind kind;
	struct http_req *req;
	char *session;
	char *directory;
	abort_done_cb abort_done; /* AUX_ABORT */
	probe_done_cb probe_done; /* AUX_PROBE_* */
	check_done_cb check_done; /* AUX_CHECK */
	void *arg;
	TAILQ_ENTRY(aux) entry;
};

struct link {
	struct server *srv;
	struct engine *e;
	struct event_base *base;
	struct http *http;
	struct http_req *health;
	struct http_req *stream;
	struct sse_parser *sse;
	struct event *retry;
	int backoff_ms;
	int64_t down_since_ms; /* when the link last failed after working; 0: up */
	int64_t check_ms;      /* when the last health check started */
	int probe_ms;          /* the next health check's timeout */
	bool stream_live;      /* an event arrived on the current stream */
	struct oc_frame frame; /* the last event read without jansson */
	TAILQ_HEAD(, aux) aux;
	size_t n_aux;
};

static void health_check(struct link *l);

/* Percent-encode a query value into out (bounded); -1 when it does not fit. */
static int url_escape(const char *in, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char ch = (unsigned char)*in;

		if (o + 4 > size)
			return -1;
		if (isalnum(ch) || strchr("-._~/", ch) != NULL) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

/* Session ids go into URL paths: accept only what OpenCode makes. */
static bool valid_session_id(const char *id)
{
	return proto_session_id_valid(id, strlen(id));
}

static void fill_opts(struct link *l, struct http_opts *o, const char *url)
{
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->username = server_username(l->srv);
	o->password = server_password(l->srv);
	o->connect_timeout_ms = CONNECT_TIMEOUT_MS;
	o->timeout_ms = REQUEST_TIMEOUT_MS;
}

/* waited_ms: how long the attempt that failed took, part of the wait. */
static void link_failed(struct link *l, int64_t waited_ms)
{
	int64_t now = clock_now_ms();
	struct timeval tv;
	int64_t wait;

	l->stream_live = false;
	if (!server_link_down(l->srv))
		return;
	if (l->down_since_ms == 0)
		l->down_since_ms = now;
	wait = l->backoff_ms;
	if (now - l->down_since_ms < BACKOFF_FAST_FOR_MS && wait > BACKOFF_FAST_MAX_MS)
		wait = BACKOFF_FAST_MAX_MS;
	wait = wait > waited_ms ? wait - waited_ms : 0;
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (wait % 1000) * 1000;
	evtimer_add(l->retry, &tv);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* What to do about a 401, and where: the password is the daemon's (its
 * environment or config file, read at start) or the one the ocstop plugin
 * registered from OpenCode's own environment; the shell that runs ocstop
 * has no say. */
static const char *unauthorized_hint(const struct server *srv)
{
	if (server_shim(srv) != 0)
		return "OpenCode refused the password its ocstop plugin registered: restart that "
		       "OpenCode so that the plugin registers again";
	if (server_password(srv) == NULL)
		return "ocstopd has no password for it: give ocstopd OPENCODE_SERVER_PASSWORD in "
		       "its environment or password_file in its config file and restart ocstopd, "
		       "or load the ocstop plugin in that OpenCode, which hands ocstopd its password";
	return "ocstopd's password for it is wrong: fix OPENCODE_SERVER_PASSWORD in ocstopd's "
	       "environment or its password_file, then restart ocstopd";
}

static void report_failure(struct link *l, const char *what, const struct http_result *res)
{
	if (res->ok && res->status == 401)
		server_set_error(l->srv, clock_now_ms(), "%s: 401 unauthorized (%s)", what,
		    unauthorized_hint(l->srv));
	else if (res->ok)
		server_set_error(l->srv, clock_now_ms(), "%s: HTTP %ld", what, res->status);
	else
		server_set_error(l->srv, clock_now_ms(), "%s: %s", what,
		    res->error != NULL ? res->error : "failed");
}

static struct aux *aux_new(struct link *l, enum aux_kind kind, const char *session,
    const char *directory)
{
	struct aux *a;

	if (l->n_aux >= MAX_AUX || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->l = l;
	a->kind = kind;
	a->session = session != NULL ? strdup(session) : NULL;
	a->directory = directory != NULL ? strdup(directory) : NULL;
	if ((session != NULL && a->session == NULL) ||
	    (directory != NULL && a->directory == NULL)) {
		free(a->session);
		free(a->directory);
		free(a);
		return NULL;
	}
	return a;
}

static void aux_free(struct aux *a)
{
	free(a->session);
	free(a->directory);
	free(a);
}

static void aux_unlink(struct aux *a)
{
	TAILQ_REMOVE(&a->l->aux, a, entry);
	a->l->n_aux--;
}

static json_t *parse_body(const struct http_result *res)
{
	return json_loadb(res->body, res->body_len, 0, NULL);
}

static int start_status(struct link *l, enum aux_kind kind, const char *directory,
    probe_done_cb done, void *arg);

/* A probe's two steps: the session (for its directory), then that
 * directory's statuses. The chain ends, and its caller is told, at the first
 * step that fails or after the second. OpenCode answers 404 for a session it
 * does not have; anything else that is not the session says nothing of it. */
static void probe_step(struct link *l, struct aux *a, const struct http_result *res)
{
	bool ok = res->ok && res->status == 200;
	json_t *body = ok ? parse_body(res) : NULL;
	const char *dir = json_string_value(json_object_get(body, "directory"));
	enum probe_outcome outcome = PROBE_FOUND;
	int64_t now = clock_now_ms();

	if (a->kind == AUX_PROBE_SESSION && body != NULL && dir != NULL) {
		engine_observe_sessions(l->e, l->srv, body);
		if (start_status(l, AUX_PROBE_STATUS, dir, a->probe_done, a->arg) == 0) {
			json_decref(body);
			return;
		}
	} else if (a->kind == AUX_PROBE_STATUS) {
		if (body != NULL)
			engine_observe_statuses(l->e, l->srv, a->directory, body, now);
	} else if (res->ok && res->status == 404) {
		outcome = PROBE_NOT_FOUND;
	} else {
		outcome = PROBE_FAILED;
	}
	json_decref(body);
	a->probe_done(a->arg, outcome, now);
}

static void aux_done(const struct http_result *res, void *arg)
{
	struct aux *a = arg;
	struct link *l = a->l;
	bool ok = res->ok && res->status == 200;
	char err[768];
	json_t *body;

	aux_unlink(a);
	switch (a->kind) {
	case AUX_ABORT:
		if (!ok && res->ok)
			snprintf(err, sizeof(err), "HTTP %ld from %s%s%s", res->status,
			    server_url(l->srv), res->status == 401 ? ": " : "",
			    res->status == 401 ? unauthorized_hint(l->srv) : "");
		else if (!ok)
			snprintf(err, sizeof(err), "%s: %s", server_url(l->srv), res->error);
		a->abort_done(a->arg, ok, ok ? NULL : err, clock_now_ms());
		break;
	case AUX_PROBE_SESSION:
	case AUX_PROBE_STATUS:
		probe_step(l, a, res);
		break;
	case AUX_CHECK:
		if (ok && (body = parse_body(res)) != NULL) {
			engine_observe_statuses(l->e, l->srv, a->directory, body, clock_now_ms());
			json_decref(body);
		} else {
			ok = false;
		}
		a->check_done(a->arg, ok, clock_now_ms());
		break;
	case AUX_STATUS:
	case AUX_LOOKUP:
		if (!ok || (body = parse_body(res)) == NULL) {
			log_debug("%s: %s request failed", server_url(l->srv),
			    a->kind == AUX_STATUS ? "status" : "session");
			break;
		}
		if (a->kind == AUX_STATUS)
			engine_observe_statuses(l->e, l->srv, a->directory, body, clock_now_ms());
		else
			engine_observe_sessions(l->e, l->srv, body);
		json_decref(body);
		break;
	}
	aux_free(a);
}

static int aux_start(struct link *l, struct aux *a, const char *url, const char *method,
    long timeout_ms)
{
	struct http_opts o;

	fill_opts(l, &o, url);
	o.method = method;
	o.timeout_ms = timeout_ms;
	o.on_done = aux_done;
	o.arg = a;
	if ((a->req = http_start(l->http, &o)) == NULL) {
		aux_free(a);
		return -1;
	}
	TAILQ_INSERT_TAIL(&l->aux, a, entry);
	l->n_aux++;
	return 0;
}

static int http_abort(void *priv, const char *session_id, const char *directory, int64_t timeout_ms,
    abort_done_cb cb, void *arg)
{
	struct link *l = priv;
	char url[1024];
	struct aux *a;

	(void)directory; /* OpenCode finds a session's directory from its id */
	if (!valid_session_id(session_id) || (a = aux_new(l, AUX_ABORT, session_id, NULL)) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/session/%s/abort", server_url(l->srv), session_id);
	a->abort_done = cb;
	a->arg = arg;
	return aux_start(l, a, url, "POST",
	    timeout_ms > CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS);
}

/* GET /session/status for a->directory (NULL: the server's default); a is
 * made by the caller, with its callback set. */
static int send_status(struct link *l, struct aux *a)
{
	char url[6144], q[4096 + 64];

	if (a->directory != NULL && url_escape(a->directory, q, sizeof(q)) < 0) {
		aux_free(a);
		return -1;
	}
	snprintf(url, sizeof(url), "%s/session/status%s%s", server_url(l->srv),
	    a->directory != NULL ? "?directory=" : "", a->directory != NULL ? q : "");
	return aux_start(l, a, url, "GET", REQUEST_TIMEOUT_MS);
}

/* done and arg are for probes only. */
static int start_status(struct link *l, enum aux_kind kind, const char *directory,
    probe_done_cb done, void *arg)
{
	struct aux *a = aux_new(l, kind, NULL, directory);

	if (a == NULL)
		return -1;
	a->probe_done = done;
	a->arg = arg;
	return send_status(l, a);
}

/* GET /session/:id. done and arg are for probes only. */
static int start_session(struct link *l, enum aux_kind kind, const char *session_id,
    probe_done_cb done, void *arg)
{
	char url[1024];
	struct aux *a;

	if (!valid_session_id(session_id) || (a = aux_new(l, kind, session_id, NULL)) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/session/%s", server_url(l->srv), session_id);
	a->probe_done = done;
	a->arg = arg;
	return aux_start(l, a, url, "GET", REQUEST_TIMEOUT_MS);
}

static void http_resync(void *priv, const char *directory)
{
	start_status(priv, AUX_STATUS, directory, NULL, NULL);
}

static int http_check(void *priv, const char *directory, check_done_cb done, void *arg)
{
	struct link *l = priv;
	struct aux *a = aux_new(l, AUX_CHECK, NULL, directory);

	if (a == NULL)
		return -1;
	a->check_done = done;
	a->arg = arg;
	return send_status(l, a);
}

static void http_lookup(void *priv, const char *session_id, const char *directory)
{
	(void)directory; /* OpenCode finds a session's directory from its id */
	start_session(priv, AUX_LOOKUP, session_id, NULL, NULL);
}

static int http_probe(void *priv, const char *session_id, probe_done_cb done, void *arg)
{
	return start_session(priv, AUX_PROBE_SESSION, session_id, done, arg);
}

/* After a (re)connect: what ran while we were not listening? Ask for the
 * server's default directory and every directory seen on it so far. */
static void resync_all(struct link *l)
{
	struct session_table *t = engine_sessions(l->e);
	const char *seen[MAX_RESYNC_DIRS], *dir;
	struct session *s;
	size_t n = 0, i;

	http_resync(l, NULL);
	for (s = session_table_first(t); s != NULL && n < MAX_RESYNC_DIRS; s = session_next(s)) {
		if (session_server(s) != l->srv || (dir = session_directory(s)) == NULL)
			continue;
		for (i = 0; i < n && strcmp(seen[i], dir) != 0; i++)
			;
		if (i == n)
			seen[n++] = dir;
	}
	for (i = 0; i < n; i++)
		http_resync(l, seen[i]);
}

/* The first event on a stream: the link works. */
static void stream_alive(struct link *l)
{
	if (l->stream_live)
		return;
	l->stream_live = true;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->down_since_ms = 0;
	l->probe_ms = PROBE_TIMEOUT_MIN_MS;
	server_set_connected(l->srv, true);
	resync_all(l);
}

static void on_sse_event(const char *data, size_t len, void *arg)
{
	struct link *l = arg;
	json_t *frame, *payload;

	/* Most events of a streaming turn need no JSON tree. */
	if (oc_frame_read_delta(data, len, &l->frame) > 0) {
		stream_alive(l);
		engine_observe_read(l->e, l->srv, l->frame.directory, &l->frame.ev, clock_now_ms());
		return;
	}
	if ((frame = json_loadb(data, len, 0, NULL)) == NULL) {
		log_debug("%s: unparsable event skipped", server_url(l->srv));
		return;
	}
	stream_alive(l);
	payload = json_object_get(frame, "payload");
	if (json_is_object(payload))
		engine_observe_event(l->e, l->srv,
		    json_string_value(json_object_get(frame, "directory")), payload,
		    clock_now_ms());
	json_decref(frame);
}

static int stream_data(const char *buf, size_t len, void *arg)
{
	struct link *l = arg;

	return sse_parser_feed(l->sse, buf, len) < 0 ? -1 : 0;
}

static void stream_done(const struct http_result *res, void *arg)
{
	struct link *l = arg;

	l->stream = NULL;
	if (res->ok && res->status != 200)
		report_failure(l, "event stream", res);
	else
		server_set_error(l->srv, clock_now_ms(), "event stream ended: %s",
		    res->ok ? "closed by OpenCode" : res->error);
	link_failed(l, 0);
}

static void start_stream(struct link *l)
{
	char url[1024];
	struct http_opts o;

	snprintf(url, sizeof(url), "%s/global/event", server_url(l->srv));
	fill_opts(l, &o, url);
	o.timeout_ms = 0;
	o.low_speed_time_s = STREAM_SILENCE_S;
	o.on_data = stream_data;
	o.on_done = stream_done;
	o.arg = l;
	sse_parser_reset(l->sse);
	if ((l->stream = http_start(l->http, &o)) == NULL) {
		server_set_error(l->srv, clock_now_ms(), "cannot start the event stream: %s",
		    http_error(l->http));
		link_failed(l, 0);
	}
}

static void health_done(const struct http_result *res, void *arg)
{
	struct link *l = arg;
	int64_t took = clock_now_ms() - l->check_ms;
	const char *version;
	json_t *body;

	l->health = NULL;
	if (!res->ok || res->status != 200) {
		report_failure(l, "health check", res);
		if (!res->ok && took >= l->probe_ms)
			l->probe_ms =
			    l->probe_ms * 2 > PROBE_TIMEOUT_MS ? PROBE_TIMEOUT_MS : l->probe_ms * 2;
		link_failed(l, took);
		return;
	}
	if ((body = parse_body(res)) != NULL) {
		if ((version = json_string_value(json_object_get(body, "version"))) != NULL)
			server_set_version(l->srv, version);
		json_decref(body);
	}
	start_stream(l);
}

static void health_check(struct link *l)
{
	char url[1024];
	struct http_opts o;

	snprintf(url, sizeof(url), "%s/global/health", server_url(l->srv));
	fill_opts(l, &o, url);
	o.timeout_ms = l->probe_ms;
	o.on_done = health_done;
	o.arg = l;
	l->check_ms = clock_now_ms();
	if ((l->health = http_start(l->http, &o)) == NULL) {
		server_set_error(l->srv, clock_now_ms(), "cannot start the health check: %s",
		    http_error(l->http));
		link_failed(l, 0);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_check(arg);
}

static void http_close(void *priv)
{
	struct link *l = priv;
	struct aux *a;
	int64_t now = clock_now_ms();

	if (l->health != NULL)
		http_cancel(l->health);
	if (l->stream != NULL)
		http_cancel(l->stream);
	while ((a = TAILQ_FIRST(&l->aux)) != NULL) {
		aux_unlink(a);
		http_cancel(a->req);
		if (a->kind == AUX_ABORT)
			a->abort_done(a->arg, false, "the server was removed", now);
		else if (a->kind == AUX_PROBE_SESSION || a->kind == AUX_PROBE_STATUS)
			a->probe_done(a->arg,
			    a->kind == AUX_PROBE_STATUS ? PROBE_FOUND : PROBE_FAILED, now);
		else if (a->kind == AUX_CHECK)
			a->check_done(a->arg, false, now);
		aux_free(a);
	}
	if (l->retry != NULL)
		event_free(l->retry);
	sse_parser_free(l->sse);
	free(l);
}

static int http_open(struct server *s, void *ctx, void *channel, void **priv)
{
	const struct backend_http_ctx *c = ctx;
	struct timeval now = { 0, 0 };
	struct link *l = calloc(1, sizeof(*l));

	(void)channel;
	if (l == NULL)
		return -1;
	l->srv = s;
	l->e = server_engine(s);
	l->base = c->base;
	l->http = c->http;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->probe_ms = PROBE_TIMEOUT_MIN_MS;
	TAILQ_INIT(&l->aux);
	l->sse = sse_parser_new(MAX_EVENT, on_sse_event, l);
	l->retry = evtimer_new(c->base, retry_cb, l);
	/* The first check starts from the loop, not inside server_attach. */
	if (l->sse == NULL || l->retry == NULL || evtimer_add(l->retry, &now) < 0) {
		http_close(l);
		return -1;
	}
	*priv = l;
	return 0;
}

const struct backend_ops backend_http_ops = {
	.open = http_open,
	.close = http_close,
	.abort = http_abort,
	.resync = http_resync,
	.lookup = http_lookup,
	.probe = http_probe,
	.check = http_check,
};
