/*
 * The control socket end to end inside one process: the listener, peers,
 * the method table and replies, subscriptions, and the relay backend, with
 * the engine behind them and a fake backend for a configured server. The
 * test is every client: it connects to a real Unix socket in a private
 * directory, writes requests, and turns the event loop until the answer is
 * there.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "../client/tojson.h"
#include "backend/relay.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/proc.h"
#include "core/select.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "fake-backend.h"
#include "helpers.h"
#include "loop.h"
#include "proto.h"
#include "rpc/control.h"
#include "rpc/rpc.h"

#define WAIT_MS 2000

struct world {
	char dir[64];
	char path[128];
	struct config cfg;
	struct event_base *base;
	struct engine_loop *loop;
	struct engine *e;
	struct control *ctl;
	struct fakes fakes;
	struct server *http; /* a configured server behind the fake backend */
};

/* One client connection of the test's. */
struct client {
	int fd;
	struct proto_reader *r;
	struct proto_buf out;
	uint32_t msgid;
	json_t *inbox; /* messages read but not asked for yet */
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct engine_host host;
	/* The prestate, when given, makes the server the default nobody named,
	 * and not there. */
	bool implicit = *state != NULL;
	struct server_spec spec = { .transport = SERVER_HTTP,
		.url = "http://fake",
		.configured = true,
		.implicit = implicit };
	const char *why = NULL;
	char *cause = NULL;

	assert_non_null(w);
	snprintf(w->dir, sizeof(w->dir), "/tmp/ocstop-control.XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->path, sizeof(w->path), "%s/sock", w->dir);
	config_init(&w->cfg);
	assert_int_equal(config_add_stop_word(&w->cfg, "x", &why), 0);
	w->cfg.quiet_ms = 50;
	w->cfg.stop_timeout_ms = 1000;
	assert_non_null(w->base = event_base_new());
	assert_non_null(w->loop = engine_loop_new(w->base, &host));
	assert_non_null(
	    w->e = engine_new(&w->cfg, &host, SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES));
	engine_loop_attach(w->loop, w->e);
	engine_set_backend(w->e, SERVER_HTTP, &fake_backend_ops, &w->fakes);
	engine_set_backend(w->e, SERVER_RELAY, &backend_relay_ops, NULL);
	assert_non_null(w->ctl = control_new(w->base, w->e));
	if (control_listen(w->ctl, w->path, &cause) < 0)
		fail_msg("listen: %s", cause);
	assert_non_null(w->http = server_attach(w->e, &spec, &why));
	server_set_connected(w->http, !implicit);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	engine_shutdown(w->e);
	control_free(w->ctl);
	engine_free(w->e);
	fakes_free(&w->fakes);
	engine_loop_free(w->loop);
	event_base_free(w->base);
	config_clear(&w->cfg);
	rmdir(w->dir);
	free(w);
	return 0;
}

/* Let the daemon side run what is ready. */
static void turn(struct world *w)
{
	event_base_loop(w->base, EVLOOP_NONBLOCK);
}

static struct client *client_new(struct world *w)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	strcpy(sun.sun_path, w->path);
	assert_true((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	assert_non_null(c->r = proto_reader_new(0));
	assert_non_null(c->inbox = json_array());
	proto_buf_init(&c->out);
	turn(w); /* accept */
	return c;
}

static void client_free(struct world *w, struct client *c)
{
	close(c->fd);
	proto_reader_free(c->r);
	proto_buf_destroy(&c->out);
	json_decref(c->inbox);
	free(c);
	turn(w);
	turn(w);
}

/* msgpack of a JSON value, in the shortest forms. */
static void pack_json(msgpack_packer *pk, json_t *j)
{
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, (uint32_t)json_object_size(j));
		json_object_foreach(j, key, v) {
			proto_pack_cstr(pk, key);
			pack_json(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, (uint32_t)json_array_size(j));
		json_array_foreach(j, i, v)
			pack_json(pk, v);
		break;
	case JSON_STRING:
		proto_pack_cstr(pk, json_string_value(j));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	default:
		msgpack_pack_nil(pk);
		break;
	}
}

static void send_bytes(struct client *c, const void *buf, size_t len)
{
	assert_int_equal(write(c->fd, buf, len), (ssize_t)len);
}

/* [kind, ...] from JSON: "[0, 1, \"ping\", []]"; params given as JSON. */
static void send_json(struct client *c, const char *json)
{
	json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);

	if (j == NULL)
		fail_msg("bad test JSON %s", json);
	proto_buf_reset(&c->out);
	pack_json(&c->out.pk, j);
	json_decref(j);
	send_bytes(c, c->out.data, c->out.size);
}

/* Read what is there into the inbox, as JSON. */
static void drain(struct client *c)
{
	char buf[65536], *cause = NULL;
	struct proto_msg m;
	json_t *j;
	ssize_t n;

	while ((n = read(c->fd, buf, sizeof(buf))) > 0)
		assert_int_equal(proto_reader_feed(c->r, buf, (size_t)n), PROTO_OK);
	while (proto_reader_next(c->r, &m) == PROTO_OK) {
		j = json_array();
		json_array_append_new(j, json_integer(m.kind));
		if (m.kind == PROTO_RESPONSE) {
			json_array_append_new(j, json_integer(m.msgid));
			json_array_append_new(j, tojson(m.error, &cause));
			json_array_append_new(j, tojson(m.result, &cause));
		} else {
			if (m.kind == PROTO_REQUEST)
				json_array_append_new(j, json_integer(m.msgid));
			json_array_append_new(j, json_stringn(m.method, m.method_len));
			json_array_append_new(j, tojson(m.params, &cause));
		}
		assert_null(cause);
		json_array_append_new(c->inbox, j);
	}
}

/* The first message in the inbox that match accepts, waiting for it. */
static json_t *wait_for(struct world *w, struct client *c, bool (*match)(json_t *, const void *),
    const void *arg)
{
	int64_t deadline = clock_now_ms() + test_wait_ms(WAIT_MS);
	json_t *m;
	size_t i;

	for (;;) {
		drain(c);
		json_array_foreach(c->inbox, i, m) {
			if (match(m, arg)) {
				json_incref(m);
				json_array_remove(c->inbox, i);
				return m;
			}
		}
		if (clock_now_ms() > deadline)
			fail_msg("nothing matching came in %lld ms",
			    (long long)test_wait_ms(WAIT_MS));
		event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static bool is_reply(json_t *m, const void *arg)
{
	return json_integer_value(json_array_get(m, 0)) == 1 &&
	    json_integer_value(json_array_get(m, 1)) == *(const uint32_t *)arg;
}

/* A call; returns [1, msgid, error, result] (caller decrefs). */
static json_t *call(struct world *w, struct client *c, const char *method, const char *params)
{
	char text[2 * PROTO_MAX_NVIM_LUA];
	uint32_t id = ++c->msgid;

	if ((size_t)snprintf(text, sizeof(text), "[0, %u, \"%s\", [%s]]", id, method,
		params != NULL ? params : "") >= sizeof(text))
		fail_msg("a call too long for the test: %s", method);
	if (params == NULL)
		snprintf(text, sizeof(text), "[0, %u, \"%s\", []]", id, method);
	send_json(c, text);
	return wait_for(w, c, is_reply, &id);
}

/* The result of a call that must succeed (caller decrefs). */
static json_t *result(struct world *w, struct client *c, const char *method, const char *params)
{
	json_t *r = call(w, c, method, params), *res;

	if (!json_is_null(json_array_get(r, 2)))
		fail_msg("%s answered an error: %s", method, json_dumps(json_array_get(r, 2), 0));
	res = json_incref(json_array_get(r, 3));
	json_decref(r);
	return res;
}

/* The code of a reply's error [kind, "name: message"] (or [kind, "name"]):
 * the name must be one the protocol lists, the kind its own. */
static json_int_t reply_error(json_t *r)
{
	json_t *e = json_array_get(r, 2);
	const char *text = json_string_value(json_array_get(e, 1));
	const char *colon;
	int code;

	assert_true(json_is_array(e));
	assert_int_equal(json_array_size(e), 2);
	assert_non_null(text);
	if ((colon = strstr(text, ": ")) != NULL)
		assert_true(colon[2] != '\0');
	else
		colon = text + strlen(text);
	code = proto_errcode_from_name(text, (size_t)(colon - text));
	assert_int_not_equal(code, 0);
	assert_true(json_is_integer(json_array_get(e, 0)));
	assert_int_equal(json_integer_value(json_array_get(e, 0)), proto_errcode_kind(code));
	assert_true(json_is_null(json_array_get(r, 3)));
	return code;
}

/* The error code of a call that must fail. */
static json_int_t error_code(struct world *w, struct client *c, const char *method,
    const char *params)
{
	json_t *r = call(w, c, method, params);
	json_int_t code = reply_error(r);

	json_decref(r);
	return code;
}

static bool is_notification(json_t *m, const void *arg)
{
	return json_integer_value(json_array_get(m, 0)) == 2 &&
	    strcmp(json_string_value(json_array_get(m, 1)), arg) == 0;
}

static bool is_event_type(json_t *m, const void *arg)
{
	json_t *ev = json_array_get(json_array_get(m, 2), 0);

	return is_notification(m, "event") &&
	    strcmp(json_string_value(json_object_get(ev, "type")), arg) == 0;
}

static bool is_request(json_t *m, const void *arg)
{
	return json_integer_value(json_array_get(m, 0)) == 0 &&
	    strcmp(json_string_value(json_array_get(m, 2)), arg) == 0;
}

/* An event OpenCode publishes, as the fake-backed server reports it. */
static void oc_event(struct world *w, json_t *j)
{
	engine_observe_event(w->e, w->http, "/proj", j, clock_now_ms());
	json_decref(j);
}

#define BUSY(w, id) \
	oc_event(w, \
	    jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\"," \
		  "\"status\":{\"type\":\"busy\"}}}", \
		id))
#define IDLE(w, id) \
	oc_event(w, \
	    jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\"," \
		  "\"status\":{\"type\":\"idle\"}}}", \
		id))

static const char *str_at(json_t *j, const char *path)
{
	char copy[128], *key, *save = NULL;

	snprintf(copy, sizeof(copy), "%s", path);
	for (key = strtok_r(copy, ".", &save); key != NULL && j != NULL;
	     key = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, (size_t)atoi(key))
				     : json_object_get(j, key);
	return json_string_value(j);
}

/* The next x.result on c says outcome. */
static void x_result_is(struct world *w, struct client *c, const char *outcome)
{
	json_t *ev = wait_for(w, c, is_notification, "x.result");

	assert_string_equal(str_at(ev, "2.0.outcome"), outcome);
	json_decref(ev);
}

static json_int_t int_at(json_t *j, const char *key)
{
	return json_integer_value(json_object_get(j, key));
}

static json_int_t counter_at(json_t *status, const char *name)
{
	return json_integer_value(json_object_get(json_object_get(status, "counters"), name));
}

static void test_ping(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r = result(w, c, "ping", NULL);

	assert_string_equal(str_at(r, "version"), OCSTOP_VERSION);
	assert_int_equal(int_at(r, "protocol"), PROTO_VERSION);
	/* The test's control listens on a path it made: not socket activation. */
	assert_true(json_is_false(json_object_get(r, "activated")));
	json_decref(r);
	client_free(w, c);
}

/* What a client gets wrong is answered with the right code, and the
 * connection goes on; bytes that are not msgpack close it. */
