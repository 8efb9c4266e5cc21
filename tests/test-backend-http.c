/*
 * The HTTP backend against a small fake OpenCode in this process (evhttp on
 * the same loop): the health check and the event stream, resync, lookups,
 * probes, aborts and their failures, 401, a stream that ends, and a server
 * dropped with requests in flight. The engine behind it is the real one.
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
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "backend/http.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "io/http.h"
#include "loop.h"

#define WAIT_MS 3000

struct world {
	struct config cfg;
	struct event_base *base;
	struct engine_loop *loop;
	struct http *http;
	struct backend_http_ctx ctx;
	struct engine *e;
	struct evhttp *srv;
	int port;
	char url[64];

	/* The fake OpenCode. */
	int health_status;             /* what /global/health answers */
	int healths;                   /* how many were asked */
	int healths_hung;              /* how many more to leave unanswered */
	struct evhttp_request *stream; /* the /global/event reply, open */
	int streams;                   /* how many were opened */
	char statuses[256];            /* what /session/status answers */
	int status_requests;
	char last_status_query[256];
	int abort_status; /* 0: hang */
	int aborts;
	char last_abort[64];
	struct evhttp_request *hung; /* an abort left unanswered */
	int session_requests;

	struct stop_result res;
	char reason[256];
	bool done;
};

static void reply(struct evhttp_request *req, int code, const char *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evbuffer_add_printf(out, "%s", body);
	evhttp_send_reply(req, code, code == 200 ? "OK" : "No", NULL);
}

/* One event on the open stream, framed as OpenCode frames them. */
static void publish(struct world *w, const char *payload)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(w->stream);
	evbuffer_add_printf(b, "data: {\"directory\":\"/proj\",\"payload\":%s}\n\n", payload);
	evhttp_send_reply_chunk(w->stream, b);
	evbuffer_free(b);
}

static void stream_closed_cb(struct evhttp_connection *conn, void *arg)
{
	(void)conn;
	((struct world *)arg)->stream = NULL;
}

static void srv_cb(struct evhttp_request *req, void *arg)
{
	struct world *w = arg;
	const char *uri = evhttp_request_get_uri(req);
	char id[64];

	if (strcmp(uri, "/global/health") == 0) {
		w->healths++;
		if (w->healths_hung > 0) {
			w->healths_hung--;
			return; /* evhttp frees it when the client hangs up */
		}
		reply(req, w->health_status, "{\"healthy\":true,\"version\":\"1.18.33\"}");
	} else if (strcmp(uri, "/global/event") == 0) {
		w->streams++;
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
		    "text/event-stream");
		evhttp_send_reply_start(req, 200, "OK");
		evhttp_connection_set_closecb(evhttp_request_get_connection(req), stream_closed_cb,
		    w);
		w->stream = req;
		publish(w, "{\"type\":\"server.connected\",\"properties\":{}}");
	} else if (strncmp(uri, "/session/status", 15) == 0) {
		w->status_requests++;
		snprintf(w->last_status_query, sizeof(w->last_status_query), "%s", uri + 15);
		reply(req, 200, w->statuses);
	} else if (evhttp_request_get_command(req) == EVHTTP_REQ_POST &&
	    sscanf(uri, "/session/%63[^/]/abort", id) == 1) {
		w->aborts++;
		snprintf(w->last_abort, sizeof(w->last_abort), "%s", id);
		if (w->abort_status == 0)
			w->hung = req;
		else
			reply(req, w->abort_status, w->abort_status == 200 ? "true" : "{}");
	} else if (sscanf(uri, "/session/%63[^/]", id) == 1 && strncmp(id, "ses_gone", 8) == 0) {
		reply(req, 404, "{\"name\":\"NotFoundError\",\"data\":{}}");
	} else if (sscanf(uri, "/session/%63[^/]", id) == 1 && strncmp(id, "ses_fails", 9) == 0) {
		reply(req, 500, "{\"name\":\"UnknownError\",\"data\":{}}");
	} else if (sscanf(uri, "/session/%63[^/]", id) == 1) {
		char body[256];

		w->session_requests++;
		snprintf(body, sizeof(body),
		    "{\"id\":\"%s\",\"directory\":\"/elsewhere\","
		    "\"parentID\":null,\"title\":\"looked up\"}",
		    id);
		reply(req, 200, body);
	} else {
		reply(req, 404, "{}");
	}
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct engine_host host;
	struct evhttp_bound_socket *bound;
	struct sockaddr_storage ss;
	ev_socklen_t len = sizeof(ss);

	assert_non_null(w);
	config_init(&w->cfg);
	w->cfg.quiet_ms = 30;
	w->cfg.stop_timeout_ms = 500;
	w->health_status = 200;
	w->abort_status = 200;
	strcpy(w->statuses, "{}");
	assert_non_null(w->base = event_base_new());
	assert_non_null(w->loop = engine_loop_new(w->base, &host));
	assert_non_null(w->srv = evhttp_new(w->base));
	evhttp_set_gencb(w->srv, srv_cb, w);
	evhttp_set_allowed_methods(w->srv, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	assert_non_null(bound = evhttp_bind_socket_with_handle(w->srv, "127.0.0.1", 0));
	getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &len);
	w->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(w->url, sizeof(w->url), "http://127.0.0.1:%d", w->port);
	assert_non_null(w->http = http_new(w->base));
	w->ctx = (struct backend_http_ctx){ .base = w->base, .http = w->http };
	assert_non_null(
	    w->e = engine_new(&w->cfg, &host, SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES));
	engine_loop_attach(w->loop, w->e);
	engine_set_backend(w->e, SERVER_HTTP, &backend_http_ops, &w->ctx);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	engine_free(w->e);
	http_free(w->http);
	if (w->hung != NULL)
		reply(w->hung, 200, "true");
	evhttp_free(w->srv);
	engine_loop_free(w->loop);
	event_base_free(w->base);
	config_clear(&w->cfg);
	free(w);
	return 0;
}

