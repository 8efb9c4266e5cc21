/*
 * The HTTP transport: check /global/health, hold one /global/event stream,
 * resynchronise statuses after every (re)connect, and send aborts as
 * POST /session/:id/abort. Reconnects with capped backoff.
 *
 *   checking --200--> streaming --stream ends--> backoff --timer--> checking
 *      \--error/401--------------------------------^
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "daemon.h"
#include "http.h"
#include "log.h"
#include "observe.h"
#include "server.h"
#include "session.h"
#include "sse.h"
#include "stop.h"

#define PROBE_TIMEOUT_MS 1000   /* OpenCode never answers requests made while it starts */
#define REQUEST_TIMEOUT_MS 3000
#define CONNECT_TIMEOUT_MS 1000
#define STREAM_SILENCE_S 25     /* OpenCode sends a heartbeat every 10 s */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define MAX_EVENT (4u << 20)
#define MAX_AUX 128             /* resync, lookup and abort requests in flight */
#define MAX_ID 128

enum aux_kind { AUX_ABORT, AUX_STATUS, AUX_LOOKUP, AUX_PROBE_SESSION, AUX_PROBE_STATUS };

/* A short request in flight, cancelled if the server goes away. */
struct aux {
	struct http_link *link;
	enum aux_kind kind;
	struct http_req *req;
	char *session;
	char *directory;
	uint64_t token;
	probe_done_cb probe_done;  /* probes: told once the chain ends */
	void *probe_arg;
	struct aux *next;
};

struct http_link {
	struct server *srv;
	struct http_req *health;
	struct http_req *stream;
	struct sse_parser *sse;
	struct event *retry;
	int backoff_ms;
	bool stream_live;      /* an event arrived on the current stream */
	struct aux *aux;
	size_t n_aux;
};

static void health_check(struct http_link *l);

static struct daemon *link_daemon(struct http_link *l)
{
	return l->srv->d;
}

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
	size_t n = strlen(id), i;

	if (n == 0 || n > MAX_ID)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' && id[i] != '-')
			return false;
	return true;
}

static void fill_opts(struct http_link *l, struct http_opts *o, const char *url)
{
	memset(o, 0, sizeof(*o));
	o->url = url;
	o->username = l->srv->username;
	o->password = l->srv->password;
	o->connect_timeout_ms = CONNECT_TIMEOUT_MS;
	o->timeout_ms = REQUEST_TIMEOUT_MS;
}

static void remove_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = ((struct server *)arg)->d;
	struct server *s;

	(void)fd;
	(void)what;
	/* The server may have gone another way meanwhile. */
	for (s = server_list_first(d->servers); s != NULL; s = s->next)
		if (s == arg)
			server_remove(d, s, "its plugin disconnected and HTTP fails");
}