static void test_errors(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	uint32_t id = 77;
	json_t *r;
	char buf[8];

	assert_int_equal(error_code(w, c, "nosuchmethod", NULL), PROTO_EMETHOD);
	assert_int_equal(error_code(w, c, "opencode.event", "{}"), PROTO_EMETHOD);
	assert_int_equal(error_code(w, c, "abort", "\"notamap\""), PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "abort", NULL), PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "abort", "{\"all\": \"yes\"}"), PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "abort", "{\"all\": true, \"timeout_ms\": 5}"),
	    PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "message", "{\"session\": \"a b\", \"parts\": []}"),
	    PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "subscribe", "{\"events\": [1]}"), PROTO_EBADREQ);
	/* A request of three elements: invalid, but its msgid can be read. */
	send_json(c, "[0, 77, \"ping\"]");
	r = wait_for(w, c, is_reply, &id);
	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	json_decref(r);
	json_decref(result(w, c, "ping", NULL));
	/* A notification of a method nobody knows is ignored. */
	send_json(c, "[2, \"nosuchmethod\", []]");
	json_decref(result(w, c, "ping", NULL));
	send_bytes(c, "\xc1\xc1", 2);
	for (int i = 0; i < 50; i++) {
		turn(w);
		usleep(1000);
	}
	assert_int_equal(read(c->fd, buf, sizeof(buf)), 0);
	client_free(w, c);
}

/* With nothing selected and no server reachable, the truth is an error. */
static void test_unreachable(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);

	server_set_error(w->http, 0, "down for the test");
	assert_int_equal(error_code(w, c, "abort", "{\"all\": true}"), PROTO_EUNREACHABLE);
	assert_int_equal(error_code(w, c, "abort", "{\"session\": \"ses_unknown\"}"),
	    PROTO_EUNREACHABLE);
	client_free(w, c);
}

/* The default server nobody named, with nothing listening there: nothing
 * runs, which is no error, and no session is there to be found. */
static void test_implicit_absent(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r;

	server_set_error(w->http, 0, "connection refused");
	r = result(w, c, "abort", "{\"all\": true}");
	assert_int_equal(json_array_size(json_object_get(r, "results")), 0);
	json_decref(r);
	r = result(w, c, "abort", "{\"directory\": \"/p\"}");
	assert_int_equal(json_array_size(json_object_get(r, "results")), 0);
	json_decref(r);
	assert_int_equal(error_code(w, c, "abort", "{\"session\": \"ses_q\"}"), PROTO_ENOTFOUND);
	client_free(w, c);
}

/* Sends an abort, answers every lookup of an unknown id with outcome, and
 * returns the reply [1, msgid, error, result] (caller decrefs). */
static json_t *abort_looked_up(struct world *w, struct client *c, const char *params,
    size_t lookups, enum probe_outcome outcome)
{
	struct fake *f = fake_of(&w->fakes, w->http);
	size_t before = f->n_probes, i;
	uint32_t id = ++c->msgid;
	char text[512];

	f->take_probes = true;
	snprintf(text, sizeof(text), "[0, %u, \"abort\", [%s]]", id, params);
	send_json(c, text);
	for (i = 0; i < 200 && f->n_probes < before + lookups; i++) {
		turn(w);
		usleep(1000);
	}
	assert_int_equal(f->n_probes, before + lookups);
	for (i = before; i < f->n_probes; i++)
		fake_answer_probe(f, i, outcome, clock_now_ms());
	return wait_for(w, c, is_reply, &id);
}

/* An id no server knows is not found, and said so: an error when nothing
 * named is known, else a list beside the results. One whose server could
 * not be asked is not "not found". */
static void test_not_found(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r;

	r = abort_looked_up(w, c, "{\"session\": \"ses_gone\"}", 1, PROBE_NOT_FOUND);
	assert_int_equal(reply_error(r), PROTO_ENOTFOUND);
	assert_non_null(strstr(str_at(r, "2.1"), "ses_gone"));
	json_decref(r);
	r = abort_looked_up(w, c, "{\"session\": \"ses_down\"}", 1, PROBE_FAILED);
	assert_int_equal(reply_error(r), PROTO_EUNREACHABLE);
	assert_non_null(strstr(str_at(r, "2.1"), "ses_down"));
	assert_non_null(strstr(str_at(r, "2.1"), "http://fake"));
	json_decref(r);
	/* OpenCode makes no id that does not start with "ses": none is asked. */
	r = abort_looked_up(w, c, "{\"sessions\": [\"hello\", \"ses_gone\"]}", 1, PROBE_NOT_FOUND);
	assert_int_equal(reply_error(r), PROTO_ENOTFOUND);
	assert_non_null(strstr(str_at(r, "2.1"), "hello"));
	json_decref(r);
	assert_int_equal(error_code(w, c, "abort", "{\"session\": \"a/b\"}"), PROTO_EBADREQ);
	/* A known idle session beside an unknown one: a result that names it. */
	IDLE(w, "ses_idle");
	r = abort_looked_up(w, c, "{\"sessions\": [\"ses_idle\", \"ses_gone\"]}", 1,
	    PROBE_NOT_FOUND);
	assert_true(json_is_null(json_array_get(r, 2)));
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 3), "results")), 0);
	assert_string_equal(str_at(r, "3.not_found.0"), "ses_gone");
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 3), "unchecked")), 0);
	json_decref(r);
	/* A running one beside one that could not be looked up. */
	BUSY(w, "ses_run");
	r = abort_looked_up(w, c, "{\"sessions\": [\"ses_run\", \"ses_q\"], \"wait\": false}", 1,
	    PROBE_FAILED);
	assert_string_equal(str_at(r, "3.results.0.session"), "ses_run");
	assert_string_equal(str_at(r, "3.unchecked.0"), "ses_q");
	assert_int_equal(json_array_size(json_object_get(json_array_get(r, 3), "not_found")), 0);
	json_decref(r);
	client_free(w, c);
}

/* The next stop event sub gets: session's tree, stopped. */
static void stopped_event(struct world *w, struct client *sub, const char *session)
{
	json_t *ev = wait_for(w, sub, is_event_type, "stop");

	assert_string_equal(str_at(ev, "2.0.stop.session"), session);
	assert_true(json_is_true(
	    json_object_get(json_object_get(json_array_get(json_array_get(ev, 2), 0), "stop"),
		"stopped")));
	json_decref(ev);
}

/* The server gets one abort more, the n-th, of session: it is accepted and
 * the session goes idle. */
static void abort_lands(struct world *w, struct fake *f, size_t n, const char *session)
{
	for (int i = 0; i < 20 && f->n_aborts == n; i++)
		turn(w);
	assert_int_equal(f->n_aborts, n + 1);
	assert_string_equal(f->aborts[n].session, session);
	fake_answer(f, n, true, NULL, clock_now_ms());
	IDLE(w, session);
}

/* abort waits for the proof; subscribers see the session change and the
 * stop, as objects of one shape. */
static void test_abort_and_events(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *sub = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r, *ev;
	char text[256];
	uint32_t id;

	json_decref(
	    result(w, sub, "subscribe", "{\"events\": [\"session.status\", \"stop\", \"nope\"]}"));
	BUSY(w, "ses_a");
	ev = wait_for(w, sub, is_event_type, "session.status");
	assert_string_equal(str_at(ev, "2.0.session.id"), "ses_a");
	assert_string_equal(str_at(ev, "2.0.session.status"), "busy");
	assert_string_equal(str_at(ev, "2.0.session.server"), "http://fake");
	json_decref(ev);
	id = ++c->msgid;
	snprintf(text, sizeof(text), "[0, %u, \"abort\", [{\"session\": \"ses_a\"}]]", id);
	send_json(c, text);
	abort_lands(w, f, 0, "ses_a");
	r = wait_for(w, c, is_reply, &id);
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(json_array_get(r, 3), "results"), 0),
		"stopped")));
	assert_string_equal(str_at(r, "3.results.0.origin"), "rpc");
	json_decref(r);
	stopped_event(w, sub, "ses_a");
	/* wait: false answers at once, pending. */
	BUSY(w, "ses_b");
	r = result(w, c, "abort", "{\"sessions\": [\"ses_b\"], \"wait\": false}");
	assert_string_equal(str_at(r, "results.0.reason"), "pending");
	assert_int_equal(json_integer_value(
			     json_object_get(json_array_get(json_object_get(r, "results"), 0),
				 "ms")),
	    -1);
	json_decref(r);
	client_free(w, c);
	client_free(w, sub);
}

/* What Neovim's rpcnotify() and pynvim send: abort as a notification stops
 * the tree (its outcome goes to subscribers, nothing is answered); a method
 * that only answers requests, or none at all, sent as a notification is
 * ignored and logged at info with its name, escaped; a method name as bin
 * is the same method. */
static void test_notifications(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *sub = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	static const char bin_ping[] = "\x94\x00\x07\xc4\x04ping\x90";
	uint32_t id = 7;
	const char *log;
	json_t *r;

	json_decref(result(w, sub, "subscribe", "{\"events\": [\"stop\"]}"));
	BUSY(w, "ses_n");
	stderr_catch();
	send_json(c, "[2, \"abort\", [{\"session\": \"ses_n\"}]]");
	abort_lands(w, f, 0, "ses_n");
	stopped_event(w, sub, "ses_n");
	send_json(c, "[2, \"status\", []]");
	send_json(c, "[2, \"nosuch\\u00e9\\n'x\", []]");
	/* Its errors, which nobody is told, are logged. */
	send_json(c, "[2, \"abort\", [{\"session\": \"a/b\"}]]");
	send_json(c, "[2, \"abort\", [{\"sessions\": [\"nope\"]}]]");
	for (int i = 4; i < 101; i++)
		send_json(c, "[2, \"ping\", []]");
	/* A request with its method as bin, after them: when it is answered,
	 * they were read, and nothing came for them. */
	send_bytes(c, bin_ping, sizeof(bin_ping) - 1);
	r = wait_for(w, c, is_reply, &id);
	log = stderr_release();
	assert_true(json_is_null(json_array_get(r, 2)));
	assert_int_equal(int_at(json_array_get(r, 3), "protocol"), PROTO_VERSION);
	json_decref(r);
	drain(c);
	assert_int_equal(json_array_size(c->inbox), 0);
	assert_non_null(strstr(log, "info: client "));
	assert_non_null(
	    strstr(log, ": notification 'status' ignored: it only answers requests (1 so far)\n"));
	assert_non_null(strstr(log,
	    ": notification 'nosuch\\xc3\\xa9\\x0a\\x27x' ignored: no such method (2 so "
	    "far)\n"));
	assert_non_null(
	    strstr(log, ": notification 'abort' failed: bad_request: not a session id"));
	assert_non_null(strstr(log, ": notification 'abort' failed: not_found: "));
	assert_non_null(strstr(log, " (4 so far)\n"));
	/* A client in a loop: logged up to the bound, then at 100. */
	assert_non_null(strstr(log, "(10 so far)\n"));
	assert_null(strstr(log, "(11 so far)\n"));
	assert_null(strstr(log, "(99 so far)\n"));
	assert_non_null(strstr(log, "(100 so far)\n"));
	client_free(w, c);
	client_free(w, sub);
}

/* subscribe's nvim option: each event as a call Neovim runs itself, with
 * the event as its argument; a name or code it cannot take is refused. */