/* Turn the loop until cond holds; fail after WAIT_MS. */
#define UNTIL(w, cond) \
	do { \
		int64_t until_ = clock_now_ms() + WAIT_MS; \
		while (!(cond)) { \
			if (clock_now_ms() > until_) \
				fail_msg("waited %d ms for %s", WAIT_MS, #cond); \
			event_base_loop((w)->base, EVLOOP_ONCE | EVLOOP_NONBLOCK); \
		} \
	} while (0)

static struct server *attach(struct world *w, bool configured, uint64_t shim)
{
	struct server_spec spec = {
		.transport = SERVER_HTTP,
		.url = w->url,
		.configured = configured,
		.shim = shim,
		.password = "pw",
	};
	const char *cause = NULL;
	struct server *s = server_attach(w->e, &spec, &cause);

	assert_non_null(s);
	return s;
}

static struct session *find(struct world *w, struct server *s, const char *id)
{
	return session_table_find(engine_sessions(w->e), s, id);
}

static bool running(struct world *w, struct server *s, const char *id)
{
	struct session *x = find(w, s, id);

	return x != NULL && session_status(x) == SESSION_BUSY;
}

static bool idle(struct world *w, struct server *s, const char *id)
{
	struct session *x = find(w, s, id);

	return x != NULL && session_status(x) == SESSION_IDLE;
}

/* Connected: health, the stream, and a resync of the default directory,
 * whose statuses the table takes; then events change them. */
static void test_connect_and_resync(void **state)
{
	struct world *w = *state;
	struct server *s;

	strcpy(w->statuses,
	    "{\"ses_run\":{\"type\":\"busy\"},\"ses_odd\":{\"type\":\"compacting\"}}");
	s = attach(w, true, 0);
	UNTIL(w, server_connected(s));
	assert_string_equal(server_version(s), "1.18.33");
	assert_null(server_last_error(s));
	UNTIL(w, running(w, s, "ses_run"));
	assert_string_equal(w->last_status_query, "");
	/* A status this version does not know changes nothing. */
	assert_null(find(w, s, "ses_odd"));
	publish(w,
	    "{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_run\","
	    "\"status\":{\"type\":\"idle\"}}}");
	UNTIL(w, idle(w, s, "ses_run"));
	/* First seen by status: the daemon looks it up. */
	publish(w,
	    "{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_new\","
	    "\"status\":{\"type\":\"busy\"}}}");
	UNTIL(w, find(w, s, "ses_new") != NULL && session_title(find(w, s, "ses_new")) != NULL);
	assert_string_equal(session_title(find(w, s, "ses_new")), "looked up");
	/* Both were first seen by status: ses_run in the resync, ses_new here. */
	assert_int_equal(w->session_requests, 2);
}

static void done_cb(const struct stop_result *res, void *arg)
{
	struct world *w = arg;

	w->res = *res;
	snprintf(w->reason, sizeof(w->reason), "%s", res->reason != NULL ? res->reason : "");
	w->res.reason = w->reason;
	w->done = true;
}

static struct stop *stop(struct world *w, struct server *s, const char *id)
{
	struct stop *st = stop_start(w->e, find(w, s, id), "test", NULL, w->cfg.stop_timeout_ms,
	    clock_now_ms(), done_cb, w);

	assert_non_null(st);
	return st;
}

/* POST /session/:id/abort, then proof from the stream. */
static void test_abort(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, true, 0);

	strcpy(w->statuses, "{\"ses_a\":{\"type\":\"busy\"}}");
	UNTIL(w, running(w, s, "ses_a"));
	stop(w, s, "ses_a");
	UNTIL(w, w->aborts == 1);
	assert_string_equal(w->last_abort, "ses_a");
	publish(w, "{\"type\":\"session.idle\",\"properties\":{\"sessionID\":\"ses_a\"}}");
	UNTIL(w, w->done);
	assert_true(w->res.stopped);
}

