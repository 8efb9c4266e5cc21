/*
 * HTTP transfers on the daemon's event loop: libcurl's multi interface
 * driven by libevent (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION),
 * libcurl loaded at the first transfer (io/curl.h).
 * No threads and no blocking calls; every transfer has a connect timeout
 * and either a total timeout or, for streams, a low-speed deadline.
 */
#ifndef OCSTOP_IO_HTTP_H
#define OCSTOP_IO_HTTP_H

#include <stddef.h>

struct event_base;
struct http;
struct http_req;

/* Outcome of a finished transfer; borrowed for the duration of the callback. */
struct http_result {
	int ok;           /* the transfer completed (any HTTP status) */
	long status;      /* HTTP status, 0 when no response */
	const char *body; /* buffered body, NUL-terminated; "" when streamed */
	size_t body_len;
	const char *error; /* why !ok: curl's text, "response too large",
	                    * "stopped by receiver" or "out of memory" */
	double total_ms;
};

/* Streamed bytes of a 2xx response (other statuses are buffered for on_done);
 * return non-zero to stop the transfer (done then reports an error). */
typedef int (*http_data_cb)(const char *buf, size_t len, void *arg);
/* Called exactly once per transfer unless it was cancelled; the request is
 * freed right after it returns. */
typedef void (*http_done_cb)(const struct http_result *res, void *arg);

struct http_opts {
	const char *url;
	const char *method;   /* "GET" (default) or "POST" */
	const char *username; /* Basic auth when password is set */
	const char *password;
	const char *body; /* POST body, may be NULL */
	size_t body_len;
	const char *content_type; /* for body */
	long connect_timeout_ms;  /* default 2000 */
	long timeout_ms;          /* 0: no total limit (streams) */
	long low_speed_time_s;    /* streams: abort when no byte for this long */
	size_t max_body;          /* buffered responses; default 4 MiB */
	http_data_cb on_data;     /* set: stream the body instead of buffering */
	http_done_cb on_done;
	void *arg;
};

/* NULL when out of memory; libcurl is loaded at the first http_start(). The
 * caller frees it with http_free(), which cancels every transfer still running
 * without calling their callbacks; not from inside one of those callbacks. */
struct http *http_new(struct event_base *base);
void http_free(struct http *h);

/* Start a transfer. NULL on failure (nothing is called back; http_error()
 * says why: libcurl missing, out of memory). The request is owned by h; the
 * handle stays valid until on_done returns or http_cancel(). */
struct http_req *http_start(struct http *h, const struct http_opts *o);
/* Why the last http_start() on h failed; static text, until the next call. */
const char *http_error(const struct http *h);

/* Stop a transfer without calling on_done. Safe from any callback, including
 * the request's own on_data; from its own on_done it does nothing. */
void http_cancel(struct http_req *r);

#endif
