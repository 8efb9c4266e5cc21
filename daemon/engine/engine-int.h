/* The engine's parts (engine.c, server.c, stop.c) share this; nothing else. */
#ifndef OCSTOP_ENGINE_ENGINE_INT_H
#define OCSTOP_ENGINE_ENGINE_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/log.h"
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
	struct log_repeat errors; /* since it was last connected */
	char *username;
	char *password;
	bool configured;
	bool implicit; /* server_spec's */
	uint64_t shim;
	bool fences; /* the shim holds fences: idle is proof enough */
	int pid;
	unsigned probes;         /* server_probe() requests in flight */
	bool dead;               /* dropped: freed at the next reap */
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
	const struct procs_ops *procs;
	void *procs_ctx;
	struct server_list servers;
	size_t n_servers;
	struct stop_list stops;
	struct engine_counters counters;
	unsigned depth;     /* engine calls on the stack */
	bool drops_pending; /* servers to drop when the outermost call ends */
	bool reap_asked;
	int64_t wake_ms;             /* what the host was last asked for */
	struct log_repeat untracked; /* sessions the table could not take since it took one */
	stop_fence_cb fence;         /* stop_set_fence_sink's */
	void *fence_arg;
};

/* Ask the host for the safe point, once until it comes. */
static inline void engine_want_reap(struct engine *e)
{
	if (e->reap_asked)
		return;
	e->reap_asked = true;
	if (e->host.reap_soon != NULL)
		e->host.reap_soon(e->host.arg);
}

/* Every entry point brackets its work: a server dropped while the engine
 * walks something is only marked, and dropped at the safe point. */
static inline void engine_enter(struct engine *e)
{
	e->depth++;
}

static inline void engine_leave(struct engine *e)
{
	if (--e->depth == 0 && e->drops_pending)
		engine_want_reap(e);
}

/* Publish one session's news. */
void engine_notify_session(struct engine *e, int type, const struct session *s);

/* server.c */
void server_drop(struct server *s, const char *reason);
void servers_drop_pending(struct engine *e);
void servers_reap(struct engine *e);

/* stop.c */
/* Ask the host for the earliest wake any stop needs. */
void engine_rearm(struct engine *e);
void stops_on_event(struct engine *e, struct server *srv, struct session *s, enum oc_kind kind,
    int64_t now_ms);
void stops_tick(struct engine *e, int64_t now_ms);
void stops_server_gone(struct engine *e, struct server *srv, const char *reason);
void stops_reap(struct engine *e);
void stops_shutdown(struct engine *e);
bool stops_idle(const struct engine *e);

#endif