static void test_subscribe_nvim(void **state)
{
	struct world *w = *state;
	struct client *fn = client_new(w), *lua = client_new(w), *plain = client_new(w);
	static const char *const bad[] = {
		"{\"nvim\": {\"function\": \"1abc\"}}",
		"{\"nvim\": {\"function\": \"a b\"}}",
		"{\"nvim\": {\"function\": \"f(1)\"}}",
		"{\"nvim\": {\"function\": \"\"}}",
		"{\"nvim\": {\"function\": 5}}",
		"{\"nvim\": {\"lua\": \"\"}}",
		"{\"nvim\": {\"function\": \"f\", \"lua\": \"print()\"}}",
		"{\"nvim\": {\"vim\": \"f\"}}",
		"{\"nvim\": {}}",
		"{\"nvim\": \"f\"}",
	};
	char text[PROTO_MAX_NVIM_LUA + 256], name[PROTO_MAX_NVIM_FUNCTION + 2];
	struct proto_buf bytes;
	uint32_t id = 99;
	json_t *m, *r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(error_code(w, fn, "subscribe", bad[i]), PROTO_EBADREQ);
	/* The bounds: a name of PROTO_MAX_NVIM_FUNCTION bytes, code of
	 * PROTO_MAX_NVIM_LUA, and a byte more of either. */
	memset(name, 'f', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"nvim\": {\"function\": \"%s\"}}", name);
	assert_int_equal(error_code(w, fn, "subscribe", text), PROTO_EBADREQ);
	name[PROTO_MAX_NVIM_FUNCTION] = '\0';
	snprintf(text, sizeof(text), "{\"nvim\": {\"function\": \"%s\"}}", name);
	json_decref(result(w, fn, "subscribe", text));
	i = (size_t)snprintf(text, sizeof(text), "{\"nvim\": {\"lua\": \"");
	memset(text + i, '-', PROTO_MAX_NVIM_LUA + 1);
	snprintf(text + i + PROTO_MAX_NVIM_LUA + 1, sizeof(text) - i - PROTO_MAX_NVIM_LUA - 1,
	    "\"}}");
	assert_int_equal(error_code(w, lua, "subscribe", text), PROTO_EBADREQ);
	memmove(text + i + PROTO_MAX_NVIM_LUA, text + i + PROTO_MAX_NVIM_LUA + 1, 4);
	json_decref(result(w, lua, "subscribe", text));
	/* Code that is not UTF-8: [0, 99, "subscribe", [{nvim: {lua: "\xff"}}]] */
	proto_buf_init(&bytes);
	proto_pack_request_header(&bytes.pk, id, "subscribe");
	msgpack_pack_array(&bytes.pk, 1);
	msgpack_pack_map(&bytes.pk, 1);
	proto_pack_cstr(&bytes.pk, "nvim");
	msgpack_pack_map(&bytes.pk, 1);
	proto_pack_kv_str(&bytes.pk, "lua", "\xff");
	send_bytes(lua, bytes.data, bytes.size);
	proto_buf_destroy(&bytes);
	r = wait_for(w, lua, is_reply, &id);
	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	json_decref(r);

	/* Subscribed again, the last options count. */
	json_decref(result(w, fn, "subscribe",
	    "{\"events\": [\"session.status\"], \"nvim\": {\"function\": \"ocstop#statusline.on:x\"}}"));
	json_decref(result(w, lua, "subscribe",
	    "{\"events\": [\"session.status\"], \"nvim\": {\"lua\": \"require('ocstop').event(...)\"}}"));
	json_decref(result(w, plain, "subscribe", "{\"events\": [\"session.status\"]}"));
	BUSY(w, "ses_v");
	m = wait_for(w, fn, is_notification, "nvim_call_function");
	assert_int_equal(json_array_size(json_array_get(m, 2)), 2);
	assert_string_equal(str_at(m, "2.0"), "ocstop#statusline.on:x");
	assert_int_equal(json_array_size(json_array_get(json_array_get(m, 2), 1)), 1);
	assert_string_equal(str_at(m, "2.1.0.type"), "session.status");
	assert_string_equal(str_at(m, "2.1.0.session.id"), "ses_v");
	json_decref(m);
	m = wait_for(w, lua, is_notification, "nvim_exec_lua");
	assert_string_equal(str_at(m, "2.0"), "require('ocstop').event(...)");
	assert_string_equal(str_at(m, "2.1.0.type"), "session.status");
	assert_string_equal(str_at(m, "2.1.0.session.status"), "busy");
	json_decref(m);
	m = wait_for(w, plain, is_event_type, "session.status");
	assert_string_equal(str_at(m, "2.0.session.id"), "ses_v");
	json_decref(m);
	/* Back to the plain form. */
	json_decref(result(w, fn, "subscribe", "{\"events\": [\"session.status\"]}"));
	IDLE(w, "ses_v");
	m = wait_for(w, fn, is_event_type, "session.status");
	assert_string_equal(str_at(m, "2.0.session.status"), "idle");
	json_decref(m);
	drain(fn);
	for (i = 0; i < json_array_size(fn->inbox); i++)
		assert_false(is_notification(json_array_get(fn->inbox, i), "nvim_call_function"));
	client_free(w, fn);
	client_free(w, lua);
	client_free(w, plain);
}

/* What Neovim's Lua sends for an empty table, {} or {session = nil}: [[]],
 * no options, for every method. */
static void test_params_empty_table(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r = call(w, c, "abort", "[]");

	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	assert_non_null(strstr(str_at(r, "2.1"), "say what to abort"));
	json_decref(r);
	r = result(w, c, "ping", "[]");
	assert_int_equal(int_at(r, "protocol"), PROTO_VERSION);
	json_decref(r);
	json_decref(result(w, c, "status", "[]"));
	json_decref(result(w, c, "subscribe", "[]"));
	r = call(w, c, "ping", "[1]");
	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	assert_string_equal(str_at(r, "2.1"), "bad_request: " PROTO_PARAMS_BAD);
	json_decref(r);
	client_free(w, c);
}

/* A subscribed Neovim answers each event it cannot run with
 * nvim_error_event: logged once escaped and cut, within the connection's
 * bound of ignored notifications; the subscription goes on. */
static void test_nvim_error_event(void **state)
{
	struct world *w = *state;
	struct client *nv = client_new(w);
	char text[4 * CONTROL_NVIM_ERROR_LOGGED], frame[sizeof(text) + 64];
	const char *log, *line;
	json_t *m;
	int i;

	json_decref(result(w, nv, "subscribe",
	    "{\"events\": [\"session.status\"], \"nvim\": {\"function\": \"NoSuchFn\"}}"));
	stderr_catch();
	BUSY(w, "ses_e");
	m = wait_for(w, nv, is_notification, "nvim_call_function");
	json_decref(m);
	send_json(nv,
	    "[2, \"nvim_error_event\", [0, \"Vim:E117: Unknown function: "
	    "NoSuchFn\\nstack\\u00e9\"]]");
	/* A long one, then malformed ones, and as many more as a busy status
	 * line makes. */
	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	snprintf(frame, sizeof(frame), "[2, \"nvim_error_event\", [1, \"%s\"]]", text);
	send_json(nv, frame);
	send_json(nv, "[2, \"nvim_error_event\", []]");
	send_json(nv, "[2, \"nvim_error_event\", [\"0\", {}]]");
	for (i = 4; i < 100; i++)
		send_json(nv, "[2, \"nvim_error_event\", [0, \"again\"]]");
	IDLE(w, "ses_e");
	m = wait_for(w, nv, is_notification, "nvim_call_function");
	assert_string_equal(str_at(m, "2.1.0.session.status"), "idle");
	json_decref(m);
	/* Read and still subscribed: a request is answered after them. */
	json_decref(result(w, nv, "ping", NULL));
	log = stderr_release();
	assert_non_null(strstr(log,
	    ": Neovim could not run an event: Vim:E117: Unknown function: "
	    "NoSuchFn\\x0astack\\xc3\\xa9 (1 so far)\n"));
	assert_non_null(line = strstr(log, ": Neovim could not run an event: yyy"));
	assert_int_equal(strcspn(line, "\n"),
	    strlen(": Neovim could not run an event: ") + CONTROL_NVIM_ERROR_LOGGED +
		strlen(" (2 so far)"));
	assert_non_null(strstr(line, "yyy... (2 so far)\n"));
	assert_non_null(strstr(log, ": a malformed nvim_error_event (3 so far)\n"));
	assert_non_null(strstr(log, ": a malformed nvim_error_event (4 so far)\n"));
	assert_int_equal(count_lines(log, "Neovim could not run an event: again"), 7);
	assert_int_equal(count_lines(log, "(100 so far)"), 1);
	assert_int_equal(count_lines(log, "nvim_error_event' ignored"), 0);
	client_free(w, nv);
}

/* An x typed at typed (the shim's wall clock) in session, which runs: the
 * verdict is abort. */
static void x_typed_at(struct world *w, struct client *c, const char *session,
    const char *message_id, long long typed)
{
	char text[512];
	json_t *r;

	snprintf(text, sizeof(text),
	    "{\"session\": \"%s\", \"message_id\": \"%s\", \"typed_at\": %lld, \"parts\": "
	    "[{\"type\": \"text\", \"text\": \"x\"}]}",
	    session, message_id, typed);
	r = result(w, c, "message", text);
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
}

/* A typed_at the shim cannot have meant (it stamps the x as it sends it):
 * ten minutes before the daemon read it, an hour after, or at the epoch.
 * It is not taken: the verdict event carries none, and ms is unknown, not
 * ten minutes. */
static void test_message_typed_at_absurd(void **state)
{
	static const long long offsets[] = { 600LL * 1000, -3600LL * 1000, 1 };
	struct world *w = *state;
	struct client *c = client_new(w), *sub = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	long long typed;
	json_t *ev;
	size_t i;

	json_decref(result(w, sub, "subscribe", "{\"events\": [\"verdict\"]}"));
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		BUSY(w, "ses_t");
		/* The last: 1 ms after the epoch. */
		typed = offsets[i] == 1 ? 1 : (long long)clock_wall_ms() - offsets[i];
		x_typed_at(w, c, "ses_t", "msg_t", typed);
		abort_lands(w, f, i, "ses_t");
		ev = wait_for(w, c, is_notification, "x.result");
		assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
		assert_int_equal(json_integer_value(
				     json_object_get(json_array_get(json_array_get(ev, 2), 0),
					 "ms")),
		    -1);
		json_decref(ev);
		ev = wait_for(w, sub, is_event_type, "verdict");
		assert_null(json_object_get(json_array_get(json_array_get(ev, 2), 0), "typed_at"));
		json_decref(ev);
	}
	client_free(w, c);
	client_free(w, sub);
}

/* Verdicts: pass, clear with nothing running, abort and a stop of the tree
 * while it runs; published only to those who asked. The stop of an x sends
 * the typed-in session no abort (the shim aborts it in-process) and tells
 * the shim's connection how it ended. */
