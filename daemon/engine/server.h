/*
 * The OpenCode processes the daemon reaches, and how: each server has one
 * backend behind an ops table, HTTP (+ the /global/event stream) for a
 * process with a port, or the relay through its plugin shim's connection
 * for the TUI and `opencode run`, which listen on no port. The engine owns
 * every server's life: backends and the control socket report what they
 * see, the engine decides when a server goes.
 */
#ifndef OCSTOP_ENGINE_SERVER_H
#define OCSTOP_ENGINE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct engine;
struct server;

enum server_transport {
	SERVER_HTTP,
	SERVER_RELAY,
	SERVER_TRANSPORTS,
};

/* Most servers at once: configured ones plus one per OpenCode process whose
 * shim registered. A register past it is refused. */
#define SERVER_MAX 256
/* Lookups of unknown session ids and status checks of an x's session one
 * server has in flight for requests (server_probe, server_check). A backend
 * holds a bounded number of requests (128 over HTTP), which the aborts of a
 * stop need too: what clients ask can never crowd them out. A stop's own
 * check is not counted. */
#define SERVER_MAX_PROBES 32

/* The outcome of one abort request; called exactly once per request that
 * was sent, also when the server goes first (then ok is false). */
typedef void (*abort_done_cb)(void *arg, bool ok, const char *error, int64_t now_ms);
/* What a probe learned of the id it looked up. */
enum probe_outcome {
	PROBE_FOUND,     /* OpenCode has the session; the table now knows it */
	PROBE_NOT_FOUND, /* OpenCode answered that it has no such session */
	PROBE_FAILED,    /* no answer that says either: down, failed, or gone */
};
/* A probe has ended; called exactly once. */
typedef void (*probe_done_cb)(void *arg, enum probe_outcome outcome, int64_t now_ms);
/* A check has ended: ok when the statuses were had and observed. */
typedef void (*check_done_cb)(void *arg, bool ok, int64_t now_ms);

/* How the engine reaches one kind of OpenCode process. priv is the
 * backend's state for one server. */
struct backend_ops {
	/* Set up the backend for s; ctx is what engine_set_backend() was
	 * given. -1 when it cannot (s is then not added). */
	int (*open)(struct server *s, void *ctx, void *channel, void **priv);
	/* Tear down: every request still in flight is answered (aborts with
	 * ok false, probes done) before this returns, none after. */
	void (*close)(void *priv);
	/* Ask OpenCode to abort one session; the request may take at most
	 * timeout_ms. -1 when it could not be sent (cb is then not called). */
	int (*abort)(void *priv, const char *session_id, const char *directory, int64_t timeout_ms,
	    abort_done_cb cb, void *arg);
	/* Refresh the statuses of a directory's sessions (NULL: the server's
	 * default directory). */
	void (*resync)(void *priv, const char *directory);
	/* Learn the parent and title of a session first seen through a status
	 * or a part. */
	void (*lookup)(void *priv, const char *session_id, const char *directory);
	/* Find a session no event named (it may run silently inside a long
	 * tool): its directory, then that directory's statuses. NULL where the
	 * backend always knows its sessions. -1: not sent, done not called. */
	int (*probe)(void *priv, const char *session_id, probe_done_cb done, void *arg);
	/* Ask now for the statuses of a directory's sessions (NULL: the
	 * server's default directory) and call done once they were observed,
	 * or could not be had. -1: not sent, done not called. */
	int (*check)(void *priv, const char *directory, check_done_cb done, void *arg);
	/* The shim reconnected: reach it through channel from now on. NULL
	 * where the backend needs no channel. */
	void (*rebind)(void *priv, void *channel);
};

/* The backend for one transport; ctx is handed to its open(). */
void engine_set_backend(struct engine *e, enum server_transport t, const struct backend_ops *ops,
    void *ctx);

/* A server as announced by the configuration or by a shim's register. */
struct server_spec {
	enum server_transport transport;
	const char *url;      /* HTTP only */
	const char *username; /* HTTP Basic auth; NULL: OpenCode's default */
	const char *password; /* NULL: none */
	const char *version;  /* OpenCode's version when known */
	bool configured;      /* named by the configuration: kept for ever */
	bool implicit;        /* the default URL, watched because nothing named one */
	int pid;              /* OpenCode's pid, 0 when unknown */
	uint64_t shim;        /* the shim connection that announced it, 0: none */
	bool fences;          /* that shim holds fences (protocol 4) */
	void *channel;        /* relay: how the backend reaches the shim */
};

