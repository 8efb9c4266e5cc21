/*
 * The engine: what the daemon knows and does, with no I/O of its own. It
 * owns the session table, the servers, the stops and the news sinks; the
 * backends below it feed it what OpenCode says, the control socket asks it
 * to stop trees, and it reaches OpenCode only through the servers' backend
 * ops. It needs two things from the program that runs it (main.c, or a
 * test): a timer, and a safe point.
 *
 * Nothing the engine owns is freed while any walk may hold it: a server it
 * drops or a stop that ends is only marked, and freed by engine_reap(),
 * which the host calls from the top of its event loop, when no callback of
 * any layer is on the stack (tmux frees clients the same way, by event_once).
 */
#ifndef OCSTOP_ENGINE_ENGINE_H
#define OCSTOP_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct config;
struct engine;
struct notify;
struct oc_event;
struct server;
struct session_table;

/* What the engine asks of the program that runs it. */
struct engine_host {
	/* Call engine_tick() at at_ms (monotonic ms), replacing any earlier
	 * request; -1: no timer is needed. */
	void (*wake_at)(void *arg, int64_t at_ms);
	/* Call engine_reap() soon, from the top of the event loop. */
	void (*reap_soon)(void *arg);
	void *arg;
};

struct engine_counters {
	uint64_t aborts;      /* trees the daemon sent aborts for */
	uint64_t verified;    /* stops proven by events */
	uint64_t not_stopped; /* stops that failed or were not proven in time */
};

/* The session table's bounds come from config-independent defaults
 * (core/session.h) unless the caller gives others (tests). NULL when
 * memory runs out. cfg is borrowed for the engine's life. */
struct engine *engine_new(const struct config *cfg, const struct engine_host *host,
    size_t max_sessions, size_t max_session_bytes);
/* Ends every stop ("ocstopd is shutting down") and closes every backend,
 * which answers every request in flight: after this no callback of the
 * engine runs, so what its callbacks reach may go. engine_free() does it
 * when it was not done. */
void engine_shutdown(struct engine *e);
void engine_free(struct engine *e);

void engine_tick(struct engine *e, int64_t now_ms);
void engine_reap(struct engine *e);
/* No stop in flight: a shutdown may go on. */
bool engine_idle(const struct engine *e);

struct session_table *engine_sessions(struct engine *e);
struct notify *engine_notify(struct engine *e);
const struct config *engine_config(const struct engine *e);
const struct engine_counters *engine_counters(const struct engine *e);

/* What OpenCode said on srv. One event payload {type, properties} for
 * directory (may be NULL). */
void engine_observe_event(struct engine *e, struct server *srv, const char *directory,
    json_t *payload, int64_t now_ms);
/* The same, for an event already read (oc_frame_read_delta()). */
void engine_observe_read(struct engine *e, struct server *srv, const char *directory,
    const struct oc_event *ev, int64_t now_ms);
/* A resync's view of one directory: statuses is OpenCode's map of non-idle
 * sessions {id: {type}}; running sessions of that directory missing from it
 * went idle while nobody was looking. directory NULL: only set the listed. */
void engine_observe_statuses(struct engine *e, struct server *srv, const char *directory,
    json_t *statuses, int64_t now_ms);
/* Session objects: an array from a listing, or one object from a lookup. */
void engine_observe_sessions(struct engine *e, struct server *srv, json_t *sessions);

#endif