static void test_message(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *sub = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r, *ev;
	json_int_t ms;
	long long typed;

	json_decref(result(w, sub, "subscribe", "{\"events\": [\"verdict\"]}"));
	r = result(w, c, "message",
	    "{\"session\": \"ses_m\", \"parts\": [{\"type\": \"text\", \"text\": \"y\"}]}");
	assert_string_equal(str_at(r, "verdict"), "pass");
	assert_null(json_object_get(r, "aborted"));
	json_decref(r);
	IDLE(w, "ses_m");
	r = result(w, c, "message",
	    "{\"session\": \"ses_m\", \"parts\": [{\"type\": \"text\", \"text\": \" X \"}]}");
	assert_string_equal(str_at(r, "verdict"), "clear");
	assert_non_null(str_at(r, "text"));
	json_decref(r);
	ev = wait_for(w, sub, is_event_type, "verdict");
	assert_string_equal(str_at(ev, "2.0.verdict"), "clear");
	assert_string_equal(str_at(ev, "2.0.session.status"), "idle");
	/* No typed_at given, none told. */
	assert_null(json_object_get(json_array_get(json_array_get(ev, 2), 0), "typed_at"));
	json_decref(ev);
	ev = wait_for(w, c, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "idle");
	assert_string_equal(str_at(ev, "2.0.reason"), "nothing was running");
	json_decref(ev);
	BUSY(w, "ses_m");
	/* Typed 500 ms ago by the shim's clock. */
	typed = (long long)(clock_wall_ms() - 500);
	x_typed_at(w, c, "ses_m", "msg_1", typed);
	/* Over HTTP the daemon's own abort goes too: another way to OpenCode. */
	abort_lands(w, f, 0, "ses_m");
	ev = wait_for(w, c, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
	assert_string_equal(str_at(ev, "2.0.message_id"), "msg_1");
	/* From the x to the idle, as both clocks tell it. */
	ms = json_integer_value(json_object_get(json_array_get(json_array_get(ev, 2), 0), "ms"));
	assert_true(ms >= 500 && ms < 500 + test_wait_ms(WAIT_MS));
	assert_string_equal(str_at(ev, "2.0.stop.session"), "ses_m");
	assert_string_equal(str_at(ev, "2.0.stop.origin"), "x");
	assert_int_equal(json_array_size(
			     json_object_get(json_object_get(json_array_get(json_array_get(ev, 2),
								 0),
						 "stop"),
				 "running")),
	    0);
	json_decref(ev);
	/* Never seen, and the shim's OpenCode unknown: abort, nothing proven. */
	r = result(w, c, "message",
	    "{\"session\": \"ses_new\", \"parts\": [{\"type\": \"text\", \"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	assert_int_equal(f->n_aborts, 1);
	ev = wait_for(w, c, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "unverified");
	assert_non_null(str_at(ev, "2.0.reason"));
	json_decref(ev);
	/* The verdict event carries the shim's moment of the x, to split
	 * OpenCode's work before the hook from what followed. */
	ev = wait_for(w, sub, is_event_type, "verdict");
	assert_string_equal(str_at(ev, "2.0.verdict"), "abort");
	assert_int_equal(json_integer_value(
			     json_object_get(json_array_get(json_array_get(ev, 2), 0), "typed_at")),
	    typed);
	json_decref(ev);
	ev = wait_for(w, sub, is_event_type, "verdict");
	assert_string_equal(str_at(ev, "2.0.session.id"), "ses_new");
	assert_null(str_at(ev, "2.0.session.status"));
	json_decref(ev);
	client_free(w, c);
	client_free(w, sub);
}

/* x_force: the stop of an x that stalls is forced (no ender here finds any
 * process), the x.result says so, and register's proof_ms waits for that
 * too. A registered OpenCode is known, to be spared. */
static void test_x_force(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_int_t plain;
	json_t *r, *ev;

	w->cfg.stop_timeout_ms = CONFIG_MIN_STOP_TIMEOUT_MS;
	assert_false(control_is_opencode_pid(w->ctl, getpid()));
	r = result(w, c, "register",
	    "{\"server_url\": \"http://fake\", \"directory\": \"/p\", \"pid\": 4242}");
	plain = int_at(r, "proof_ms");
	json_decref(r);
	/* What a forced stop never ends: the OpenCode registered, and the
	 * process at the other end of its shim's connection. */
	assert_true(control_is_opencode_pid(w->ctl, 4242));
	assert_true(control_is_opencode_pid(w->ctl, getpid()));
	assert_false(control_is_opencode_pid(w->ctl, 4243));
	w->cfg.x_force = true;
	r = result(w, c, "register",
	    "{\"server_url\": \"http://fake\", \"directory\": \"/q\", \"pid\": 4242}");
	assert_int_equal(int_at(r, "proof_ms"),
	    plain + CONFIG_MIN_STOP_TIMEOUT_MS + PROC_GRACE_MS + PROC_KILL_WAIT_MS);
	json_decref(r);
	BUSY(w, "ses_f");
	r = result(w, c, "message",
	    "{\"session\": \"ses_f\", \"parts\": [{\"type\": \"text\", \"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	ev = wait_for(w, c, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "not_stopped");
	assert_true(json_is_true(
	    json_object_get(json_object_get(json_array_get(json_array_get(ev, 2), 0), "stop"),
		"force")));
	json_decref(ev);
	client_free(w, c);
}

/* The table says idle but a busy status is late: a cleared x is checked
 * against OpenCode's statuses, and what runs after all is stopped (the
 * shim did not abort it: the daemon does). */
static void test_message_stale_clear(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r, *busy = jsonf("{\"ses_s\": {\"type\": \"busy\"}}");

	f->take_checks = true;
	IDLE(w, "ses_s");
	r = result(w, c, "message",
	    "{\"session\": \"ses_s\", \"directory\": \"/proj\", \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "clear");
	json_decref(r);
	assert_int_equal(f->n_checks, 1);
	assert_string_equal(f->checks[0].directory, "/proj");
	engine_observe_statuses(w->e, w->http, "/proj", busy, clock_now_ms());
	json_decref(busy);
	fake_answer_check(f, 0, true, clock_now_ms());
	assert_int_equal(f->n_aborts, 1);
	assert_string_equal(f->aborts[0].session, "ses_s");
	fake_answer(f, 0, true, NULL, clock_now_ms());
	IDLE(w, "ses_s");
	x_result_is(w, c, "stopped");
	/* A check that fails leaves the table's word. */
	r = result(w, c, "message",
	    "{\"session\": \"ses_s\", \"directory\": \"/proj\", \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "clear");
	json_decref(r);
	fake_answer_check(f, 1, false, clock_now_ms());
	x_result_is(w, c, "idle");
	client_free(w, c);
}

/* Checks of cleared x's share the server's lookups bound with probes: past
 * SERVER_MAX_PROBES in flight an x is answered from the table alone, and
 * the requests a stop needs stay free. */
static void test_check_bound(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r;
	int i;

	f->take_checks = true;
	IDLE(w, "ses_k");
	for (i = 0; i < SERVER_MAX_PROBES + 8; i++) {
		r = result(w, c, "message",
		    "{\"session\": \"ses_k\", \"directory\": \"/proj\", \"parts\": [{\"type\": "
		    "\"text\", \"text\": \"x\"}]}");
		assert_string_equal(str_at(r, "verdict"), "clear");
		json_decref(r);
	}
	assert_int_equal(f->n_checks, SERVER_MAX_PROBES);
	for (i = 0; i < 8; i++)
		x_result_is(w, c, "idle");
	for (i = 0; i < SERVER_MAX_PROBES; i++)
		fake_answer_check(f, (size_t)i, true, clock_now_ms());
	for (i = 0; i < SERVER_MAX_PROBES; i++)
		x_result_is(w, c, "idle");
	/* Answered, they count no more. */
	r = result(w, c, "message",
	    "{\"session\": \"ses_k\", \"directory\": \"/proj\", \"parts\": [{\"type\": "
	    "\"text\", \"text\": \"x\"}]}");
	json_decref(r);
	assert_int_equal(f->n_checks, SERVER_MAX_PROBES + 1);
	fake_answer_check(f, SERVER_MAX_PROBES, true, clock_now_ms());
	x_result_is(w, c, "idle");
	client_free(w, c);
}

/* check answers what message would, and does nothing: no verdict counted or
 * published, no stop, no x.result. */
static void test_check(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *sub = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	const char *why = NULL;
	char text[RPC_MAX_TEXT + 64];
	json_t *r, *counters;

	assert_int_equal(config_add_stop_word(&w->cfg, "Стоп", &why), 0);
	json_decref(result(w, sub, "subscribe", "{\"events\": [\"verdict\", \"stop\"]}"));
	BUSY(w, "ses_c");
	r = result(w, c, "check", "{\"text\": \" X\\n\"}");
	assert_true(json_is_true(json_object_get(r, "stop")));
	assert_string_equal(str_at(r, "word"), "x");
	assert_string_equal(str_at(r, "if_running"), "abort");
	assert_string_equal(str_at(r, "if_idle"), "clear");
	json_decref(r);
	r = result(w, c, "check", "{\"text\": \"СТОП\"}");
	assert_string_equal(str_at(r, "word"), "стоп");
	json_decref(r);
	r = result(w, c, "check", "{\"text\": \"x!\"}");
	assert_true(json_is_false(json_object_get(r, "stop")));
	assert_null(json_object_get(r, "word"));
	assert_string_equal(str_at(r, "if_running"), "pass");
	assert_string_equal(str_at(r, "if_idle"), "pass");
	json_decref(r);
	/* Past the bound message compares, never a stop word: "x" after
	 * spaces that trimming would remove. */
	memset(text, 0, sizeof(text));
	strcpy(text, "{\"text\": \"");
	memset(text + strlen(text), ' ', RPC_MAX_TEXT);
	strcat(text, "x\"}");
	r = result(w, c, "check", text);
	assert_true(json_is_false(json_object_get(r, "stop")));
	json_decref(r);
	text[strlen("{\"text\": \"") + 1] = '\0';
	strcat(text, "x\"}");
	r = result(w, c, "check", text);
	assert_true(json_is_true(json_object_get(r, "stop")));
	json_decref(r);
	assert_int_equal(error_code(w, c, "check", NULL), PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "check", "{\"text\": 1}"), PROTO_EBADREQ);
	for (int i = 0; i < 50; i++)
		turn(w);
	assert_int_equal(f->n_aborts, 0);
	drain(sub);
	drain(c);
	assert_int_equal(json_array_size(sub->inbox), 0);
	assert_int_equal(json_array_size(c->inbox), 0);
	r = result(w, c, "status", NULL);
	counters = json_object_get(r, "counters");
	assert_int_equal(int_at(counters, "verdicts_pass"), 0);
	assert_int_equal(int_at(counters, "verdicts_clear"), 0);
	assert_int_equal(int_at(counters, "verdicts_abort"), 0);
	assert_int_equal(int_at(counters, "aborts"), 0);
	assert_string_equal(str_at(r, "sessions.0.status"), "busy");
	json_decref(r);
	client_free(w, c);
	client_free(w, sub);
}

/* status says what doctor needs: the stop words in force, and which servers
 * a shim registered, until its connection goes. */
static void test_status_words_shims(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *shim = client_new(w);
	json_t *r;

	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "stop_words")), 1);
	assert_string_equal(str_at(r, "stop_words.0"), "x");
	assert_true(json_is_false(
	    json_object_get(json_array_get(json_object_get(r, "servers"), 0), "shim")));
	json_decref(r);
	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/s\", \"pid\": 900400, "
	    "\"opencode_version\": \"1.18.33\"}"));
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 2);
	assert_string_equal(str_at(r, "servers.1.url"), "pid:900400");
	assert_string_equal(str_at(r, "servers.1.version"), "1.18.33");
	assert_int_equal(int_at(json_array_get(json_object_get(r, "servers"), 1), "pid"), 900400);
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(r, "servers"), 1), "shim")));
	json_decref(r);
	client_free(w, shim);
	for (int i = 0; i < 50; i++)
		turn(w);
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 1);
	json_decref(r);
	client_free(w, c);
}

/* A verdict the shim stopped waiting for is not given (nor counted, nor
 * published); the shim says what it did alone with x.done, and that stop
 * is proven too. A shim whose own abort failed has the daemon send it. */