static void link_failed(struct http_link *l)
{
	struct timeval tv;

	l->stream_live = false;
	if (!l->srv->configured && l->srv->shim_client == 0) {
		/* We are inside one of this server's callbacks: remove it later. */
		event_base_once(link_daemon(l)->base, -1, EV_TIMEOUT, remove_later_cb, l->srv, NULL);
		return;
	}
	tv.tv_sec = l->backoff_ms / 1000;
	tv.tv_usec = (l->backoff_ms % 1000) * 1000;
	evtimer_add(l->retry, &tv);
	l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static void report_failure(struct http_link *l, const char *what, const struct http_result *res)
{
	if (res->ok && res->status == 401)
		server_set_error(l->srv, "%s: 401 unauthorized (wrong or missing password: set "
		    "OPENCODE_SERVER_PASSWORD or password_file)", what);
	else if (res->ok)
		server_set_error(l->srv, "%s: HTTP %ld", what, res->status);
	else
		server_set_error(l->srv, "%s: %s", what, res->error != NULL ? res->error : "failed");
}

/* Aux requests. */

static struct aux *aux_new(struct http_link *l, enum aux_kind kind, const char *session,
    const char *directory)
{
	struct aux *a;

	if (l->n_aux >= MAX_AUX)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->link = l;
	a->kind = kind;
	a->session = session != NULL ? strdup(session) : NULL;
	a->directory = directory != NULL ? strdup(directory) : NULL;
	if ((session != NULL && a->session == NULL) || (directory != NULL && a->directory == NULL)) {
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
	struct aux **pp;

	for (pp = &a->link->aux; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			a->link->n_aux--;
			return;
		}
	}
}

static int start_status(struct http_link *l, enum aux_kind kind, const char *directory,
    probe_done_cb done, void *arg);

static json_t *parse_body(const struct http_result *res)
{
	return json_loadb(res->body, res->body_len, 0, NULL);
}

/* A probe's two steps: the session (for its directory), then that
 * directory's statuses. The chain ends, and its caller is told, at the first
 * step that fails or after the second. */
static void probe_step(struct http_link *l, struct aux *a, json_t *body)
{
	struct daemon *d = link_daemon(l);
	const char *dir = json_string_value(json_object_get(body, "directory"));

	if (a->kind == AUX_PROBE_SESSION && body != NULL && dir != NULL) {
		json_t *one = json_array();

		if (one != NULL && json_array_append(one, body) == 0)
			observe_sessions(d, l->srv, one);
		json_decref(one);
		if (start_status(l, AUX_PROBE_STATUS, dir, a->probe_done, a->probe_arg) == 0) {
			json_decref(body);
			return;
		}
	} else if (a->kind == AUX_PROBE_STATUS && body != NULL) {
		observe_statuses(d, l->srv, a->directory, body);
	}
	json_decref(body);
	a->probe_done(d, a->probe_arg);
}

static void aux_done(const struct http_result *res, void *arg)
{
	struct aux *a = arg;
	struct http_link *l = a->link;
	struct daemon *d = link_daemon(l);
	bool ok = res->ok && res->status == 200;
	char err[256];
	json_t *body;

	aux_unlink(a);
	switch (a->kind) {
	case AUX_ABORT:
		if (!ok) {
			if (res->ok)
				snprintf(err, sizeof(err), "HTTP %ld from %s%s", res->status, l->srv->url,
				    res->status == 401 ? " (wrong password?)" : "");
			else
				snprintf(err, sizeof(err), "%s: %s", l->srv->url, res->error);
		}
		stop_on_abort_reply(d, a->token, a->session, ok, ok ? NULL : err);
		break;
	case AUX_PROBE_SESSION:
	case AUX_PROBE_STATUS:
		probe_step(l, a, ok ? parse_body(res) : NULL);
		break;
	case AUX_STATUS:
	case AUX_LOOKUP:
		if (!ok) {
			log_debug("%s: %s request failed", l->srv->url,
			    a->kind == AUX_STATUS ? "status" : "session");
			break;
		}
		if ((body = parse_body(res)) == NULL)
			break;
		if (a->kind == AUX_STATUS) {
			observe_statuses(d, l->srv, a->directory, body);
		} else {
			json_t *one = json_array();

			if (one != NULL && json_array_append(one, body) == 0)
				observe_sessions(d, l->srv, one);
			json_decref(one);
		}
		json_decref(body);
		break;
	}
	aux_free(a);
}

static int aux_start(struct http_link *l, struct aux *a, const char *url, const char *method)
{
	struct http_opts o;

	fill_opts(l, &o, url);
	o.method = method;
	o.on_done = aux_done;
	o.arg = a;
	a->req = http_start(link_daemon(l)->http, &o);
	if (a->req == NULL) {
		aux_free(a);
		return -1;
	}
	a->next = l->aux;
	l->aux = a;
	l->n_aux++;
	return 0;
}

static int http_abort(struct server *s, const char *session_id, const char *directory, uint64_t token)
{
	struct http_link *l = s->priv;
	char url[1024];
	struct aux *a;

	(void)directory; /* OpenCode finds a session's directory from its id */
	if (!valid_session_id(session_id))
		return -1;
	snprintf(url, sizeof(url), "%s/session/%s/abort", s->url, session_id);
	if ((a = aux_new(l, AUX_ABORT, session_id, NULL)) == NULL)
		return -1;
	a->token = token;
	return aux_start(l, a, url, "POST");
}

/* GET /session/status for directory (NULL: the server's default). done and
 * arg are for probes only. */
static int start_status(struct http_link *l, enum aux_kind kind, const char *directory,
    probe_done_cb done, void *arg)
{
	char url[6144], q[4096 + 64];
	struct aux *a;

	if (directory != NULL && url_escape(directory, q, sizeof(q)) < 0)
		return -1;
	snprintf(url, sizeof(url), "%s/session/status%s%s", l->srv->url,
	    directory != NULL ? "?directory=" : "", directory != NULL ? q : "");
	if ((a = aux_new(l, kind, NULL, directory)) == NULL)
		return -1;
	a->probe_done = done;
	a->probe_arg = arg;
	return aux_start(l, a, url, "GET");
}

/* GET /session/:id. done and arg are for probes only. */
static int start_session(struct http_link *l, enum aux_kind kind, const char *session_id,
    probe_done_cb done, void *arg)
{
	char url[1024];
	struct aux *a;

	if (!valid_session_id(session_id))
		return -1;
	snprintf(url, sizeof(url), "%s/session/%s", l->srv->url, session_id);
	if ((a = aux_new(l, kind, session_id, NULL)) == NULL)
		return -1;
	a->probe_done = done;
	a->probe_arg = arg;
	return aux_start(l, a, url, "GET");
}

static void http_resync(struct server *s, const char *directory)
{
	start_status(s->priv, AUX_STATUS, directory, NULL, NULL);
}

static void http_lookup(struct server *s, const char *session_id, const char *directory)
{
	(void)directory; /* OpenCode finds a session's directory from its id */
	start_session(s->priv, AUX_LOOKUP, session_id, NULL, NULL);
}

static int http_probe(struct server *s, const char *session_id, probe_done_cb done, void *arg)
{
	if (!s->connected)
		return -1;
	return start_session(s->priv, AUX_PROBE_SESSION, session_id, done, arg);
}

/* After a (re)connect: what ran while we were not listening? Ask for the
 * server's default directory and every directory we have seen. */
static void resync_all(struct http_link *l)
{
	struct daemon *d = link_daemon(l);
	const char *seen[64];
	struct session *s;
	size_t n = 0, i;

	http_resync(l->srv, NULL);
	for (s = session_table_first(d->sessions); s != NULL; s = s->next) {
		if (s->server != l->srv || s->directory == NULL)
			continue;
		for (i = 0; i < n && strcmp(seen[i], s->directory) != 0; i++)
			;
		if (i == n && n < sizeof(seen) / sizeof(seen[0]))
			seen[n++] = s->directory;
	}
	for (i = 0; i < n; i++)
		http_resync(l->srv, seen[i]);
}

/* The event stream. */

static void on_sse_event(const char *data, size_t len, void *arg)
{
	struct http_link *l = arg;
	json_t *frame = json_loadb(data, len, 0, NULL), *payload;

	if (frame == NULL) {
		log_debug("%s: unparsable event skipped", l->srv->url);
		return;
	}
	if (!l->stream_live) {
		l->stream_live = true;
		l->backoff_ms = BACKOFF_MIN_MS;
		server_set_connected(l->srv, true, NULL);
		resync_all(l);
	}
	payload = json_object_get(frame, "payload");
	if (json_is_object(payload))
		observe_event(link_daemon(l), l->srv,
		    json_string_value(json_object_get(frame, "directory")), payload);
	json_decref(frame);
}

static int stream_data(const char *buf, size_t len, void *arg)
{
	struct http_link *l = arg;

	return sse_parser_feed(l->sse, buf, len) < 0 ? -1 : 0;
}

static void stream_done(const struct http_result *res, void *arg)
{
	struct http_link *l = arg;

	l->stream = NULL;
	if (res->ok && res->status != 200)
		report_failure(l, "event stream", res);
	else
		server_set_error(l->srv, "event stream ended: %s",
		    res->ok ? "closed by OpenCode" : res->error);
	link_failed(l);
}

static void start_stream(struct http_link *l)
{
	char url[1024];
	struct http_opts o;

	snprintf(url, sizeof(url), "%s/global/event", l->srv->url);
	fill_opts(l, &o, url);
	o.timeout_ms = 0;
	o.low_speed_time_s = STREAM_SILENCE_S;
	o.on_data = stream_data;
	o.on_done = stream_done;
	o.arg = l;
	sse_parser_reset(l->sse);
	l->stream = http_start(link_daemon(l)->http, &o);
	if (l->stream == NULL) {
		server_set_error(l->srv, "cannot start the event stream");
		link_failed(l);
	}
}

static void health_done(const struct http_result *res, void *arg)
{
	struct http_link *l = arg;
	json_t *body;

	l->health = NULL;
	if (!res->ok || res->status != 200) {
		report_failure(l, "health check", res);
		link_failed(l);
		return;
	}
	if ((body = parse_body(res)) != NULL) {
		free(l->srv->version);
		l->srv->version = NULL;
		if (json_string_value(json_object_get(body, "version")) != NULL)
			l->srv->version = strdup(json_string_value(json_object_get(body, "version")));
		json_decref(body);
	}
	start_stream(l);
}

static void health_check(struct http_link *l)
{
	char url[1024];
	struct http_opts o;

	snprintf(url, sizeof(url), "%s/global/health", l->srv->url);
	fill_opts(l, &o, url);
	o.timeout_ms = PROBE_TIMEOUT_MS;
	o.on_done = health_done;
	o.arg = l;
	l->health = http_start(link_daemon(l)->http, &o);
	if (l->health == NULL) {
		server_set_error(l->srv, "cannot start the health check");
		link_failed(l);
	}
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	health_check(arg);
}

static void http_link_free(struct server *s)
{
	struct http_link *l = s->priv;
	struct aux *a, *next;

	if (l == NULL)
		return;
	if (l->health != NULL)
		http_cancel(l->health);
	if (l->stream != NULL)
		http_cancel(l->stream);
	for (a = l->aux; a != NULL; a = next) {
		next = a->next;
		http_cancel(a->req);
		if (a->kind == AUX_ABORT)
			stop_on_abort_reply(s->d, a->token, a->session, false, "server removed");
		else if (a->kind == AUX_PROBE_SESSION || a->kind == AUX_PROBE_STATUS)
			a->probe_done(s->d, a->probe_arg);
		aux_free(a);
	}
	if (l->retry != NULL)
		event_free(l->retry);
	sse_parser_free(l->sse);
	free(l);
	s->priv = NULL;
}

static const struct transport_ops http_ops = {
	.abort = http_abort,
	.resync = http_resync,
	.lookup = http_lookup,
	.probe = http_probe,
	.free = http_link_free,
};

int transport_http_init(struct server *s)
{
	struct http_link *l = calloc(1, sizeof(*l));
	size_t n = strlen(s->url);

	if (l == NULL)
		return -1;
	while (n > 0 && s->url[n - 1] == '/')
		s->url[--n] = '\0';
	s->priv = l;
	s->ops = &http_ops;
	l->srv = s;
	l->backoff_ms = BACKOFF_MIN_MS;
	l->sse = sse_parser_new(MAX_EVENT, on_sse_event, l);
	l->retry = evtimer_new(s->d->base, retry_cb, l);
	if (l->sse == NULL || l->retry == NULL) {
		http_link_free(s);
		return -1;
	}
	health_check(l);
	return 0;
}
