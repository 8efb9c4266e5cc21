/* The engine's parts (engine.c, server.c, stop.c) share this; nothing else. */
#ifndef OCSTOP_ENGINE_ENGINE_INT_H
#define OCSTOP_ENGINE_ENGINE_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/opencode.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"

struct backend {
	const struct backend_ops *ops;
	void *ctx;
};

struct server {
	struct engine *e;
	char *url;
	enum server_transport transport;
	const struct backend_ops *ops;
	void *priv;
	bool connected;
	char *version;
	char *last_error;
	char *username;
	char *password;
	bool configured;
	uint64_t shim;
	int pid;
	bool dead;           /* dropped: freed at the next reap */
	const char *drop_reason; /* set while a drop waits for the engine to be left */
	TAILQ_ENTRY(server) link;
};

TAILQ_HEAD(server_list, server);
TAILQ_HEAD(stop_list, stop);

struct engine {
	const struct config *cfg;
	struct engine_host host;
	struct session_table *sessions;
	struct notify *notify;
	struct backend backends[SERVER_TRANSPORTS];
	struct server_list servers;
	size_t n_servers;
	struct stop_list stops;
	struct engine_counters counters;
	unsigned depth;      /* engine calls on the stack */
	bool drops_pending;  /* servers to drop when the outermost call ends */
	bool reap_asked;
	int64_t wake_ms;     /* what the host was last asked for */
};

/* Every entry point brackets its work so that drops requested from deep
 * inside a walk happen only when the outermost call ends. */
void engine_enter(struct engine *e);
void engine_leave(struct engine *e);
void engine_want_reap(struct engine *e);

/* Publish one session's news. */
void engine_notify_session(struct engine *e, int type, const struct session *s);

/* server.c */
void server_drop(struct server *s, const char *reason);
void servers_drop_pending(struct engine *e);
void servers_reap(struct engine *e);

/* stop.c */
void stops_on_event(struct engine *e, struct server *srv, struct session *s, enum oc_kind kind,
    int64_t now_ms);
void stops_tick(struct engine *e, int64_t now_ms);
void stops_server_gone(struct engine *e, struct server *srv, const char *reason);
void stops_reap(struct engine *e);
void stops_shutdown(struct engine *e);
/* Earliest time a stop needs the clock, or -1. */
int64_t stops_next_wake(const struct engine *e);
bool stops_idle(const struct engine *e);
/* Ask the host for the earliest wake any stop needs. */
void engine_rearm(struct engine *e);

#endif