static void test_message_late(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r, *ev;
	char text[512];

	BUSY(w, "ses_l");
	snprintf(text, sizeof(text),
	    "{\"session\": \"ses_l\", \"deadline\": %lld, \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}",
	    (long long)(clock_wall_ms() - 1000));
	assert_int_equal(error_code(w, c, "message", text), PROTO_ETIMEOUT);
	r = result(w, c, "status", NULL);
	assert_int_equal(counter_at(r, "verdicts_abort"), 0);
	json_decref(r);
	assert_int_equal(f->n_aborts, 0);
	/* The shim decided alone and aborted ses_l itself. */
	send_json(c,
	    "[2, \"x.done\", [{\"session\": \"ses_l\", \"message_id\": \"msg_l\", "
	    "\"verdict\": \"abort\", \"by\": \"shim\", \"aborted\": true}]]");
	r = result(w, c, "status", NULL);
	assert_int_equal(counter_at(r, "verdicts_abort"), 1);
	assert_int_equal(counter_at(r, "aborts"), 1);
	json_decref(r);
	for (int i = 0; i < 20 && f->n_aborts == 0; i++)
		turn(w);
	assert_int_equal(f->n_aborts, 1);
	fake_answer(f, 0, true, NULL, clock_now_ms());
	IDLE(w, "ses_l");
	ev = wait_for(w, c, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
	assert_string_equal(str_at(ev, "2.0.message_id"), "msg_l");
	json_decref(ev);
	/* A deadline still ahead is an ordinary verdict; the shim's abort then
	 * fails: over HTTP the daemon's own abort is out already, and nothing
	 * more is sent. */
	BUSY(w, "ses_f");
	snprintf(text, sizeof(text),
	    "{\"session\": \"ses_f\", \"deadline\": %lld, \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}",
	    (long long)(clock_wall_ms() + 60000));
	r = result(w, c, "message", text);
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	for (int i = 0; i < 20 && f->n_aborts == 1; i++)
		turn(w);
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_f");
	send_json(c,
	    "[2, \"x.done\", [{\"session\": \"ses_f\", \"verdict\": \"abort\", "
	    "\"by\": \"daemon\", \"aborted\": false}]]");
	turn(w);
	assert_int_equal(f->n_aborts, 2);
	fake_answer(f, 1, true, NULL, clock_now_ms());
	IDLE(w, "ses_f");
	x_result_is(w, c, "stopped");
	/* Bad x.done: refused, nothing counted. */
	send_json(c,
	    "[2, \"x.done\", [{\"session\": \"ses_f\", \"verdict\": \"pass\", "
	    "\"by\": \"shim\"}]]");
	r = result(w, c, "status", NULL);
	assert_int_equal(counter_at(r, "verdicts_abort"), 2);
	assert_int_equal(counter_at(r, "verdicts_pass"), 0);
	json_decref(r);
	client_free(w, c);
}

/* Where the inbox holds the first message match accepts; -1 if none. */
static ssize_t inbox_index(struct client *c, bool (*match)(json_t *, const void *), const void *arg)
{
	json_t *m;
	size_t i;

	drain(c);
	json_array_foreach(c->inbox, i, m)
		if (match(m, arg))
			return (ssize_t)i;
	return -1;
}

/* Register shim as the plugin of an OpenCode at version ("" unknown) that
 * holds fences and is reached over HTTP (the fake backend): this process
 * listens, on *lfd, where it says that OpenCode does. */
static struct server *http_shim(struct world *w, struct client *shim, const char *version, int *lfd)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	char url[64], text[512];
	struct server *srv;
	json_t *r;

	assert_true((*lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(*lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(*lfd, 1), 0);
	assert_int_equal(getsockname(*lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sin.sin_port));
	snprintf(text, sizeof(text),
	    "{\"server_url\": \"%s\", \"directory\": \"/d\", \"pid\": %d, \"fences\": true, "
	    "\"opencode_version\": \"%s\"}",
	    url, (int)getpid(), version);
	r = result(w, shim, "register", text);
	assert_true(json_is_true(json_object_get(r, "http")));
	json_decref(r);
	assert_non_null(srv = server_find_url(w->e, url));
	return srv;
}

static void status_of(struct world *w, struct server *srv, const char *id, const char *status)
{
	json_t *ev = jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\","
			   "\"status\":{\"type\":\"%s\"}}}",
	    id, status);

	engine_observe_event(w->e, srv, "/d", ev, clock_now_ms());
	json_decref(ev);
}

/* The shim's x in a running session: the verdict is abort. */
static void type_x(struct world *w, struct client *shim, const char *session)
{
	char text[512];
	json_t *r;

	snprintf(text, sizeof(text),
	    "{\"session\": \"%s\", \"message_id\": \"msg_d\", \"deadline\": %lld, "
	    "\"parts\": [{\"type\": \"text\", \"text\": \"x\"}]}",
	    session, (long long)(clock_wall_ms() + 60000));
	r = result(w, shim, "message", text);
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
}

/* Over HTTP with fences the proof of an x waits for the shim's word that its
 * own abort returned. The daemon's verdict can reach the shim after its
 * deadline: the shim then says it decided alone. That word is the one the
 * stop waits for, and the x is the same: proven at once (not at the
 * attempt's deadline), counted and told once. */
static void test_x_done_after_late_verdict(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w);
	int lfd;
	struct server *srv = http_shim(w, shim, "", &lfd);
	struct fake *f = fake_of(&w->fakes, srv);
	json_t *r, *ev;
	int64_t t0;

	status_of(w, srv, "ses_d", "busy");
	type_x(w, shim, "ses_d");
	t0 = clock_now_ms();
	/* OpenCode's version unknown: the daemon's abort goes too; it lands,
	 * and OpenCode says idle: the proof waits for the shim's. */
	for (int i = 0; i < 20 && f->n_aborts == 0; i++)
		turn(w);
	assert_int_equal(f->n_aborts, 1);
	fake_answer(f, 0, true, NULL, clock_now_ms());
	status_of(w, srv, "ses_d", "idle");
	for (int i = 0; i < 20; i++)
		turn(w);
	assert_true(inbox_index(shim, is_notification, "x.result") < 0);
	send_json(shim,
	    "[2, \"x.done\", [{\"session\": \"ses_d\", \"message_id\": \"msg_d\", "
	    "\"verdict\": \"abort\", \"by\": \"shim\", \"aborted\": true}]]");
	ev = wait_for(w, shim, is_notification, "x.result");
	assert_true(clock_now_ms() - t0 < w->cfg.stop_timeout_ms);
	assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
	assert_string_equal(str_at(ev, "2.0.message_id"), "msg_d");
	assert_true(json_is_true(
	    json_object_get(json_object_get(json_array_get(json_array_get(ev, 2), 0), "stop"),
		"fenced")));
	json_decref(ev);
	r = result(w, shim, "status", NULL);
	assert_int_equal(counter_at(r, "verdicts_abort"), 1);
	assert_int_equal(counter_at(r, "aborts"), 1);
	json_decref(r);
	assert_true(inbox_index(shim, is_notification, "x.result") < 0);
	assert_int_equal(f->n_aborts, 1);
	client_free(w, shim);
	close(lfd);
}

/* A second x in the same session while the first one's stop runs, which
 * the shim decided alone (its message_id is another): it is not the first
 * x's word. It is counted and published, and gets its own x.result. */
static void test_x_done_second_x(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *sub = client_new(w);
	int lfd;
	struct server *srv = http_shim(w, shim, "1.18.33", &lfd);
	json_t *r, *ev;

	json_decref(result(w, sub, "subscribe", "{\"events\": [\"verdict\"]}"));
	status_of(w, srv, "ses_q", "busy");
	type_x(w, shim, "ses_q");
	json_decref(wait_for(w, sub, is_event_type, "verdict"));
	send_json(shim,
	    "[2, \"x.done\", [{\"session\": \"ses_q\", \"message_id\": \"msg_2\", "
	    "\"verdict\": \"abort\", \"by\": \"shim\", \"aborted\": true}]]");
	ev = wait_for(w, sub, is_event_type, "verdict");
	assert_string_equal(str_at(ev, "2.0.verdict"), "abort");
	json_decref(ev);
	status_of(w, srv, "ses_q", "idle");
	ev = wait_for(w, shim, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
	json_decref(ev);
	ev = wait_for(w, shim, is_notification, "x.result");
	assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
	json_decref(ev);
	r = result(w, shim, "status", NULL);
	assert_int_equal(counter_at(r, "verdicts_abort"), 2);
	json_decref(r);
	client_free(w, shim);
	client_free(w, sub);
	close(lfd);
}

/* From OpenCode 1.16 on the shim's in-process abort of the typed-in session
 * is enough over HTTP too: the daemon sends none, and its idle proves the
 * stop with no word to wait for. 1.15 gets the daemon's abort as well. */
static void test_x_one_abort(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *old = client_new(w);
	int lfd, lfd_old;
	struct server *srv = http_shim(w, shim, "1.18.33", &lfd);
	struct server *srv_old = http_shim(w, old, "1.15.13", &lfd_old);
	struct fake *f = fake_of(&w->fakes, srv), *f_old = fake_of(&w->fakes, srv_old);

	status_of(w, srv, "ses_n", "busy");
	type_x(w, shim, "ses_n");
	for (int i = 0; i < 20; i++)
		turn(w);
	assert_int_equal(f->n_aborts, 0);
	status_of(w, srv, "ses_n", "idle");
	x_result_is(w, shim, "stopped");
	status_of(w, srv_old, "ses_o", "busy");
	type_x(w, old, "ses_o");
	for (int i = 0; i < 20 && f_old->n_aborts == 0; i++)
		turn(w);
	assert_int_equal(f_old->n_aborts, 1);
	assert_string_equal(f_old->aborts[0].session, "ses_o");
	fake_answer(f_old, 0, true, NULL, clock_now_ms());
	status_of(w, srv_old, "ses_o", "idle");
	send_json(old,
	    "[2, \"x.done\", [{\"session\": \"ses_o\", \"verdict\": \"abort\", "
	    "\"by\": \"daemon\", \"aborted\": true}]]");
	x_result_is(w, old, "stopped");
	client_free(w, shim);
	client_free(w, old);
	close(lfd);
	close(lfd_old);
}

/* A peer that sends x after x for one running tree: each outcome it waits
 * for is held until the stop ends, up to CONTROL_MAX_X_PENDING; past that
 * it is told at once that the x is not proven, and holds nothing. */
static void test_x_pending_bound(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *ev, *r;
	int i, limited = 0, stopped = 0;

	BUSY(w, "ses_z");
	for (i = 0; i < CONTROL_MAX_X_PENDING + 6; i++)
		send_json(c,
		    "[2, \"x.done\", [{\"session\": \"ses_z\", \"verdict\": \"abort\", "
		    "\"by\": \"shim\", \"aborted\": true}]]");
	r = result(w, c, "status", NULL);
	assert_int_equal(counter_at(r, "aborts"), 1);
	json_decref(r);
	for (i = 0; i < 6; i++) {
		ev = wait_for(w, c, is_notification, "x.result");
		assert_string_equal(str_at(ev, "2.0.outcome"), "unverified");
		assert_non_null(strstr(str_at(ev, "2.0.reason"), "limit"));
		limited++;
		json_decref(ev);
	}
	IDLE(w, "ses_z");
	for (i = 0; i < CONTROL_MAX_X_PENDING; i++) {
		ev = wait_for(w, c, is_notification, "x.result");
		assert_string_equal(str_at(ev, "2.0.outcome"), "stopped");
		stopped++;
		json_decref(ev);
	}
	assert_int_equal(limited + stopped, CONTROL_MAX_X_PENDING + 6);
	/* All released: the next x is held again. */
	BUSY(w, "ses_z");
	send_json(c,
	    "[2, \"x.done\", [{\"session\": \"ses_z\", \"verdict\": \"abort\", "
	    "\"by\": \"shim\"}]]");
	turn(w);
	IDLE(w, "ses_z");
	x_result_is(w, c, "stopped");
	client_free(w, c);
}

/* A stop word in another script: the shim is told it and how long a message
 * may be, and the daemon's verdict on it in any case is a stop. */
static void test_message_unicode(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	const char *why = NULL;
	json_t *r;

	assert_int_equal(config_add_stop_word(&w->cfg, "Стоп", &why), 0);
	r = result(w, c, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/u\", \"pid\": 900300}");
	assert_string_equal(str_at(r, "stop_words.1"), "стоп");
	assert_int_equal(int_at(r, "max_len"), 8);
	json_decref(r);
	r = result(w, c, "message",
	    "{\"session\": \"ses_u\", \"parts\": [{\"type\": \"text\", \"text\": \"СТОП\"}]}");
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	IDLE(w, "ses_u");
	r = result(w, c, "message",
	    "{\"session\": \"ses_u\", \"parts\": [{\"type\": \"text\", \"text\": \"\u00a0с\"}, "
	    "{\"type\": \"text\", \"text\": \"топ\\n\"}]}");
	assert_string_equal(str_at(r, "verdict"), "clear");
	json_decref(r);
	r = result(w, c, "message",
	    "{\"session\": \"ses_u\", \"parts\": [{\"type\": \"text\", \"text\": \"стоп!\"}]}");
	assert_string_equal(str_at(r, "verdict"), "pass");
	json_decref(r);
	client_free(w, c);
}

/* Answers the next relay request method the shim gets with reply, the
 * response's "error, result" in JSON. */
static void shim_answers(struct world *w, struct client *shim, const char *method,
    const char *reply)
{
	json_t *req = wait_for(w, shim, is_request, method);
	char text[1024];

	snprintf(text, sizeof(text), "[1, %lld, %s]",
	    (long long)json_integer_value(json_array_get(req, 1)), reply);
	json_decref(req);
	send_json(shim, text);
}

/* A shim's error reply to a relay request is read in its form of protocol
 * 6 and in an older shim's [code, message]: the stop says what it said. */
static void test_relay_error(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *c = client_new(w);
	static const char *const errors[] = {
		"[1, \"not_found: no OpenCode instance for /e\"], null",
		"[3, \"no OpenCode instance for /e\"], null",
	};
	json_t *r;
	char text[512];
	size_t i;

	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/e\", \"pid\": 900500}"));
	shim_answers(w, shim, "opencode.sessions",
	    "null, {\"statuses\": \"{\\\"ses_e\\\": {\\\"type\\\": \\\"busy\\\"}}\", "
	    "\"sessions\": \"[{\\\"id\\\": \\\"ses_e\\\", \\\"directory\\\": \\\"/e\\\"}]\"}");
	json_decref(result(w, c, "status", NULL));
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		uint32_t id = ++c->msgid;

		snprintf(text, sizeof(text),
		    "[0, %u, \"abort\", [{\"session\": \"ses_e\", \"timeout_ms\": 100}]]", id);
		send_json(c, text);
		shim_answers(w, shim, "opencode.abort", errors[i]);
		shim_answers(w, shim, "opencode.abort", errors[i]);
		shim_answers(w, shim, "opencode.sessions",
		    "null, {\"statuses\": \"{\\\"ses_e\\\": {\\\"type\\\": \\\"busy\\\"}}\", "
		    "\"sessions\": \"[]\"}");
		r = wait_for(w, c, is_reply, &id);
		assert_true(json_is_false(
		    json_object_get(json_array_get(json_object_get(json_array_get(r, 3), "results"),
					0),
			"stopped")));
		assert_non_null(strstr(str_at(r, "3.results.0.reason"),
		    "the shim refused the abort: not_found: no OpenCode instance for /e"));
		json_decref(r);
	}
	client_free(w, shim);
	client_free(w, c);
}

