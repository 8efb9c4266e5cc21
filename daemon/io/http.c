/*
 * libcurl multi driven by libevent, as in curl's hiperfifo.c: one struct
 * for the whole (struct http), one per transfer (struct http_req, found
 * through CURLOPT_PRIVATE) and, per socket, the struct event watching it,
 * attached with curl_multi_assign(). Completions are handled in
 * check_multi_info().
 *
 * libcurl refuses multi calls made from inside its callbacks, and a
 * request must not be freed while curl is writing into it. So while we
 * are inside curl_multi_socket_action() (h->in_curl), http_start() only
 * queues the request and http_cancel() only marks it; http_flush() does
 * the real add or remove once curl has returned.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "core/log.h"
#include "io/curl.h"
#include "io/http.h"
#include "proto.h"

#define HTTP_CONNECT_TIMEOUT_MS 2000
#define HTTP_MAX_BODY (4 * 1024 * 1024)

struct http_req {
	struct http *h;
	CURL *easy;
	LIST_ENTRY(http_req) entry;
	struct curl_slist *headers;
	int added;     /* handed to the multi handle */
	int cancelled; /* no more callbacks; freed at the next flush */
	int in_done;   /* on_done is running; cancel is then a no-op */

	char *buf; /* buffered body, NUL-terminated */
	size_t len;
	size_t cap;
	size_t max_body;
	const char *why; /* our reason for aborting the write, if any */

	http_data_cb on_data;
	http_done_cb on_done;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
};

/* Loaded by the first http_start() of any struct http (io/curl.h). */
static const struct curl_api *cu;

struct http {
	struct event_base *base;
	CURLM *multi;      /* NULL until the first transfer */
	const char *error; /* why the last http_start() failed */
	struct event *timer;
	LIST_HEAD(, http_req) reqs; /* every request not yet freed */
	int in_curl;                /* inside curl_multi_socket_action() */
	int need_flush;             /* requests queued or cancelled while in_curl */
	int curl_init;              /* holds a curl_global_init() reference */
};

static void req_free(struct http_req *r)
{
	if (r->added)
		cu->multi_remove_handle(r->h->multi, r->easy);
	cu->easy_cleanup(r->easy);
	cu->slist_free_all(r->headers);
	LIST_REMOVE(r, entry);
	free(r->buf);
	free(r);
}

/* Report the outcome, then free the request: its on_done is over. */
static void req_finish(struct http_req *r, CURLcode rc)
{
	struct http_result res = { 0 };
	curl_off_t us = 0;

	if (!r->cancelled && r->on_done != NULL) {
		cu->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		cu->easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &us);
		res.ok = rc == CURLE_OK;
		res.body = r->buf != NULL ? r->buf : "";
		res.body_len = r->len;
		res.total_ms = us / 1000.0;
		if (!res.ok) {
			if (r->why != NULL)
				res.error = r->why;
			else if (r->errbuf[0] != '\0')
				res.error = r->errbuf;
			else
				res.error = cu->easy_strerror(rc);
		}
		r->in_done = 1;
		r->on_done(&res, r->arg);
	}
	req_free(r);
}