/* Add the server, or update the one that stands for the same OpenCode
 * process (HTTP: the same URL; relay: the same pid) with the spec's shim,
 * credentials and channel. NULL with *cause (static) when it cannot. */
struct server *server_attach(struct engine *e, const struct server_spec *spec, const char **cause);

/* The configuration was loaded again and names these HTTP servers (spec
 * gives the rest: configured, implicit, credentials). Servers it named
 * before and no longer does are kept only while a shim stands for them (the
 * others are dropped at the safe point); new ones are attached; the
 * configuration's credentials replace the old ones on every server no shim
 * stands for. -1 with *cause (static) when one cannot be added. */
int servers_reconfigure(struct engine *e, const struct server_spec *spec, char *const *urls,
    size_t n_urls, const char **cause);

/* A shim's connection closed: relay servers it served go; HTTP servers it
 * announced go too unless configured or still connected, and their stops
 * no longer wait for its word (stops_shim_gone). */
void engine_shim_gone(struct engine *e, uint64_t shim, int64_t now_ms);

struct server *server_find_url(struct engine *e, const char *url);
/* The server the shim on connection shim announced, if any. */
struct server *server_of_shim(struct engine *e, uint64_t shim);
/* The relayed OpenCode process pid, reached from now on through the shim on
 * connection shim (channel: its relay channel). An OpenCode that loads the
 * plugin in two threads registers its process on two connections; the shim
 * that speaks of its sessions is the one that sees them. NULL when no relay
 * server stands for pid. */
struct server *server_take_relay(struct engine *e, int pid, uint64_t shim, void *channel);
/* Live servers in the order they came; next is NULL at the end. */
struct server *server_first(struct engine *e);
struct server *server_next(const struct server *s);
size_t server_count(const struct engine *e);

/* What backends report. A server that stays down fails every retry: its
 * errors are logged as repeated failures (core/log.h), and the connection
 * that ends them says how many there were. */
void server_set_connected(struct server *s, bool connected);
void server_set_version(struct server *s, const char *version);
void server_set_error(struct server *s, int64_t now_ms, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The link failed. False when the engine drops the server for it (a server
 * nobody configured and no shim stands for): the backend then stops trying;
 * true when it should retry. */
bool server_link_down(struct server *s);

/* Through the backend. */
void server_resync(struct server *s, const char *directory);
void server_lookup(struct server *s, const char *session_id, const char *directory);
int server_probe(struct server *s, const char *session_id, probe_done_cb done, void *arg);
/* -1 when the server cannot be asked now (gone, down, no such op, or
 * SERVER_MAX_PROBES in flight). */
int server_check(struct server *s, const char *directory, check_done_cb done, void *arg);
bool server_can_probe(const struct server *s);

struct engine *server_engine(const struct server *s);
const char *server_url(const struct server *s); /* http://host:port, or pid:N for a relay */
enum server_transport server_transport(const struct server *s);
const char *server_transport_name(enum server_transport t); /* "http", "relay" */
bool server_connected(const struct server *s);
const char *server_version(const struct server *s);    /* NULL when unknown */
const char *server_last_error(const struct server *s); /* NULL after success */
int server_pid(const struct server *s);                /* 0 when unknown */
uint64_t server_shim(const struct server *s);          /* 0: no shim */
/* Its shim holds fences (protocol 4): it also says when its own abort of an
 * x's session returned (x.done). */
bool server_fenced(const struct server *s);
bool server_configured(const struct server *s);
/* The default server, watched though nobody named it (no URL configured,
 * no shim registered it): when nothing listens there, nothing runs there,
 * and that is no error. */
bool server_implicit(const struct server *s);
/* HTTP Basic auth: never logged or replied. */
const char *server_username(const struct server *s);
const char *server_password(const struct server *s);
/* Gone: the engine dropped it and frees it at the next reap. Backends may
 * still be called back for it until then; what they report is ignored. */
bool server_dead(const struct server *s);

#endif