/* A shim of a port-less OpenCode: register as a relay, answer the listing,
 * relay events up, and carry out the daemon's abort; its connection gone,
 * its server goes. */
static void test_relay(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *c = client_new(w);
	json_t *r, *req;
	char text[512];
	uint32_t id;
	int64_t deadline;

	r = result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", "
	    "\"pid\": 900200, \"opencode_version\": \"9.9\"}");
	assert_true(json_is_true(json_object_get(r, "relay")));
	assert_true(json_is_false(json_object_get(r, "http")));
	assert_string_equal(str_at(r, "server"), "pid:900200");
	assert_int_equal(int_at(r, "max_len"), 1);
	json_decref(r);
	req = wait_for(w, shim, is_request, "opencode.sessions");
	assert_string_equal(str_at(req, "3.0.directory"), "/r");
	snprintf(text, sizeof(text),
	    "[1, %lld, null, {\"statuses\": \"{\\\"ses_r\\\": {\\\"type\\\": \\\"busy\\\"}}\", "
	    "\"sessions\": \"[{\\\"id\\\": \\\"ses_r\\\", \\\"directory\\\": \\\"/r\\\", \\\"title\\\": \\\"relayed\\\"}]\"}]",
	    (long long)json_integer_value(json_array_get(req, 1)));
	json_decref(req);
	send_json(shim, text);
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 2);
	assert_string_equal(str_at(r, "sessions.0.id"), "ses_r");
	assert_string_equal(str_at(r, "sessions.0.title"), "relayed");
	assert_string_equal(str_at(r, "sessions.0.status"), "busy");
	json_decref(r);
	/* A stop through the relay. */
	id = ++c->msgid;
	snprintf(text, sizeof(text), "[0, %u, \"abort\", [{\"directory\": \"/r/sub\"}]]", id);
	send_json(c, text);
	req = wait_for(w, shim, is_request, "opencode.abort");
	assert_string_equal(str_at(req, "3.0.session"), "ses_r");
	/* Its deadline, on the wall clock: a shim reading it later does not
	 * abort (the user's next turn may run by then). */
	deadline = json_integer_value(
	    json_object_get(json_array_get(json_array_get(req, 3), 0), "deadline"));
	assert_true(deadline > clock_wall_ms() && deadline < clock_wall_ms() + 600000);
	snprintf(text, sizeof(text), "[1, %lld, null, {\"ok\": true, \"ms\": 4}]",
	    (long long)json_integer_value(json_array_get(req, 1)));
	json_decref(req);
	send_json(shim, text);
	send_json(shim,
	    "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": "
	    "\"{\\\"type\\\":\\\"session.idle\\\",\\\"properties\\\":{\\\"sessionID\\\":\\\"ses_r\\\"}}\"}]]");
	r = wait_for(w, c, is_reply, &id);
	assert_string_equal(str_at(r, "3.results.0.session"), "ses_r");
	assert_string_equal(str_at(r, "3.results.0.server"), "pid:900200");
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(json_array_get(r, 3), "results"), 0),
		"stopped")));
	json_decref(r);
	/* x typed in the relayed OpenCode: the shim aborts in-process, and the
	 * daemon sends it no abort of its own (one abort per stop). */
	send_json(shim,
	    "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": "
	    "\"{\\\"type\\\":\\\"session.status\\\",\\\"properties\\\":{\\\"sessionID\\\":"
	    "\\\"ses_r\\\",\\\"status\\\":{\\\"type\\\":\\\"busy\\\"}}}\"}]]");
	r = result(w, shim, "message",
	    "{\"session\": \"ses_r\", \"directory\": \"/r\", \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	send_json(shim,
	    "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": "
	    "\"{\\\"type\\\":\\\"session.idle\\\",\\\"properties\\\":{\\\"sessionID\\\":"
	    "\\\"ses_r\\\"}}\"}]]");
	r = wait_for(w, shim, is_notification, "x.result");
	assert_string_equal(str_at(r, "2.0.outcome"), "stopped");
	json_decref(r);
	drain(shim);
	for (size_t i = 0; i < json_array_size(shim->inbox); i++)
		assert_false(is_request(json_array_get(shim->inbox, i), "opencode.abort"));
	/* Events from a connection that relays nothing are refused. */
	send_json(c, "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": \"{}\"}]]");
	client_free(w, shim);
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 1);
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 0);
	json_decref(r);
	client_free(w, c);
}

/* The first result of an abort reply (borrowed). */
static json_t *first_result(json_t *reply)
{
	return json_array_get(json_object_get(json_array_get(reply, 3), "results"), 0);
}

/* Answer the relay request req with reply, as shim_answers does. */
static void shim_answer(struct client *shim, json_t *req, const char *reply)
{
	char text[1024];

	snprintf(text, sizeof(text), "[1, %lld, %s]",
	    (long long)json_integer_value(json_array_get(req, 1)), reply);
	send_json(shim, text);
}

/* x's the table clears, read in one turn, share one listing of their
 * directory; an x that comes once that listing went out gets one of its
 * own: the shim reads the statuses only when it has the whole request, so
 * a listing sent before the x was read could miss its session's busy. */
static void test_relay_clears_share_listing(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w);
	static const char *const ids[] = { "ses_q1", "ses_q2", "ses_q1" };
	static const char *const idle = "null, {\"statuses\": \"{}\", \"sessions\": \"[]\"}";
	json_t *r, *first, *second, *m;
	char text[512];
	uint32_t id;
	size_t i, listings = 0;

	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/q\", \"pid\": 900600}"));
	shim_answers(w, shim, "opencode.sessions",
	    "null, {\"statuses\": \"{}\", \"sessions\": \"[{\\\"id\\\": \\\"ses_q1\\\", "
	    "\\\"directory\\\": \\\"/q\\\"}, {\\\"id\\\": \\\"ses_q2\\\", \\\"directory\\\": "
	    "\\\"/q\\\"}]\"}");
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
		    "[0, %u, \"message\", [{\"session\": \"%s\", \"directory\": \"/q\", "
		    "\"parts\": [{\"type\": \"text\", \"text\": \"x\"}]}]]",
		    id = ++shim->msgid, ids[i]);
		send_json(shim, text);
	}
	r = wait_for(w, shim, is_reply, &id);
	assert_string_equal(str_at(r, "3.verdict"), "clear");
	json_decref(r);
	first = wait_for(w, shim, is_request, "opencode.sessions");
	assert_string_equal(str_at(first, "3.0.directory"), "/q");
	drain(shim);
	json_array_foreach(shim->inbox, i, m)
		listings += is_request(m, "opencode.sessions");
	assert_int_equal(listings, 0);
	/* The first listing is out, not answered: the next x is not told by it. */
	r = result(w, shim, "message",
	    "{\"session\": \"ses_q2\", \"directory\": \"/q\", \"parts\": [{\"type\": \"text\", "
	    "\"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "clear");
	json_decref(r);
	second = wait_for(w, shim, is_request, "opencode.sessions");
	shim_answer(shim, first, idle);
	for (i = 0; i < 3; i++)
		x_result_is(w, shim, "idle");
	assert_int_equal(inbox_index(shim, is_notification, "x.result"), -1);
	shim_answer(shim, second, idle);
	x_result_is(w, shim, "idle");
	json_decref(first);
	json_decref(second);
	/* A shim gone before it answers a shared listing: each check sharing
	 * it is told, once (the sanitizers check what is freed). */
	for (i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
		    "[0, %u, \"message\", [{\"session\": \"%s\", \"directory\": \"/q\", "
		    "\"parts\": [{\"type\": \"text\", \"text\": \"x\"}]}]]",
		    id = ++shim->msgid, ids[i]);
		send_json(shim, text);
	}
	json_decref(wait_for(w, shim, is_reply, &id));
	json_decref(wait_for(w, shim, is_request, "opencode.sessions"));
	client_free(w, shim);
}

/* A shim that holds fences is told to hold them on the tree before the
 * abort it relays, and what they refused is in the stop's result. */
static void test_relay_fenced(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *c = client_new(w);
	json_t *r, *req, *fence;
	char text[512];
	uint32_t id;

	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", "
	    "\"pid\": 900201, \"fences\": true}"));
	shim_answers(w, shim, "opencode.sessions",
	    "null, {\"statuses\": \"{\\\"ses_r\\\": {\\\"type\\\": \\\"busy\\\"}}\", "
	    "\"sessions\": \"[{\\\"id\\\": \\\"ses_r\\\", \\\"directory\\\": \\\"/r\\\"}]\"}");
	json_decref(result(w, c, "status", NULL));
	id = ++c->msgid;
	snprintf(text, sizeof(text), "[0, %u, \"abort\", [{\"session\": \"ses_r\"}]]", id);
	send_json(c, text);
	req = wait_for(w, shim, is_request, "opencode.abort");
	/* wait_for took the first abort out: the fence came before it. */
	assert_true(inbox_index(shim, is_notification, "fence") == 0);
	fence = wait_for(w, shim, is_notification, "fence");
	assert_string_equal(str_at(fence, "2.0.root"), "ses_r");
	assert_string_equal(str_at(fence, "2.0.sessions.0"), "ses_r");
	json_decref(fence);
	snprintf(text, sizeof(text), "[1, %lld, null, {\"ok\": true, \"ms\": 1}]",
	    (long long)json_integer_value(json_array_get(req, 1)));
	json_decref(req);
	send_json(shim, text);
	/* Malformed hits, and hits from a connection that is no shim, count
	 * nothing. */
	send_json(shim, "[2, \"fence.hit\", [{\"session\": \"ses_r\", \"kind\": \"bogus\"}]]");
	send_json(shim, "[2, \"fence.hit\", [{\"session\": \"not an id\", \"kind\": \"tool\"}]]");
	send_json(c, "[2, \"fence.hit\", [{\"session\": \"ses_r\", \"kind\": \"tool\"}]]");
	send_json(shim,
	    "[2, \"fence.hit\", [{\"session\": \"ses_r\", \"kind\": \"tool\", \"name\": \"bash\"}]]");
	send_json(shim, "[2, \"fence.hit\", [{\"session\": \"ses_r\", \"kind\": \"queued\"}]]");
	send_json(shim,
	    "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": "
	    "\"{\\\"type\\\":\\\"session.idle\\\",\\\"properties\\\":{\\\"sessionID\\\":\\\"ses_r\\\"}}\"}]]");
	r = wait_for(w, c, is_reply, &id);
	assert_true(json_is_true(json_object_get(first_result(r), "stopped")));
	assert_true(json_is_true(json_object_get(first_result(r), "fenced")));
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(first_result(r), "refused"), "tools")),
	    1);
	assert_int_equal(json_integer_value(
			     json_object_get(json_object_get(first_result(r), "refused"),
				 "requests")),
	    0);
	assert_int_equal(json_integer_value(json_object_get(first_result(r), "held")), 1);
	json_decref(r);
	client_free(w, shim);
	client_free(w, c);
}

