/*
 * The OpenCode processes the daemon reaches. Each server has one transport:
 * HTTP (+ the /global/event stream) for servers with a port, or the relay
 * through the plugin shim's connection for the TUI and `opencode run`,
 * which listen on no port. Everything else in the daemon sees only this
 * interface.
 */
#ifndef OCSTOP_SERVER_H
#define OCSTOP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct server;

enum server_transport {
	SERVER_HTTP,
	SERVER_RELAY,
};

/* Told when a probe has finished, whatever it found; called exactly once. */
typedef void (*probe_done_cb)(struct daemon *d, void *arg);

struct transport_ops {
	/* Ask OpenCode to abort one session. The outcome goes to
	 * stop_on_abort_reply(d, token, ...). -1 when it could not be sent. */
	int (*abort)(struct server *s, const char *session_id, const char *directory, uint64_t token);
	/* Refresh statuses of sessions in directory (NULL: the server's default). */
	void (*resync)(struct server *s, const char *directory);
	/* Learn parent and title of a session first seen through a status or part. */
	void (*lookup)(struct server *s, const char *session_id, const char *directory);
	/* Find a session never seen in events (it may be running silently, say
	 * inside a long tool): learn its directory, then that directory's
	 * statuses. NULL where the transport always knows its sessions (the
	 * relay lists every directory when its shim registers). -1: not sent,
	 * done is not called. */
	int (*probe)(struct server *s, const char *session_id, probe_done_cb done, void *arg);
	void (*free)(struct server *s);
};

struct server {
	struct daemon *d;
	char *url;               /* http://host:port, or pid:N for a relay */
	enum server_transport transport;
	const struct transport_ops *ops;
	void *priv;              /* the transport's own state */
	bool connected;
	char *version;
	char *last_error;
	char *username;          /* HTTP Basic auth; never logged or replied */
	char *password;
	bool configured;         /* named on the command line: kept for ever */
	uint64_t shim_client;    /* connection of the shim that registered it */
	int pid;                 /* OpenCode's pid when a shim told us */
	struct server *next;
};

struct server_list;

struct server_list *server_list_new(void);
/* Frees every server (transports cancel their work). */
void server_list_free(struct server_list *l);

struct server *server_list_first(struct server_list *l);
struct server *server_find_url(struct daemon *d, const char *url);

/* A new HTTP server, probing at once; NULL with *cause set on failure. */
struct server *server_add_http(struct daemon *d, const char *url, const char *username,
    const char *password, bool configured, const char **cause);
/* A relay server served by the shim on connection client_id. */
struct server *server_add_relay(struct daemon *d, int pid, uint64_t client_id, const char **cause);
/* Remove a server: its sessions go and its stops fail with reason. */
void server_remove(struct daemon *d, struct server *s, const char *reason);

/* Transport reports. */
void server_set_connected(struct server *s, bool connected, const char *version);
void server_set_error(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A shim connection closed: relays it served go; HTTP servers it registered
 * go too unless configured or still connected. */
void server_shim_gone(struct daemon *d, uint64_t client_id);

/* Constructors of the two transports (transport-http.c, transport-relay.c). */
int transport_http_init(struct server *s);
int transport_relay_init(struct server *s);
/* Relay input from the shim. */
void transport_relay_event(struct server *s, const char *directory, const char *json, size_t len);

#endif
