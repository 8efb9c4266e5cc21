/*
 * The HTTP backend, for OpenCode processes that listen on a port (serve,
 * web, --port): check /global/health, hold one /global/event stream,
 * resynchronise statuses after every (re)connect, and send aborts as
 * POST /session/:id/abort. Reconnects with capped backoff while the engine
 * keeps the server.
 */
#ifndef OCSTOP_BACKEND_HTTP_H
#define OCSTOP_BACKEND_HTTP_H

struct event_base;
struct http;

/* What every HTTP server's backend shares; handed to engine_set_backend(). */
struct backend_http_ctx {
	struct event_base *base;
	struct http *http;
};

extern const struct backend_ops backend_http_ops;

#endif