/* An OpenCode that loads the plugin in two threads (1.14's TUI: a worker that
 * runs the sessions, and the main thread) registers its process on two
 * connections, the worker's first. The events come from the worker's: they
 * count, and the daemon's requests follow them there. */
static void test_relay_two_shims(void **state)
{
	struct world *w = *state;
	struct client *worker = client_new(w), *main_thread = client_new(w), *c = client_new(w);
	const char *reg = "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", "
			  "\"pid\": 900250}";
	json_t *r, *req;
	char text[256];
	uint32_t id;

	json_decref(result(w, worker, "register", reg));
	json_decref(wait_for(w, worker, is_request, "opencode.sessions"));
	r = result(w, main_thread, "register", reg);
	assert_true(json_is_true(json_object_get(r, "relay")));
	json_decref(r);
	json_decref(wait_for(w, main_thread, is_request, "opencode.sessions"));
	send_json(worker,
	    "[2, \"opencode.event\", [{\"directory\": \"/r\", \"event\": "
	    "\"{\\\"type\\\":\\\"session.status\\\",\\\"properties\\\":{\\\"sessionID\\\":"
	    "\\\"ses_w\\\",\\\"status\\\":{\\\"type\\\":\\\"busy\\\"}}}\"}]]");
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 2);
	assert_string_equal(str_at(r, "sessions.0.id"), "ses_w");
	assert_string_equal(str_at(r, "sessions.0.status"), "busy");
	json_decref(r);
	id = ++c->msgid;
	snprintf(text, sizeof(text), "[0, %u, \"abort\", [{\"session\": \"ses_w\"}]]", id);
	send_json(c, text);
	req = wait_for(w, worker, is_request, "opencode.abort");
	assert_string_equal(str_at(req, "3.0.session"), "ses_w");
	json_decref(req);
	client_free(w, main_thread);
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 2);
	json_decref(r);
	client_free(w, worker);
	client_free(w, c);
}

/* A status reply must fit in a frame: with many sessions it lists the
 * running ones first and as many as fit, and counts them all. */
static void test_status_bounded(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	char id[64];
	json_t *r;
	int i;

	for (i = 0; i < 20000; i++) {
		snprintf(id, sizeof(id), "ses_%05d_with_a_longish_name", i);
		IDLE(w, id);
	}
	BUSY(w, "ses_runs");
	r = result(w, c, "status", NULL);
	assert_true(json_is_true(json_object_get(r, "sessions_truncated")));
	assert_true(json_array_size(json_object_get(r, "sessions")) < 20001);
	assert_true(json_array_size(json_object_get(r, "sessions")) > 1000);
	assert_string_equal(str_at(r, "sessions.0.id"), "ses_runs");
	assert_int_equal(int_at(json_object_get(r, "counters"), "sessions"), 20001);
	assert_int_equal(int_at(json_object_get(r, "counters"), "sessions_running"), 1);
	assert_true(int_at(json_object_get(r, "counters"), "session_bytes") > 20000 * 50);
	json_decref(r);
	client_free(w, c);
}

/* The status reply's limit: that many sessions, running first, the rest
 * counted; a bad limit is a bad request. */
static void test_status_limit(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r;

	IDLE(w, "ses_i1");
	IDLE(w, "ses_i2");
	BUSY(w, "ses_b1");
	r = result(w, c, "status", "{\"limit\": 1}");
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 1);
	assert_string_equal(str_at(r, "sessions.0.id"), "ses_b1");
	assert_int_equal(int_at(r, "sessions_left_out"), 2);
	assert_true(json_is_true(json_object_get(r, "sessions_truncated")));
	json_decref(r);
	r = result(w, c, "status", "{\"limit\": 10}");
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 3);
	assert_int_equal(int_at(r, "sessions_left_out"), 0);
	assert_true(json_is_false(json_object_get(r, "sessions_truncated")));
	json_decref(r);
	assert_int_equal(error_code(w, c, "status", "{\"limit\": -1}"), PROTO_EBADREQ);
	assert_int_equal(error_code(w, c, "status", "{\"limit\": \"ten\"}"), PROTO_EBADREQ);
	client_free(w, c);
}

/* Requests in flight on one connection are bounded: past the bound a
 * request is refused at once, and the daemon holds nothing for it; the
 * others are answered when their stop ends, and other clients are served
 * all along. */
/* The stop that c's CONTROL_MAX_IN_FLIGHT aborts of session (msgids 1 to
 * the bound) wait for lands: each is answered, stopped. */
static void in_flight_land(struct world *w, struct client *c, const char *session)
{
	struct fake *f = fake_of(&w->fakes, w->http);
	json_t *r;
	uint32_t id;

	/* One stop for the tree, joined by every request in flight. */
	assert_int_equal(f->n_aborts, 1);
	fake_answer(f, 0, true, NULL, clock_now_ms());
	IDLE(w, session);
	for (id = 1; id <= CONTROL_MAX_IN_FLIGHT; id++) {
		r = wait_for(w, c, is_reply, &id);
		assert_true(json_is_null(json_array_get(r, 2)));
		json_decref(r);
	}
}

static void test_in_flight_bound(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w), *other = client_new(w);
	json_t *r;
	char text[256];
	uint32_t id;
	int i, refused = 0;

	BUSY(w, "ses_f");
	for (i = 0; i < CONTROL_MAX_IN_FLIGHT + 8; i++) {
		snprintf(text, sizeof(text), "[0, %d, \"abort\", [{\"session\": \"ses_f\"}]]",
		    i + 1);
		send_json(c, text);
	}
	for (i = 0; i < 8; i++) {
		id = (uint32_t)(CONTROL_MAX_IN_FLIGHT + 1 + i);
		r = wait_for(w, c, is_reply, &id);
		assert_int_equal(reply_error(r), PROTO_ELIMIT);
		json_decref(r);
		refused++;
	}
	json_decref(result(w, other, "ping", NULL));
	in_flight_land(w, c, "ses_f");
	assert_int_equal(refused, 8);
	/* All answered: the connection may ask again. */
	json_decref(result(w, c, "ping", NULL));
	client_free(w, c);
	client_free(w, other);
}

/* An abort sent as a notification holds what its request would: it is in
 * flight alike, and past the bound it is dropped, the limit logged. */
static void test_notify_in_flight_bound(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	struct fake *f = fake_of(&w->fakes, w->http);
	const char *log;
	json_t *r;
	char text[256];
	uint32_t id;

	BUSY(w, "ses_f");
	BUSY(w, "ses_g");
	for (id = 1; id <= CONTROL_MAX_IN_FLIGHT; id++) {
		snprintf(text, sizeof(text), "[0, %u, \"abort\", [{\"session\": \"ses_f\"}]]", id);
		send_json(c, text);
	}
	stderr_catch();
	send_json(c, "[2, \"abort\", [{\"session\": \"ses_g\"}]]");
	r = call(w, c, "ping", NULL);
	log = stderr_release();
	assert_int_equal(reply_error(r), PROTO_ELIMIT);
	json_decref(r);
	assert_non_null(strstr(log,
	    ": notification 'abort' failed: limit: too many requests in "
	    "flight on this connection"));
	in_flight_land(w, c, "ses_f");
	/* Each notification answered itself: the connection may send more. */
	for (int i = 0; i < 3 * CONTROL_MAX_IN_FLIGHT; i++)
		send_json(c, "[2, \"abort\", [{\"session\": \"ses_g\"}]]");
	json_decref(result(w, c, "ping", NULL));
	assert_int_equal(f->n_aborts, 2);
	assert_string_equal(f->aborts[1].session, "ses_g");
	client_free(w, c);
}

/* A method name is bytes of a str or a bin: any byte that is not the name
 * of a method is an unknown method, never a crash or a match. */
static void test_method_bytes(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	static const struct {
		const char *bytes;
		size_t len;
	} unknown[] = {
		{ "\x94\x00\x01\xc4\x05pi\x00ng\x90", 11 },
		{ "\x94\x00\x01\xc4\x05ping\x00\x90", 11 },
		{ "\x94\x00\x01\xa5ping\x00\x90", 10 },
		{ "\x94\x00\x01\xc4\x02\xff\xfe\x90", 8 },
		{ "\x94\x00\x01\xa2\xc3\x28\x90", 8 },
	};
	uint32_t id = 1;
	json_t *r;

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		send_bytes(c, unknown[i].bytes, unknown[i].len);
		r = wait_for(w, c, is_reply, &id);
		assert_int_equal(reply_error(r), PROTO_EMETHOD);
		json_decref(r);
		/* The same as notifications: ignored. */
		send_bytes(c, "\x93\x02", 2);
		send_bytes(c, unknown[i].bytes + 3, unknown[i].len - 3);
	}
	/* The error names the method, escaped; one of Neovim's says whom it
	 * reached (pynvim.attach asks for nvim_get_api_info first). */
	send_bytes(c, "\x94\x00\x01\xa4n\no\xff\x90", 9);
	r = wait_for(w, c, is_reply, &id);
	assert_int_equal(reply_error(r), PROTO_EMETHOD);
	assert_string_equal(str_at(r, "2.1"), "unknown_method: unknown method 'n\\x0ao\\xff'");
	json_decref(r);
	r = call(w, c, "nvim_get_api_info", NULL);
	assert_int_equal(reply_error(r), PROTO_EMETHOD);
	assert_non_null(
	    strstr(str_at(r, "2.1"), "'nvim_get_api_info': this is ocstopd, not Neovim"));
	json_decref(r);
	/* bin "ping" and "abort" are the methods. */
	send_bytes(c, "\x94\x00\x01\xc4\x04ping\x91\x90", 11);
	r = wait_for(w, c, is_reply, &id);
	assert_true(json_is_null(json_array_get(r, 2)));
	json_decref(r);
	send_bytes(c,
	    "\x94\x00\x01\xc4\x05"
	    "abort\x91\x81\xa3"
	    "all\xc2",
	    17);
	r = wait_for(w, c, is_reply, &id);
	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	json_decref(r);
	client_free(w, c);
}

/* A client that floods small frames takes turns with the others: another
 * client's request, sent after the flood, is answered before the flood is
 * through. */
