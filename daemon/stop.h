/*
 * Stopping a session tree and proving it stopped. A stop aborts the root and
 * every running descendant through the server's transport, with the event
 * watch armed first, then waits for verify.h's proof; it retries the abort
 * once when the proof does not come in time, then reports not stopped.
 * A second request for a tree already being stopped joins the first.
 */
#ifndef OCSTOP_STOP_H
#define OCSTOP_STOP_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct server;
struct session;
struct session_event;
struct stop;
struct stop_list;

/* The outcome of one stop, as replied and published. */
struct stop_result {
	const char *session;    /* the root */
	const char *server;
	bool stopped;
	const char *const *children;
	size_t n_children;
	int64_t ms;             /* first abort sent to last idle, -1 if never */
	const char *reason;     /* NULL when stopped */
	const char *origin;     /* "cli", "x", ... */
};

/* Told when a stop ends; result is borrowed for the call. */
typedef void (*stop_done_cb)(struct daemon *d, const struct stop_result *res, void *arg);

struct stop_list *stop_list_new(void);
void stop_list_free(struct daemon *d);

/* Start (or join) stopping the tree of root, which must be running.
 * done may be NULL. Returns the stop or NULL when memory ran out. */
struct stop *stop_start(struct daemon *d, struct session *root, const char *origin,
    int64_t timeout_ms, stop_done_cb done, void *arg);

/* Fill a result describing the stop while it is still pending. */
void stop_pending_result(struct stop *st, struct stop_result *res);

/* Feed an applied OpenCode event to the stops watching that session. */
void stop_observe(struct daemon *d, struct server *server, const struct session_event *ev);

/* A transport's answer to one abort request. */
void stop_on_abort_reply(struct daemon *d, uint64_t token, const char *session_id, bool ok,
    const char *error);

/* The server went away: its stops end as not stopped with reason. */
/* True when no stop is in flight. */
bool stop_list_idle(struct daemon *d);

void stop_server_gone(struct daemon *d, struct server *server, const char *reason);

#endif