/* An abort answered 500 twice: not stopped, and the reason names it. */
static void test_abort_fails(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, true, 0);

	w->abort_status = 500;
	strcpy(w->statuses, "{\"ses_a\":{\"type\":\"busy\"}}");
	UNTIL(w, running(w, s, "ses_a"));
	stop(w, s, "ses_a");
	UNTIL(w, w->done);
	assert_false(w->res.stopped);
	assert_int_equal(w->aborts, 2);
	assert_non_null(strstr(w->reason, "the abort request failed (2 attempts): HTTP 500 from"));
}

/* A wrong password: no connection, and the error says what to do. */
static void test_unauthorized(void **state)
{
	struct world *w = *state;
	struct server *s;

	w->health_status = 401;
	s = attach(w, true, 0);
	UNTIL(w, server_last_error(s) != NULL);
	assert_false(server_connected(s));
	assert_non_null(strstr(server_last_error(s), "401 unauthorized"));
	/* It says where the password goes: the daemon's, not the caller's. */
	assert_non_null(strstr(server_last_error(s), "ocstopd"));
	assert_non_null(strstr(server_last_error(s), "restart ocstopd"));
	assert_non_null(strstr(server_last_error(s), "OPENCODE_SERVER_PASSWORD"));
	/* It keeps trying: once the password works, it connects. */
	w->health_status = 200;
	UNTIL(w, server_connected(s));
	assert_null(server_last_error(s));
}

/* The stream ends: disconnected, then back, and a resync of every
 * directory seen. */
static void test_stream_ends(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, true, 0);

	UNTIL(w, server_connected(s));
	publish(w,
	    "{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_d\","
	    "\"status\":{\"type\":\"busy\"}}}");
	UNTIL(w, running(w, s, "ses_d"));
	w->status_requests = 0;
	evhttp_send_reply_end(w->stream);
	w->stream = NULL;
	UNTIL(w, !server_connected(s));
	assert_non_null(strstr(server_last_error(s), "event stream ended"));
	/* While nobody looked, it went idle. */
	strcpy(w->statuses, "{}");
	UNTIL(w, server_connected(s) && w->streams == 2);
	UNTIL(w, idle(w, s, "ses_d"));
	assert_true(w->status_requests >= 2);
}

/* Turn the loop for ms. */
static void run_for(struct world *w, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(w->base, &tv);
	event_base_dispatch(w->base);
}

