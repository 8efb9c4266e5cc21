/*
 * Methods clients call. Each method lives in its own method-<name>.c and is
 * listed in method.c's table; all share one signature.
 */
#ifndef OCSTOP_RPC_H
#define OCSTOP_RPC_H

#include <stdint.h>

#include <msgpack.h>

struct daemon;
struct client;

/* Who to answer: copied freely; a reply to a closed connection is dropped. */
struct rpc_call {
	struct daemon *d;
	uint64_t client;
	uint32_t msgid;
};

/* opts is the params map, or NULL when none was given. Returns 0 when the
 * method replied or will reply later, or an error code (proto_errcode) with
 * *msg set to a static string: the dispatcher then sends the error. */
typedef int (*method_exec)(const struct rpc_call *call, const msgpack_object *opts, const char **msg);

struct method_entry {
	const char *name;
	method_exec exec;
};

/* Run a request from c. */
void rpc_dispatch(struct daemon *d, struct client *c, uint32_t msgid, const char *method,
    size_t method_len, const msgpack_object *params);
/* Handle a notification from c (the relay's events). */
void rpc_notify(struct daemon *d, struct client *c, const char *method, size_t method_len,
    const msgpack_object *params);

/* The packer for a successful reply, its header already packed: pack the
 * result map, then call rpc_reply_end(). NULL when the client is gone. */
msgpack_packer *rpc_reply_begin(const struct rpc_call *call);
void rpc_reply_end(const struct rpc_call *call);
void rpc_reply_error(const struct rpc_call *call, int code, const char *message);

extern const struct method_entry method_abort_entry;
extern const struct method_entry method_message_entry;
extern const struct method_entry method_ping_entry;
extern const struct method_entry method_register_entry;
extern const struct method_entry method_status_entry;
extern const struct method_entry method_subscribe_entry;

#endif