static void check_multi_info(struct http *h)
{
	struct http_req *r;
	CURLMsg *msg;
	int left;

	while ((msg = cu->multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		cu->easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		req_finish(r, msg->data.result);
	}
}

/* Carry out what was deferred while in_curl. A failed add calls on_done,
 * which may start or cancel requests, so the walk restarts after it. */
static void http_flush(struct http *h)
{
	struct http_req *r, *next;

	while (h->need_flush) {
		h->need_flush = 0;
		for (r = LIST_FIRST(&h->reqs); r != NULL; r = next) {
			next = LIST_NEXT(r, entry);
			if (r->cancelled) {
				req_free(r);
			} else if (!r->added) {
				if (cu->multi_add_handle(h->multi, r->easy) == CURLM_OK) {
					r->added = 1;
					continue;
				}
				h->need_flush = 1;
				req_finish(r, CURLE_FAILED_INIT);
				break;
			}
		}
	}
}

/* Let curl act on a socket or on its timeout, then settle the results. */
static void http_action(struct http *h, curl_socket_t fd, int what)
{
	CURLMcode mc;
	int running;

	h->in_curl++;
	mc = cu->multi_socket_action(h->multi, fd, what, &running);
	h->in_curl--;
	if (mc != CURLM_OK)
		log_warnx("http: %s", cu->multi_strerror(mc));
	check_multi_info(h);
	http_flush(h);
}

static void event_cb(evutil_socket_t fd, short kind, void *arg)
{
	int what =
	    (kind & EV_READ ? CURL_CSELECT_IN : 0) | (kind & EV_WRITE ? CURL_CSELECT_OUT : 0);

	http_action(arg, fd, what);
}

static void timer_cb(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd;
	(void)kind;
	http_action(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: curl wants one timeout, or none (-1). */
static int multi_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct http *h = arg;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0) {
		evtimer_del(h->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(h->timer, &tv);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what curl asks, or stop. */
static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct http *h = arg;
	struct event *ev = sockp;
	short kind;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (ev == NULL) {
		if ((ev = event_new(h->base, fd, kind, event_cb, h)) == NULL)
			return -1;
		cu->multi_assign(h->multi, fd, ev);
	} else {
		event_del(ev);
		event_assign(ev, h->base, fd, kind, event_cb, h);
	}
	return event_add(ev, NULL);
}

/* CURLOPT_WRITEFUNCTION. Returning less than n aborts the transfer. A
 * stream hands 2xx bodies to on_data; any other status is buffered so
 * on_done can show what the server said. */
static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_req *r = arg;
	size_t n = size * nmemb, cap;
	long status = 0;
	char *buf;

	if (r->cancelled)
		return 0;
	if (r->on_data != NULL) {
		cu->easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status / 100 == 2) {
			if (r->on_data(ptr, n, r->arg) == 0)
				return n;
			r->why = "stopped by receiver";
			return 0;
		}
	}
	if (n > r->max_body - r->len) {
		r->why = "response too large";
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		cap = r->cap != 0 ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		if ((buf = realloc(r->buf, cap)) == NULL) {
			r->why = "out of memory";
			return 0;
		}
		r->buf = buf;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, ptr, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return n;
}

/* Apply the options to r's easy handle; -1 when curl refused any. */
static int req_setup(struct http_req *r, const struct http_opts *o)
{
	CURL *e = r->easy;
	struct curl_slist *l;
	char *hdr;
	int bad = 0;

	bad |= cu->easy_setopt(e, CURLOPT_PRIVATE, r) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_URL, o->url) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	/* A proxy from the environment must not see loopback traffic. */
	bad |= cu->easy_setopt(e, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1") != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_WRITEDATA, r) != CURLE_OK;
	bad |= cu->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		   o->connect_timeout_ms > 0 ? o->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS) !=
	    CURLE_OK;
	if (o->timeout_ms > 0)
		bad |= cu->easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms) != CURLE_OK;
	if (o->low_speed_time_s > 0) {
		bad |= cu->easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK;
		bad |= cu->easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s) != CURLE_OK;
	}
	if (o->password != NULL && o->password[0] != '\0') {
		bad |= cu->easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) != CURLE_OK;
		bad |= cu->easy_setopt(e, CURLOPT_USERNAME,
			   o->username != NULL ? o->username : PROTO_OPENCODE_USERNAME) != CURLE_OK;
		bad |= cu->easy_setopt(e, CURLOPT_PASSWORD, o->password) != CURLE_OK;
	}
	if (o->method != NULL && strcmp(o->method, "POST") == 0) {
		/* POSTFIELDSIZE first: COPYPOSTFIELDS copies that many bytes. */
		bad |= cu->easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			   (curl_off_t)(o->body != NULL ? o->body_len : 0)) != CURLE_OK;
		bad |= cu->easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body != NULL ? o->body : "") !=
		    CURLE_OK;
		/* Waiting for "100 Continue" would only add a delay. */
		if ((l = cu->slist_append(r->headers, "Expect:")) == NULL)
			return -1;
		r->headers = l;
	} else if (o->method != NULL && strcmp(o->method, "GET") != 0)
		return -1;
	if (o->content_type != NULL) {
		if (asprintf(&hdr, "Content-Type: %s", o->content_type) == -1)
			return -1;
		l = cu->slist_append(r->headers, hdr);
		free(hdr);
		if (l == NULL)
			return -1;
		r->headers = l;
	}
	if (r->headers != NULL)
		bad |= cu->easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK;
	return bad ? -1 : 0;
}