/* OpenCode restarting (down for 3.3 s, when a doubling backoff would wait
 * 1.8 s more): reached again within the short wait of an outage's first
 * seconds, and never checked in a busy loop meanwhile. */
static void test_back_soon(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, true, 0);
	int64_t t0;
	int checks;

	UNTIL(w, server_connected(s));
	w->health_status = 503;
	evhttp_send_reply_end(w->stream);
	w->stream = NULL;
	UNTIL(w, !server_connected(s));
	w->healths = 0;
	run_for(w, 3300);
	checks = w->healths;
	w->health_status = 200;
	t0 = clock_now_ms();
	UNTIL(w, server_connected(s));
	print_message("# %d health checks in 3.3 s down; connected %lld ms after it was back\n",
	    checks, (long long)(clock_now_ms() - t0));
	assert_true(clock_now_ms() - t0 < 500);
	assert_in_range(checks, 3300 / 250, 3300 / 100);
}

/* OpenCode just started leaves the first health check unanswered: the
 * daemon gives up on it soon and asks again at once, well before the
 * longest health check timeout (1 s) would have ended. */
static void test_first_check_hangs(void **state)
{
	struct world *w = *state;
	int64_t t0 = clock_now_ms();
	struct server *s;

	w->healths_hung = 1;
	s = attach(w, true, 0);
	UNTIL(w, server_connected(s));
	print_message("# connected %lld ms after a first health check left unanswered\n",
	    (long long)(clock_now_ms() - t0));
	assert_int_equal(w->healths, 2);
	assert_true(clock_now_ms() - t0 < 700);
}

/* A server only a shim stood for goes when its link fails; its stop ends. */
static void test_dropped_when_down(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, false, 5);

	w->abort_status = 0; /* the abort hangs */
	strcpy(w->statuses, "{\"ses_h\":{\"type\":\"busy\"}}");
	UNTIL(w, running(w, s, "ses_h"));
	stop(w, s, "ses_h");
	UNTIL(w, w->hung != NULL);
	engine_shim_gone(w->e, 5, 0);
	assert_false(server_dead(s)); /* still connected: it serves others */
	w->health_status = 503;
	evhttp_send_reply_end(w->stream);
	w->stream = NULL;
	UNTIL(w, w->done);
	assert_false(w->res.stopped);
	assert_string_equal(w->reason, "its plugin disconnected and HTTP fails");
	assert_null(server_first(w->e));
}

/* Records the outcome, PROBE_FAILED + 1 until there is one. */
static void probe_done(void *arg, enum probe_outcome outcome, int64_t now)
{
	(void)now;
	*(int *)arg = (int)outcome;
}

/* A session no event named: its directory from GET /session/:id, then that
 * directory's statuses. OpenCode's 404 says it has no such session; a 500
 * says nothing either way. */
static void test_probe(void **state)
{
	struct world *w = *state;
	struct server *s = attach(w, true, 0);
	int done = -1;

	UNTIL(w, server_connected(s));
	strcpy(w->statuses, "{\"ses_silent\":{\"type\":\"busy\"}}");
	assert_true(server_can_probe(s));
	assert_int_equal(server_probe(s, "ses_silent", probe_done, &done), 0);
	UNTIL(w, done >= 0);
	assert_int_equal(done, PROBE_FOUND);
	assert_string_equal(w->last_status_query, "?directory=/elsewhere");
	assert_true(running(w, s, "ses_silent"));
	assert_string_equal(session_directory(find(w, s, "ses_silent")), "/elsewhere");
	done = -1;
	assert_int_equal(server_probe(s, "ses_gone", probe_done, &done), 0);
	UNTIL(w, done >= 0);
	assert_int_equal(done, PROBE_NOT_FOUND);
	done = -1;
	assert_int_equal(server_probe(s, "ses_fails", probe_done, &done), 0);
	UNTIL(w, done >= 0);
	assert_int_equal(done, PROBE_FAILED);
	/* Ids OpenCode cannot have made never reach a URL. */
	assert_int_equal(server_probe(s, "../x", probe_done, &done), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_and_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unauthorized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_ends, setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_soon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_check_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_when_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
