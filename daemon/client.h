/*
 * One connection on the control socket: a plain client (CLI, editor), a
 * subscriber, or an OpenCode plugin shim (which also serves the relay).
 * Input and output are bounded; a client that does not read its replies is
 * dropped and never blocks the others. Connections are named by id so that
 * late replies to a closed connection find nothing instead of freed memory.
 */
#ifndef OCSTOP_CLIENT_H
#define OCSTOP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

struct daemon;
struct client;

/* Bound on queued output before a client counts as not reading. */
#define CLIENT_MAX_OUTPUT (4u << 20)
/* Bound on requests the daemon has sent one shim and not seen answered. */
#define CLIENT_MAX_PENDING 256

struct client_list;

struct client_list *client_list_new(void);
/* Close every connection. */
void client_list_free(struct daemon *d);

/* Take over an accepted socket; -1 when memory ran out (fd closed). */
int client_accept(struct daemon *d, int fd, uid_t uid, pid_t pid);

struct client *client_find(struct daemon *d, uint64_t id);
struct client *client_first(struct daemon *d);
struct client *client_next(struct client *c);
uint64_t client_id(const struct client *c);
size_t client_count(struct daemon *d);

/* A packer that appends to c's output; pack one whole message, then call
 * client_sent(), which drops c if its output went over the bound. */
msgpack_packer *client_packer(struct client *c);
void client_sent(struct client *c);

/* Subscription filter; types NULL means every type. */
int client_subscribe(struct client *c, char **types, size_t n);
bool client_wants(const struct client *c, const char *type);

/* The reply to a request the daemon sent: error and result are borrowed;
 * error is NULL on success; result is NULL when the peer never answered
 * (then reason says why). Called exactly once; arg belongs to the callee. */
typedef void (*client_reply_cb)(struct daemon *d, const msgpack_object *error,
    const msgpack_object *result, const char *reason, void *arg);
/* Packs the params array of an outgoing request. */
typedef void (*client_pack_cb)(msgpack_packer *pk, const void *arg);

/* Send a request to the peer (the relay). -1 when it cannot be sent: cb is
 * not called and arg stays with the caller. */
int client_request(struct client *c, const char *method, client_pack_cb pack, const void *pack_arg,
    int timeout_ms, client_reply_cb cb, void *arg);

/* Bytes queued to all clients and not yet written, for a clean shutdown. */
size_t client_output_bytes(struct daemon *d);

#endif
