/*
 * The objects replies and events carry, with one packer each, so that
 * status, subscriptions and abort replies can never disagree about what a
 * session, a server or a stop looks like (PROTOCOL.md, "Objects"). The
 * views hold borrowed strings; a NULL string packs nil. Every field is
 * always packed.
 */
#ifndef OCSTOP_PROTO_WIRE_H
#define OCSTOP_PROTO_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/* {id, server, directory, parent, status, title} */
struct wire_session {
	const char *id;
	const char *server; /* the URL of its OpenCode process */
	const char *directory;
	const char *parent;
	const char *status; /* "busy", "idle", "retry"; nil when unknown */
	const char *title;
};

/* {url, connected, version, last_error, transport, pid} */
struct wire_server {
	const char *url;
	bool connected;
	const char *version;
	const char *last_error;
	const char *transport; /* "http", "relay" */
	int64_t pid;           /* 0 when unknown */
	bool implicit;         /* the default address, which nothing named */
	bool shim;             /* a plugin shim registered it and is connected */
};

/* A command as a stop reports it: its bytes at most, the terminating NUL
 * included; a longer one is cut and ends in "...". */
#define PROTO_MAX_COMMAND 128

/* {pid, command, signal, ms}: a process a stop ended. */
struct wire_process {
	int64_t pid;
	char command[PROTO_MAX_COMMAND]; /* printable ASCII */
	const char *signal;              /* the last one sent: "TERM" or "KILL" (static) */
	int64_t ms;                      /* from the TERM until it was seen gone; -1 if never */
};

/* {session, stopped, children, running, ms, reason, server, origin, processes, force} */
struct wire_stop {
	const char *session; /* the root of the tree */
	bool stopped;
	const char *const *children;
	size_t n_children;
	int64_t ms;         /* -1 when no idle was seen */
	const char *reason; /* nil when stopped */
	const char *server;
	const char *origin;         /* "rpc", "x" */
	const char *const *running; /* not stopped: sessions not proven idle */
	size_t n_running;
	bool fenced;                   /* the shim's fences held the tree: proven at idle */
	const char *const *background; /* backgrounded subagents among children */
	size_t n_background;
	int64_t refused_tools;                /* tool calls the fences refused */
	int64_t refused_requests;             /* model requests the fences refused */
	int64_t held;                         /* queued messages kept from starting */
	const struct wire_process *processes; /* what the tree's tools left, ended */
	size_t n_processes;
	bool force; /* it stalled, and its tools' processes were ended */
};

void wire_pack_session(msgpack_packer *pk, const struct wire_session *s);
void wire_pack_server(msgpack_packer *pk, const struct wire_server *s);
void wire_pack_stop(msgpack_packer *pk, const struct wire_stop *s);

/* The fence notification's params: {root: ids[0], sessions: ids}. */
void wire_pack_fence(msgpack_packer *pk, const char *const *ids, size_t n);

/* How the stop an x started ended, told to the shim it came from:
 * {session, message_id, outcome, ms, stop, reason}. */
struct wire_x_result {
	const char *session;          /* where the x was typed */
	const char *message_id;       /* the x's message, nil when not given */
	const char *outcome;          /* "stopped", "not_stopped", "idle", "unverified" */
	int64_t ms;                   /* from the x to the tree's idle; -1 when unknown */
	const struct wire_stop *stop; /* nil when no stop ran */
	const char *reason;           /* nil when stopped */
};

void wire_pack_x_result(msgpack_packer *pk, const struct wire_x_result *x);

#endif
