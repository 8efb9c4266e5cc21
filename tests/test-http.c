/*
 * HTTP transfers against fake servers in this process, on one event loop:
 * an evhttp server for real responses, a socket that is never accepted
 * for a hang, and a closed port for a refused connection.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "io/http.h"

#define MAX_DONE 4
#define AUTH_PW "Basic b3BlbmNvZGU6cHc=" /* base64("opencode:pw") */

/* One on_done call, copied out. */
struct got {
	int ok;
	long status;
	char body[256];
	char error[256];
};

struct fixture {
	struct event_base *base;
	struct evhttp *srv;
	struct http *http;
	struct event *deadline;
	int timed_out;
	int port;
	char url[128];

	struct evhttp_request *stream; /* /stream reply in progress */
	int chunks_sent;
	int stream_end; /* chunks after which /stream ends */

	struct http_req *req; /* the request a test acts on */
	int done;
	int want_done; /* on_done calls that end the loop */
	struct got got[MAX_DONE];
	int data_calls;
	char data[256];
	size_t data_len;
	int data_rc; /* what on_data returns */
	int cancel_in_data;
	int break_in_data; /* end the loop on the first chunk */
	int start_in_done;
};

static const char *url(struct fixture *f, const char *path)
{
	snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d%s", f->port, path);
	return f->url;
}

/* Send the next /stream chunk, or end the reply after stream_end. */
static void stream_next(struct fixture *f)
{
	struct evbuffer *b;

	if (f->chunks_sent == f->stream_end) {
		evhttp_send_reply_end(f->stream);
		f->stream = NULL;
		return;
	}
	b = evbuffer_new();
	assert_non_null(b);
	evbuffer_add_printf(b, "c%d", f->chunks_sent++);
	evhttp_send_reply_chunk(f->stream, b);
	evbuffer_free(b);
}

static void srv_cb(struct evhttp_request *req, void *arg)
{
	struct fixture *f = arg;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *path = evhttp_request_get_uri(req), *v, *ct;
	char big[10000];

	if (strcmp(path, "/ok") == 0) {
		evbuffer_add_printf(out, "hello");
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/401") == 0) {
		evbuffer_add_printf(out, "denied");
		evhttp_send_reply(req, 401, "Unauthorized", NULL);
	} else if (strcmp(path, "/500") == 0) {
		evbuffer_add_printf(out, "oops");
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
	} else if (strcmp(path, "/big") == 0) {
		memset(big, 'x', sizeof big);
		evbuffer_add(out, big, sizeof big);
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/auth") == 0) {
		v = evhttp_find_header(in, "Authorization");
		evbuffer_add_printf(out, "%s", v != NULL ? v : "-");
		if (v != NULL && strcmp(v, AUTH_PW) == 0)
			evhttp_send_reply(req, 200, "OK", NULL);
		else
			evhttp_send_reply(req, 401, "Unauthorized", NULL);
	} else if (strcmp(path, "/echo") == 0) {
		ct = evhttp_find_header(in, "Content-Type");
		v = evhttp_find_header(in, "Content-Length");
		evbuffer_add_printf(out, "%d %s %s ", (int)evhttp_request_get_command(req),
		    ct != NULL ? ct : "-", v != NULL ? v : "-");
		evbuffer_add_buffer(out, body);
		evhttp_send_reply(req, 200, "OK", NULL);
	} else if (strcmp(path, "/stream") == 0) {
		evhttp_send_reply_start(req, 200, "OK");
		f->stream = req;
		stream_next(f);
		/* Two chunks in one read: the cancel must stop the second. */
		if (f->cancel_in_data)
			stream_next(f);
	} else {
		evhttp_send_reply(req, 404, "Not Found", NULL);
	}
}

static void deadline_cb(evutil_socket_t fd, short kind, void *arg)
{
	struct fixture *f = arg;

	(void)fd;
	(void)kind;
	f->timed_out = 1;
	event_base_loopbreak(f->base);
}

static void done_cb(const struct http_result *res, void *arg)
{
	struct fixture *f = arg;
	struct got *g;
	struct http_opts o = { .on_done = done_cb, .arg = f, .timeout_ms = 3000 };

	assert_true(f->done < MAX_DONE);
	g = &f->got[f->done++];
	g->ok = res->ok;
	g->status = res->status;
	assert_int_equal(res->body[res->body_len], '\0');
	snprintf(g->body, sizeof g->body, "%s", res->body);
	snprintf(g->error, sizeof g->error, "%s", res->error != NULL ? res->error : "");
	assert_true(res->ok || res->error != NULL);
	/* Our own handle is still valid, and cancelling it does nothing. */
	http_cancel(f->req);
	if (f->start_in_done) {
		f->start_in_done = 0;
		o.url = url(f, "/401");
		assert_non_null(f->req = http_start(f->http, &o));
	}
	if (f->done >= f->want_done)
		event_base_loopbreak(f->base);
}