static void test_flood_takes_turns(void **state)
{
	struct world *w = *state;
	struct client *flood = client_new(w), *other = client_new(w);
	struct proto_buf bytes;
	uint32_t id = 1;
	json_t *r;
	int i;

	proto_buf_init(&bytes);
	for (i = 0; i < 4 * 1024; i++) {
		proto_pack_notify_header(&bytes.pk, PROTO_N_NVIM_ERROR_EVENT);
		msgpack_pack_array(&bytes.pk, 2);
		msgpack_pack_int(&bytes.pk, 0);
		proto_pack_cstr(&bytes.pk, "x");
	}
	proto_pack_request_header(&bytes.pk, id, PROTO_M_PING);
	msgpack_pack_array(&bytes.pk, 0);
	assert_false(bytes.oom);
	stderr_catch();
	send_bytes(flood, bytes.data, bytes.size);
	send_json(other, "[0, 1, \"ping\", []]");
	/* One turn of the loop: both are ready. */
	event_base_loop(w->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	drain(flood);
	assert_int_equal(json_array_size(flood->inbox), 0);
	r = wait_for(w, other, is_reply, &id);
	json_decref(r);
	r = wait_for(w, flood, is_reply, &id);
	(void)stderr_release();
	assert_true(json_is_null(json_array_get(r, 2)));
	json_decref(r);
	proto_buf_destroy(&bytes);
	client_free(w, flood);
	client_free(w, other);
}

/* One abort names at most SELECT_MAX_IDS sessions. */
static void test_abort_ids_bound(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	char text[4096];
	size_t n;
	int i;

	for (int limit = SELECT_MAX_IDS; limit <= SELECT_MAX_IDS + 1; limit++) {
		n = (size_t)snprintf(text, sizeof(text), "{\"wait\": false, \"sessions\": [");
		for (i = 0; i < limit; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"ses_%d\"",
			    i > 0 ? ", " : "", i);
		snprintf(text + n, sizeof(text) - n, "]}");
		if (limit > SELECT_MAX_IDS) {
			assert_int_equal(error_code(w, c, "abort", text), PROTO_ELIMIT);
			continue;
		}
		/* Taken, and looked up: the fake takes no lookups, so none
		 * could be asked. */
		assert_int_equal(error_code(w, c, "abort", text), PROTO_EUNREACHABLE);
	}
	client_free(w, c);
}

/* A connection registers one OpenCode process, a bounded number of times. */
static void test_register_bounds(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w);
	char text[256];
	json_t *r;
	int i;

	for (i = 0; i < CONTROL_MAX_REGISTER; i++) {
		snprintf(text, sizeof(text),
		    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r%d\", "
		    "\"pid\": 900300}",
		    i);
		r = result(w, shim, "register", text);
		assert_string_equal(str_at(r, "server"), "pid:900300");
		json_decref(r);
	}
	assert_int_equal(error_code(w, shim, "register",
			     "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", "
			     "\"pid\": 900300}"),
	    PROTO_ELIMIT);
	client_free(w, shim);
	shim = client_new(w);
	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", \"pid\": 900301}"));
	assert_int_equal(error_code(w, shim, "register",
			     "{\"server_url\": \"http://127.0.0.1:1\", \"directory\": \"/r\", "
			     "\"pid\": 900302}"),
	    PROTO_ELIMIT);
	r = result(w, shim, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 2);
	json_decref(r);
	client_free(w, shim);
}

/* Strings the daemon keeps and replies are UTF-8: one peer's bytes must not
 * make every JSON reader of status fail. */
static void test_utf8_kept(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w), *c = client_new(w);
	uint32_t id = 900;
	json_t *r;

	proto_buf_reset(&shim->out);
	proto_pack_request_header(&shim->out.pk, id, "register");
	msgpack_pack_array(&shim->out.pk, 1);
	msgpack_pack_map(&shim->out.pk, 3);
	proto_pack_kv_str(&shim->out.pk, "server_url", "http://127.0.0.1:1");
	proto_pack_kv_int(&shim->out.pk, "pid", 900400);
	proto_pack_kv_str(&shim->out.pk, "opencode_version", "\xc3(");
	send_bytes(shim, shim->out.data, shim->out.size);
	r = wait_for(w, shim, is_reply, &id);
	assert_int_equal(reply_error(r), PROTO_EBADREQ);
	json_decref(r);
	json_decref(result(w, shim, "register",
	    "{\"server_url\": \"http://127.0.0.1:1\", \"pid\": 900400}"));
	proto_buf_reset(&shim->out);
	proto_pack_notify_header(&shim->out.pk, "opencode.event");
	msgpack_pack_array(&shim->out.pk, 1);
	msgpack_pack_map(&shim->out.pk, 2);
	proto_pack_kv_str(&shim->out.pk, "directory", "/d\xff");
	proto_pack_kv_str(&shim->out.pk, "event",
	    "{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_u\","
	    "\"status\":{\"type\":\"busy\"}}}");
	send_bytes(shim, shim->out.data, shim->out.size);
	json_decref(result(w, shim, "ping", NULL));
	r = result(w, c, "status", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 0);
	json_decref(r);
	client_free(w, shim);
	client_free(w, c);
}

/* Requests complete before a bad byte in the same read are answered, then
 * the connection is closed. */
static void test_answer_then_close(void **state)
{
	struct world *w = *state;
	struct client *c = client_new(w);
	uint32_t ids[] = { 1, 2 };
	char buf[8];
	json_t *r;

	proto_buf_reset(&c->out);
	proto_pack_request_header(&c->out.pk, 1, "ping");
	msgpack_pack_array(&c->out.pk, 0);
	proto_pack_request_header(&c->out.pk, 2, "ping");
	msgpack_pack_array(&c->out.pk, 0);
	msgpack_pack_str_body(&c->out.pk, "\xc1", 1);
	send_bytes(c, c->out.data, c->out.size);
	for (size_t i = 0; i < 2; i++) {
		r = wait_for(w, c, is_reply, &ids[i]);
		assert_true(json_is_null(json_array_get(r, 2)));
		json_decref(r);
	}
	for (int i = 0; i < 50; i++) {
		turn(w);
		usleep(1000);
	}
	assert_int_equal(read(c->fd, buf, sizeof(buf)), 0);
	client_free(w, c);
}

/* Every part of a message is a map of strings; anything else is a bad
 * request, not a silent pass. */
static void test_message_types(void **state)
{
	static const char *const bad[] = {
		"{\"session\": \"ses_m\", \"parts\": [1]}",
		"{\"session\": \"ses_m\", \"parts\": [{\"type\": 1}]}",
		"{\"session\": \"ses_m\", \"parts\": [{\"type\": \"text\", \"text\": 1}]}",
		"{\"session\": \"ses_m\", \"message_id\": 1, \"parts\": []}",
		"{\"session\": \"ses_m\", \"directory\": [], \"parts\": []}",
		"{\"session\": \"ses_m\", \"server_url\": 1, \"parts\": []}",
		"{\"session\": \"ses_m\", \"typed_at\": \"now\", \"parts\": []}",
		"{\"session\": \"ses_m\", \"deadline\": [], \"parts\": []}",
	};
	struct world *w = *state;
	struct client *c = client_new(w);
	json_t *r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(error_code(w, c, "message", bad[i]), PROTO_EBADREQ);
	/* A part without a type, and a nil text, are no text. */
	r = result(w, c, "message",
	    "{\"session\": \"ses_m\", \"message_id\": null, \"parts\": [{\"type\": null}, "
	    "{\"type\": \"text\", \"text\": null}, {\"type\": \"text\", \"text\": \"x\"}]}");
	assert_string_equal(str_at(r, "verdict"), "abort");
	json_decref(r);
	client_free(w, c);
}

/* A subscriber that never reads is dropped alone; the others are served. */
static void test_slow_subscriber(void **state)
{
	struct world *w = *state;
	struct client *sub = client_new(w), *c = client_new(w);
	char id[64], buf[8];
	json_t *r;
	int i;

	json_decref(result(w, sub, "subscribe", NULL));
	/* Each status change is news of about 110 bytes: 11 MB in all. */
	for (i = 0; i < 100000; i++) {
		snprintf(id, sizeof(id), "ses_%05d", i % 20);
		if ((i / 20) % 2 == 0)
			BUSY(w, id);
		else
			IDLE(w, id);
		if (i % 1000 == 0)
			turn(w);
	}
	/* Its connection is closed: after what was queued, the end. */
	for (i = 0; i < 100000 && read(sub->fd, buf, sizeof(buf)) != 0; i++)
		turn(w);
	assert_int_equal(read(sub->fd, buf, sizeof(buf)), 0);
	r = result(w, c, "status", NULL);
	assert_int_equal(int_at(json_object_get(r, "counters"), "connected"), 1);
	json_decref(r);
	client_free(w, sub);
	client_free(w, c);
}

/* A subscriber that reads late, but before its output reaches the bound,
 * gets every event whole and in order: what the socket did not take waits
 * in the daemon and goes out as the socket drains. */
static void test_late_reader(void **state)
{
	struct world *w = *state;
	struct client *sub = client_new(w);
	char id[64];
	json_t *ev;
	int i, seen = 0;

	json_decref(result(w, sub, "subscribe", "{\"events\": [\"session.status\"]}"));
	/* About 2 MB of news: far more than a socket buffer, half the bound. */
	for (i = 0; i < 16000; i++) {
		snprintf(id, sizeof(id), "ses_%05d", i / 2);
		if (i % 2 == 0)
			BUSY(w, id);
		else
			IDLE(w, id);
		if (i % 1000 == 0)
			turn(w);
	}
	assert_true(control_output_bytes(w->ctl) > 1u << 20);
	for (i = 0; i < 16000; i++) {
		ev = wait_for(w, sub, is_event_type, "session.status");
		snprintf(id, sizeof(id), "ses_%05d", i / 2);
		assert_string_equal(str_at(ev, "2.0.session.id"), id);
		assert_string_equal(str_at(ev, "2.0.session.status"), i % 2 == 0 ? "busy" : "idle");
		json_decref(ev);
		seen++;
	}
	assert_int_equal(seen, 16000);
	json_decref(result(w, sub, "ping", NULL));
	client_free(w, sub);
}

/* Register's password is bounded by PROTO_MAX_PASSWORD, inclusive; a server
 * URL that carries credentials is refused, so none reaches status or the
 * log. */
static void test_register_credentials(void **state)
{
	struct world *w = *state;
	struct client *shim = client_new(w);
	char params[PROTO_MAX_PASSWORD + 256], pw[PROTO_MAX_PASSWORD + 2];
	json_t *r;
	char *text;

	memset(pw, 'p', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	pw[PROTO_MAX_PASSWORD] = '\0';
	snprintf(params, sizeof(params),
	    "{\"server_url\": \"http://127.0.0.1:1\", \"pid\": 900300, \"password\": \"%s\"}", pw);
	r = result(w, shim, "register", params);
	assert_string_equal(str_at(r, "server"), "pid:900300");
	json_decref(r);
	pw[PROTO_MAX_PASSWORD] = 'p';
	snprintf(params, sizeof(params),
	    "{\"server_url\": \"http://127.0.0.1:2\", \"pid\": 900301, \"password\": \"%s\"}", pw);
	assert_int_equal(error_code(w, shim, "register", params), PROTO_EBADREQ);
	assert_int_equal(error_code(w, shim, "register",
			     "{\"server_url\": \"http://u:s3cret@127.0.0.1:3\", \"pid\": 900302}"),
	    PROTO_EBADREQ);
	r = result(w, shim, "status", NULL);
	assert_non_null(text = json_dumps(r, 0));
	assert_null(strstr(text, "s3cret"));
	assert_null(strstr(text, "900302"));
	free(text);
	json_decref(r);
	client_free(w, shim);
}

int main(void)
{
	static bool implicit = true;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_implicit_absent, setup, teardown,
		    &implicit),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_and_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_typed_at_absurd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_stale_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_words_shims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_done_after_late_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_done_second_x, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_one_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x_pending_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe_nvim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params_empty_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nvim_error_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_clears_share_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_fenced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_flight_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_in_flight_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_takes_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_ids_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_two_shims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_utf8_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_reader, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
