/*
 * The client's side of one connection to ocstopd. Every wait has a deadline
 * (poll on a non-blocking socket), so a stuck daemon can delay the CLI but
 * never hang it; replies are bounded by the proto reader's limits.
 */
#ifndef OCSTOP_CLIENT_CONN_H
#define OCSTOP_CLIENT_CONN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "proto.h"

/* How long a connect may take before the daemon counts as unreachable. */
#define CONN_CONNECT_TIMEOUT_MS 1000

/* A deadline that never comes, for monitor's endless wait. */
#define CONN_NO_DEADLINE INT64_MAX

enum conn_status {
	CONN_OK = 0,
	CONN_ETRANSPORT, /* cannot connect, read or write; closed; timed out */
	CONN_EREPLY,     /* the daemon answered with an error or a bad reply */
	CONN_EINTR,      /* a signal unblocked by conn_set_wait_mask() came */
};

struct conn;

/* Monotonic milliseconds from now, for deadlines. */
int64_t conn_deadline(int64_t ms);

/* Connects within CONN_CONNECT_TIMEOUT_MS (or by deadline, if sooner), only
 * to a daemon of our own user: the socket's directory must pass proto's
 * rule (proto_socket_dir_refusal()) and the listener must run as our uid.
 * Caller frees with conn_free(). NULL with *cause set (caller frees). */
struct conn *conn_open(const char *path, int64_t deadline, char **cause);

/* Takes over a connected stream socket fd, making it non-blocking. NULL
 * when that or an allocation fails; fd is then left open. */
struct conn *conn_new(int fd);
void conn_free(struct conn *c);

/* Waits take signals in mask (ppoll); a signal that interrupts one makes it
 * return CONN_EINTR. Lets the caller keep signals blocked except while
 * waiting, so none is lost between its check and the wait. */
void conn_set_wait_mask(struct conn *c, const sigset_t *mask);

/* Starts a request for method. The caller packs exactly one object, the
 * params array, into the packer, which is borrowed until conn_call(). */
msgpack_packer *conn_request(struct conn *c, const char *method);

/* Sends the request and waits until deadline for its response, skipping
 * anything else. On CONN_OK *result is the reply's map, borrowed until the
 * next conn_call() or conn_next_notify(). Otherwise *cause is set (caller
 * frees): an error reply reads "message (error_name)". */
int conn_call(struct conn *c, int64_t deadline, const msgpack_object **result, char **cause);
/* The protocol's code (PROTO_E...) of the error reply conn_call() last
 * returned CONN_EREPLY for; 0 when it answered no error reply. */
int conn_error_code(const struct conn *c);
/* Its message, borrowed like a result; NULL when there was none. */
const char *conn_error_text(const struct conn *c);

/* Waits until deadline for the next notification, skipping anything else.
 * *msg is borrowed like conn_call()'s result. CONN_ETRANSPORT when the
 * daemon closes the connection. */
int conn_next_notify(struct conn *c, int64_t deadline, struct proto_msg *msg, char **cause);

#endif