static int data_cb(const char *buf, size_t len, void *arg)
{
	struct fixture *f = arg;
	struct http_opts o = { .on_done = done_cb, .arg = f, .timeout_ms = 3000 };

	f->data_calls++;
	assert_true(f->data_len + len < sizeof f->data);
	memcpy(f->data + f->data_len, buf, len);
	f->data_len += len;
	if (f->cancel_in_data) {
		http_cancel(f->req);
		/* More bytes on the wire must not reach us, and a new transfer
		 * started from here must still run. */
		stream_next(f);
		o.url = url(f, "/ok");
		assert_non_null(f->req = http_start(f->http, &o));
	} else if (f->break_in_data)
		event_base_loopbreak(f->base);
	else if (f->data_rc == 0 && f->stream != NULL)
		stream_next(f);
	return f->data_rc;
}

static int setup(void **state)
{
	struct fixture *f;
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t slen = sizeof sin;

	f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->want_done = 1;
	f->stream_end = 3;
	assert_non_null(f->base = event_base_new());
	assert_non_null(f->srv = evhttp_new(f->base));
	evhttp_set_gencb(f->srv, srv_cb, f);
	bs = evhttp_bind_socket_with_handle(f->srv, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
			     &slen),
	    0);
	f->port = ntohs(sin.sin_port);
	assert_non_null(f->http = http_new(f->base));
	assert_non_null(f->deadline = evtimer_new(f->base, deadline_cb, f));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_free(f->http);
	/* evhttp leaves a reply whose client went away to us to end. */
	if (f->stream != NULL)
		evhttp_send_reply_end(f->stream);
	event_free(f->deadline);
	evhttp_free(f->srv);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Run the loop until the test's last on_done, or fail after 5 s. */
static void run(struct fixture *f)
{
	struct timeval tv = { 5, 0 };

	evtimer_add(f->deadline, &tv);
	event_base_dispatch(f->base);
	evtimer_del(f->deadline);
	assert_false(f->timed_out);
}

/* A listening socket on 127.0.0.1 that is never accepted (listen) or
 * already closed (refused); returns its port. */
static int local_port(int listening, int *fdp)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof sin;
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	if (listening)
		assert_int_equal(listen(fd, 8), 0);
	else
		close(fd);
	*fdp = fd;
	return ntohs(sin.sin_port);
}