/* libcurl and the multi handle, at the first transfer (io/curl.h). */
static int http_ready(struct http *h)
{
	if (h->multi != NULL)
		return 0;
	if (cu == NULL && (cu = curl_api_load(&h->error)) == NULL)
		return -1;
	/* Reference-counted by libcurl; http_free() drops ours. */
	if (!h->curl_init) {
		if (cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			h->error = "libcurl failed to initialise";
			return -1;
		}
		h->curl_init = 1;
	}
	if ((h->multi = cu->multi_init()) == NULL ||
	    cu->multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
	    cu->multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
	    cu->multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb) != CURLM_OK ||
	    cu->multi_setopt(h->multi, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
		if (h->multi != NULL)
			cu->multi_cleanup(h->multi);
		h->multi = NULL;
		h->error = "libcurl: cannot make a multi handle";
		return -1;
	}
	return 0;
}

struct http_req *http_start(struct http *h, const struct http_opts *o)
{
	struct http_req *r;

	if (http_ready(h) < 0)
		return NULL;
	h->error = "out of memory";
	if (o->url == NULL || (r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	r->h = h;
	r->max_body = o->max_body > 0 ? o->max_body : HTTP_MAX_BODY;
	r->on_data = o->on_data;
	r->on_done = o->on_done;
	r->arg = o->arg;
	LIST_INSERT_HEAD(&h->reqs, r, entry);
	if ((r->easy = cu->easy_init()) == NULL || req_setup(r, o) == -1) {
		h->error = "libcurl refused the request's options";
		req_free(r);
		return NULL;
	}
	if (h->in_curl) {
		h->need_flush = 1;
		return r;
	}
	if (cu->multi_add_handle(h->multi, r->easy) != CURLM_OK) {
		h->error = "libcurl refused the transfer";
		req_free(r);
		return NULL;
	}
	r->added = 1;
	return r;
}

const char *http_error(const struct http *h)
{
	return h->error != NULL ? h->error : "no transfer failed";
}

void http_cancel(struct http_req *r)
{
	if (r == NULL || r->in_done)
		return;
	if (r->h->in_curl) {
		r->cancelled = 1;
		r->h->need_flush = 1;
		return;
	}
	req_free(r);
}

struct http *http_new(struct event_base *base)
{
	struct http *h;

	if ((h = calloc(1, sizeof *h)) == NULL)
		return NULL;
	h->base = base;
	LIST_INIT(&h->reqs);
	if ((h->timer = evtimer_new(base, timer_cb, h)) == NULL) {
		free(h);
		return NULL;
	}
	return h;
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	while (!LIST_EMPTY(&h->reqs))
		req_free(LIST_FIRST(&h->reqs));
	/* Cleanup may still call sock_cb and multi_timer_cb: the timer goes after. */
	if (h->multi != NULL)
		cu->multi_cleanup(h->multi);
	event_free(h->timer);
	if (h->curl_init)
		cu->global_cleanup();
	free(h);
}
