/*
 * One msgpack-rpc peer on a connected stream socket, on the event loop. It
 * knows no method: frames come in through the proto reader and go to its
 * owner's handlers (tmux's proc_add_peer); messages go out through one
 * bounded buffer, written at once, so a reply costs one write when the
 * socket takes it. Requests sent to the peer are tracked with a deadline
 * and answered exactly once.
 *
 * A peer is never freed under anyone: closing is deferred to its own event,
 * which runs from the top of the loop; holders of a reference
 * (peer_ref/peer_unref, as neovim's channels) keep the struct alive after
 * that, and calls on a closed peer just fail.
 */
#ifndef OCSTOP_IO_PEER_H
#define OCSTOP_IO_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

struct event_base;
struct peer;
struct peer_req;

/* Output queued and not taken by the socket, past which a peer counts as
 * one that does not read and is dropped. */
#define PEER_MAX_OUTPUT (4u << 20)
/* Requests sent to one peer and not answered yet. */
#define PEER_MAX_PENDING 256
/* How long part of a frame may wait for its rest (no frame completing
 * meanwhile) before the peer is closed: a client that starts a frame and
 * goes silent holds no connection for ever. A peer that sends whole frames
 * may stay idle as long as it likes. The same bound holds a peer being
 * closed after a protocol error to reading what it was answered. */
#define PEER_PARTIAL_FRAME_MS 5000
/* Messages of one peer handled per turn: what it sent beyond waits in its
 * reader (and its socket) until the other peers ready had theirs, so a
 * flood of small frames (notifications the daemon never answers) delays
 * nobody for long. */
#define PEER_MESSAGES_PER_WAKE 1024

struct peer_handlers {
	/* A request [0, msgid, method, params]; method is not NUL-terminated.
	 * Everything is borrowed for the call. */
	void (*request)(struct peer *p, uint32_t msgid, const char *method, size_t method_len,
	    const msgpack_object *params, void *arg);
	/* A notification [2, method, params]. */
	void (*notify)(struct peer *p, const char *method, size_t method_len,
	    const msgpack_object *params, void *arg);
	/* A frame that is msgpack but no valid message; the stream goes on.
	 * has_msgid says whether it was a request that can be answered. */
	void (*invalid)(struct peer *p, bool has_msgid, uint32_t msgid, const char *why, void *arg);
	/* The connection is gone: end of stream, an error, bytes that are not
	 * msgpack (after the frames before them are handled and answered),
	 * half a frame left too long, output over the bound, or peer_close().
	 * The last handler call; it runs from the top of the loop. */
	void (*closed)(struct peer *p, const char *why, void *arg);
};

/* Take over a connected non-blocking socket (closed when the peer closes).
 * label names the peer in logs. NULL when memory runs out (fd closed). */
struct peer *peer_new(struct event_base *base, int fd, const char *label,
    const struct peer_handlers *h, void *arg);

void peer_ref(struct peer *p);
void peer_unref(struct peer *p);

/* Close soon, from the peer's own event; safe from any callback. */
void peer_close(struct peer *p, const char *why);
/* For a shutdown, when the loop no longer runs: close at once. Requests in
 * flight are answered; the closed handler is not called. */
void peer_close_now(struct peer *p);
bool peer_alive(const struct peer *p);
const char *peer_label(const struct peer *p);

/* Queue one or more whole frames. Written at once, or when the current read
 * is dispatched. -1 when the peer is closing, or when this would put its
 * output over PEER_MAX_OUTPUT (the peer is then closed). */
int peer_send(struct peer *p, const void *buf, size_t len);
size_t peer_output_bytes(const struct peer *p);

/* The reply to a request sent to the peer: error and result are borrowed;
 * error is NULL on success. result is NULL when no reply came, and failure
 * says why (timeout, connection closed). Called exactly once unless the
 * request was cancelled. */
typedef void (*peer_reply_cb)(const msgpack_object *error, const msgpack_object *result,
    const char *failure, void *arg);
/* Packs the params array of an outgoing request. */
typedef void (*peer_pack_cb)(msgpack_packer *pk, const void *arg);

/* Send a request; NULL when it cannot be sent (closing, too many pending,
 * no memory): cb is then never called. The handle is valid until cb runs
 * or peer_request_cancel(). */
struct peer_req *peer_request(struct peer *p, const char *method, peer_pack_cb pack,
    const void *pack_arg, int timeout_ms, peer_reply_cb cb, void *arg);
/* Whether the socket took all of the request; until then the peer cannot
 * have read it (output waits while a read is dispatched). */
bool peer_request_sent(const struct peer_req *r);
/* Forget a request: its callback will not run. */
void peer_request_cancel(struct peer_req *r);

#endif