static void get(struct fixture *f, const char *path)
{
	struct http_opts o = {
		.url = url(f, path),
		.timeout_ms = 3000,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(f->req = http_start(f->http, &o));
	run(f);
}

static void test_ok(void **state)
{
	struct fixture *f = *state;

	get(f, "/ok");
	assert_int_equal(f->done, 1);
	assert_true(f->got[0].ok);
	assert_int_equal(f->got[0].status, 200);
	assert_string_equal(f->got[0].body, "hello");
}

static void test_401(void **state)
{
	struct fixture *f = *state;

	get(f, "/401");
	assert_true(f->got[0].ok);
	assert_int_equal(f->got[0].status, 401);
	assert_string_equal(f->got[0].body, "denied");
}

static void test_500(void **state)
{
	struct fixture *f = *state;

	get(f, "/500");
	assert_true(f->got[0].ok);
	assert_int_equal(f->got[0].status, 500);
	assert_string_equal(f->got[0].body, "oops");
}

static void test_hang_times_out(void **state)
{
	struct fixture *f = *state;
	struct timeval t0, t1;
	struct http_opts o = { .timeout_ms = 300, .on_done = done_cb, .arg = f };
	char u[64];
	int fd;
	long ms;

	snprintf(u, sizeof u, "http://127.0.0.1:%d/", local_port(1, &fd));
	o.url = u;
	gettimeofday(&t0, NULL);
	assert_non_null(http_start(f->http, &o));
	run(f);
	gettimeofday(&t1, NULL);
	close(fd);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
	assert_false(f->got[0].ok);
	assert_int_equal(f->got[0].status, 0);
	assert_true(f->got[0].error[0] != '\0');
	assert_true(ms >= 250 && ms < 2000);
}

static void test_refused(void **state)
{
	struct fixture *f = *state;
	struct http_opts o = { .timeout_ms = 3000, .on_done = done_cb, .arg = f };
	char u[64];
	int fd;

	snprintf(u, sizeof u, "http://127.0.0.1:%d/", local_port(0, &fd));
	o.url = u;
	assert_non_null(http_start(f->http, &o));
	run(f);
	assert_false(f->got[0].ok);
	assert_true(f->got[0].error[0] != '\0');
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	struct http_opts o = {
		.url = url(f, "/big"),
		.timeout_ms = 3000,
		.max_body = 1000,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(http_start(f->http, &o));
	run(f);
	assert_false(f->got[0].ok);
	assert_string_equal(f->got[0].error, "response too large");

	/* The default bound (4 MiB) lets it through. */
	o.max_body = 0;
	o.url = url(f, "/big");
	f->want_done = 2;
	assert_non_null(http_start(f->http, &o));
	run(f);
	assert_true(f->got[1].ok);
	assert_int_equal(f->got[1].status, 200);
}

static void stream(struct fixture *f, const char *path)
{
	struct http_opts o = {
		.url = url(f, path),
		.low_speed_time_s = 3,
		.on_data = data_cb,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(f->req = http_start(f->http, &o));
	run(f);
}

static void test_stream(void **state)
{
	struct fixture *f = *state;

	stream(f, "/stream");
	assert_int_equal(f->data_calls, 3);
	assert_int_equal(f->data_len, 6);
	assert_memory_equal(f->data, "c0c1c2", 6);
	assert_int_equal(f->done, 1);
	assert_true(f->got[0].ok);
	assert_int_equal(f->got[0].status, 200);
	assert_string_equal(f->got[0].body, "");
}

/* A stream refused by the server is buffered for on_done, not streamed. */
static void test_stream_error_status(void **state)
{
	struct fixture *f = *state;

	stream(f, "/401");
	assert_int_equal(f->data_calls, 0);
	assert_true(f->got[0].ok);
	assert_int_equal(f->got[0].status, 401);
	assert_string_equal(f->got[0].body, "denied");
}

static void test_stream_stopped(void **state)
{
	struct fixture *f = *state;

	f->data_rc = 1;
	stream(f, "/stream");
	assert_int_equal(f->data_calls, 1);
	assert_false(f->got[0].ok);
	assert_string_equal(f->got[0].error, "stopped by receiver");
}

/* Cancelled from its own on_data: no more data, no on_done; the /ok
 * started there is the only completion. */
static void test_cancel_in_data(void **state)
{
	struct fixture *f = *state;

	f->cancel_in_data = 1;
	stream(f, "/stream");
	assert_int_equal(f->data_calls, 1);
	assert_int_equal(f->data_len, 2);
	assert_int_equal(f->done, 1);
	assert_true(f->got[0].ok);
	assert_string_equal(f->got[0].body, "hello");
}

/* Cancelled outside any callback, before it ever ran. */
static void test_cancel_direct(void **state)
{
	struct fixture *f = *state;
	struct http_opts o = {
		.url = url(f, "/500"),
		.timeout_ms = 3000,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(f->req = http_start(f->http, &o));
	http_cancel(f->req);
	get(f, "/ok");
	assert_int_equal(f->done, 1);
	assert_int_equal(f->got[0].status, 200);
}

static void test_start_in_done(void **state)
{
	struct fixture *f = *state;

	f->start_in_done = 1;
	f->want_done = 2;
	get(f, "/ok");
	assert_int_equal(f->got[0].status, 200);
	assert_int_equal(f->got[1].status, 401);
}

/* http_free() with a stream still open calls nothing back. */
static void test_free_running(void **state)
{
	struct fixture *f = *state;

	f->break_in_data = 1;
	stream(f, "/stream");
	assert_int_equal(f->data_calls, 1);
	http_free(f->http);
	f->http = NULL;
	assert_int_equal(f->done, 0);
}

static void test_basic_auth(void **state)
{
	struct fixture *f = *state;
	struct http_opts o = {
		.url = url(f, "/auth"),
		.password = "pw",
		.timeout_ms = 3000,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(http_start(f->http, &o));
	run(f);
	assert_int_equal(f->got[0].status, 200);
	assert_string_equal(f->got[0].body, AUTH_PW);

	/* An empty password sends no credentials at all. */
	o.password = "";
	o.url = url(f, "/auth");
	f->want_done = 2;
	assert_non_null(http_start(f->http, &o));
	run(f);
	assert_int_equal(f->got[1].status, 401);
	assert_string_equal(f->got[1].body, "-");
}

static void test_post(void **state)
{
	struct fixture *f = *state;
	char want[64];
	struct http_opts o = {
		.url = url(f, "/echo"),
		.method = "POST",
		.body = "{\"a\":1}",
		.body_len = 7,
		.content_type = "application/json",
		.timeout_ms = 3000,
		.on_done = done_cb,
		.arg = f,
	};

	assert_non_null(http_start(f->http, &o));
	run(f);
	snprintf(want, sizeof want, "%d application/json 7 {\"a\":1}", EVHTTP_REQ_POST);
	assert_string_equal(f->got[0].body, want);

	/* No body: still a POST, with Content-Length: 0. */
	o.body = NULL;
	o.body_len = 0;
	o.content_type = NULL;
	o.url = url(f, "/echo");
	f->want_done = 2;
	assert_non_null(http_start(f->http, &o));
	run(f);
	snprintf(want, sizeof want, "%d application/x-www-form-urlencoded 0 ", EVHTTP_REQ_POST);
	assert_string_equal(f->got[1].body, want);

	/* Methods other than GET and POST are refused up front. */
	o.method = "DELETE";
	assert_null(http_start(f->http, &o));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_ok),
		T(test_401),
		T(test_500),
		T(test_hang_times_out),
		T(test_refused),
		T(test_too_large),
		T(test_stream),
		T(test_stream_error_status),
		T(test_stream_stopped),
		T(test_cancel_in_data),
		T(test_cancel_direct),
		T(test_start_in_done),
		T(test_free_running),
		T(test_basic_auth),
		T(test_post),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
