/*
 * What a method sees. Each method lives in its own method-<name>.c,
 * exports a method_entry and is listed in control.c's table; all share one
 * signature. A method answers a request now or later through its rpc_call,
 * which is a plain value: a reply to a connection that is gone is dropped.
 */
#ifndef OCSTOP_RPC_RPC_H
#define OCSTOP_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "core/session.h"
#include "proto.h"

struct control;
struct engine;
struct peer;
struct server;

/* Who asked: copied freely. */
struct rpc_call {
	struct control *ctl;
	uint64_t conn; /* the connection's id, never reused */
	uint32_t msgid;
	bool notification; /* nobody waits for a reply */
	/* A notification of a method that also answers requests (static): it
	 * is in flight as a request until it answers itself (rpc_reply_begin or
	 * rpc_reply_error, once), and its errors, which nobody hears of, are
	 * logged at info. */
	const char *method;
};

/* opts is the params map, or NULL when none was given. Returns 0 when the
 * method replied or will reply later, or an error code (proto_errcode) with
 * *msg set to a static string: the dispatcher then sends the error. */
typedef int (
    *method_exec)(const struct rpc_call *call, const msgpack_object *opts, const char **msg);

/* How a method may be called. */
#define METHOD_REQUEST 0x1
#define METHOD_NOTIFY 0x2

struct method_entry {
	const char *name;
	unsigned how;
	method_exec exec;
};

/* The longest text, in bytes, that can be a stop word: message's parts
 * joined, or check's text, of this length or more are never one (no stop
 * word's key comes near it, CONFIG_MAX_STOP_KEY). */
#define RPC_MAX_TEXT 255

/* Counters of the control socket's own, beside the engine's. */
struct rpc_counters {
	uint64_t verdicts_pass;
	uint64_t verdicts_clear;
	uint64_t verdicts_abort;
	uint64_t clients; /* connections accepted since start */
};

/* A packer for a successful reply with its header packed: pack the result
 * map, then call rpc_reply_end(), which sends it in one piece. NULL when
 * there is nobody to answer (a notification, which is then answered, or the
 * connection is gone). */
msgpack_packer *rpc_reply_begin(const struct rpc_call *call);
void rpc_reply_end(const struct rpc_call *call);
void rpc_reply_error(const struct rpc_call *call, int code, const char *message);
/* Bytes packed so far into the reply begun, for a method that bounds it. */
size_t rpc_reply_size(const struct rpc_call *call);

/* A notification to the connection conn: pack its params (an array) into
 * the packer, then rpc_notify_end() sends it whole. NULL when conn is gone.
 * Safe from an engine callback: it only queues bytes. */
msgpack_packer *rpc_notify_begin(struct control *ctl, uint64_t conn, const char *method);
void rpc_notify_end(struct control *ctl, uint64_t conn);

/* What message and x.done say of the x: the session it was typed in, and
 * the optional message id and directory of the shim's instance. */
struct rpc_x {
	char session[PROTO_MAX_SESSION_ID + 1];
	char message_id[PROTO_MAX_SESSION_ID + 1]; /* "" when not given */
	char directory[SESSION_MAX_DIRECTORY + 1]; /* "" when not given */
	int64_t typed_at; /* the shim's wall clock when the x came; 0 when not given */
};

/* The shim stamps typed_at as it sends the x: one later than the daemon's
 * wall clock when read, or older than this, is not taken (the x's ms would
 * lie); it reads as not given. */
#define RPC_X_TYPED_MAX_AGE_MS 60000

/* Read them from a params map: 0, or PROTO_EBADREQ with *msg. */
int rpc_x_read(const msgpack_object *opts, struct rpc_x *x, const char **msg);
/* A verdict on x, given by the daemon or by the shim alone: counted,
 * logged and published. */
void rpc_x_verdict(const struct rpc_call *call, const struct rpc_x *x, const char *verdict);

/* How an x came to be stopped. */
#define RPC_X_SHIM_ABORTED 0x1 /* the shim aborted the typed-in session itself */
#define RPC_X_ALONE 0x2        /* the shim decided without the daemon's verdict */
#define RPC_X_CLEARED 0x4      /* answered clear: the daemon's table said nothing ran */

/* The x typed in x->session on the caller's OpenCode process is a stop
 * (flags: RPC_X_*): stop its tree and tell the caller how it ended
 * (x.result). A session the daemon has not seen is looked for in
 * x->directory, where the shim's OpenCode instance runs. A cleared x is
 * checked against OpenCode's statuses all the same (an event may be late),
 * and stopped if it runs after all. */
void rpc_x_stop(const struct rpc_call *call, const struct rpc_x *x, unsigned flags);

/* An x.result the connection conn will be told: false (nothing held) when
 * it waits for CONTROL_MAX_X_PENDING already or is gone. Released once told. */
bool rpc_x_hold(struct control *ctl, uint64_t conn);
void rpc_x_release(struct control *ctl, uint64_t conn);

/* The daemon answered x abort on the caller's connection; whether it did,
 * of the last CONTROL_X_ANSWERED there, by message_id (false without one). */
void rpc_x_answered(const struct rpc_call *call, const struct rpc_x *x);
bool rpc_x_was_answered(const struct rpc_call *call, const struct rpc_x *x);

struct engine *rpc_engine(const struct rpc_call *call);
struct rpc_counters *rpc_counters(const struct rpc_call *call);
size_t rpc_connections(const struct rpc_call *call);
/* The daemon listens on the socket systemd passed. */
bool rpc_activated(const struct rpc_call *call);
/* The caller's connection, for the relay; NULL when it is gone. */
struct peer *rpc_peer(const struct rpc_call *call);
/* Make the caller a subscriber to the news in mask (bits 1 << notify_type),
 * each event sent as [2, "event", [event]], or, with nvim_method (a
 * PROTO_N_NVIM_*), as [2, nvim_method, [arg, [event]]]. -1 when the
 * connection is gone or memory runs out. */
int rpc_subscribe(const struct rpc_call *call, unsigned mask, const char *nvim_method,
    const char *arg, size_t arg_len);
/* A register of OpenCode process pid on the caller's connection: 0, or
 * PROTO_ELIMIT with *msg when the connection registered another process or
 * made CONTROL_MAX_REGISTER calls already. */
int rpc_claim_process(const struct rpc_call *call, int pid, const char **msg);
/* The server the caller's shim speaks for: the one it announced last, else
 * the relayed process it registered, which it then relays (see
 * server_take_relay). NULL when none. */
struct server *rpc_shim_server(const struct rpc_call *call);

extern const struct method_entry method_abort_entry;
extern const struct method_entry method_check_entry;
extern const struct method_entry method_fence_hit_entry;
extern const struct method_entry method_message_entry;
extern const struct method_entry method_opencode_event_entry;
extern const struct method_entry method_ping_entry;
extern const struct method_entry method_register_entry;
extern const struct method_entry method_status_entry;
extern const struct method_entry method_subscribe_entry;
extern const struct method_entry method_x_done_entry;

#endif
