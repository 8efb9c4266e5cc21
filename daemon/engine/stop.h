/*
 * Stopping a session tree and proving it stopped. A stop aborts the root and
 * every running descendant through the server's backend, with the proof's
 * watch armed first (core/verify.h), then waits for proof; it sends the
 * aborts once more when the proof does not come in time, then reports not
 * stopped with the reason. A second request for a tree already being
 * stopped joins the first. A child that starts while its tree is being
 * stopped is aborted too, and so is a target that starts again after its
 * idle, at once.
 *
 *   start --send attempt 1--> waiting --proof--> stopped
 *                               |  ^                  ^
 *          deadline, or every   |  | (attempt 1 only) | all idle
 *          request failed       v  |                  |
 *                             send attempt 2 --deadline/all failed--> check --> not stopped
 *
 * Before a stop is reported not stopped, OpenCode is asked for the tree's
 * statuses (the check): an idle event can be lost or late under load while
 * OpenCode's own status already says idle, and a false alarm is as wrong
 * as a false "stopped".
 *
 * Each abort request knows its attempt: a late answer to attempt 1 never
 * counts against attempt 2, and a request may take as long as the whole
 * stop may, so a slow OpenCode cannot turn a real stop into "not stopped".
 * Time is always passed in: the engine never reads a clock.
 */
#ifndef OCSTOP_ENGINE_STOP_H
#define OCSTOP_ENGINE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proc.h"
#include "proto.h"

struct engine;
struct session;
struct stop;

/* The outcome of one stop, as replied and published; borrowed. */
struct stop_result {
	const char *session; /* the root */
	const struct server *server;
	bool stopped;
	const char *const *children; /* descendants aborted with it */
	size_t n_children;
	int64_t ms;           /* stopped: start to proof; else to the last idle, -1 if never */
	int64_t proven_at_ms; /* when it was proven (the engine's clock); 0 if not */
	const char *reason;   /* NULL when stopped; "pending" while it runs */
	const char *origin;   /* "rpc", "x", ... */
	const char *const *running; /* not stopped: the targets not proven idle */
	size_t n_running;
	bool fenced;                   /* the server's shim held fences: proven at idle */
	const char *const *background; /* backgrounded subagents among children */
	size_t n_background;
	int64_t refused_tools; /* what the fences refused while it ran */
	int64_t refused_requests;
	int64_t held;                         /* queued messages the fences kept from starting */
	const struct wire_process *processes; /* what the tree's tools left, ended */
	size_t n_processes;
	bool force; /* it stalled, and its tools' processes were ended (stop_force) */
};

/* Told when a stop ends; res is borrowed for the call. Must not tear down
 * anything synchronously (see notify.h). */
typedef void (*stop_done_cb)(const struct stop_result *res, void *arg);

/* Told, before a stop's first abort, to have the shim on connection shim
 * hold its fences on the tree of ids[0] (ids: the sessions aborted). Set by
 * the layer that reaches shims; must only queue. */
typedef void (*stop_fence_cb)(void *arg, uint64_t shim, const char *const *ids, size_t n);
void stop_set_fence_sink(struct engine *e, stop_fence_cb cb, void *arg);

/* What a shim's fence refused (protocol 4's fence.hit kinds). */
enum fence_kind {
	FENCE_TOOL,    /* a tool call */
	FENCE_REQUEST, /* a model request */
	FENCE_QUEUED,  /* a queued message kept from starting */
};

/* A fence refused something in session id's tree on srv: counted into the
 * stop of that tree that runs. The root's id goes to *root (borrowed) when
 * the tree is known. false when no stop of that tree runs. */
bool stop_fence_hit(struct engine *e, struct server *srv, const char *id, enum fence_kind kind,
    const char **root);

/* Processes one stop ends and reports; more are left running (logged). */
#define STOP_MAX_PROCESSES 32

/* How the engine ends the processes the tools of a tree started (main.c
 * wires io/procs.c): once a tree is proven idle, what its tools left
 * running (moved out of their process group, which OpenCode ends); for a
 * forced stop that stalls, every one of them. */
struct procs_ops {
	/* End the processes whose environment marks one of sessions, at most
	 * max; done is called once, later, with what was ended. all: look at
	 * every process again, none taken as known unmarked (forced). Returns
	 * how many are being ended: 0 when none, -1 when it could not look
	 * (done is then not called). */
	int (*end)(void *ctx, const char *const *sessions, size_t n_sessions, bool all, size_t max,
	    proc_done_cb done, void *arg);
	/* A stop started: look at the processes soon, off the stop's path, so
	 * that the look its end waits for is short. */
	void (*warm)(void *ctx);
	/* Answer every request in flight now (the engine shuts down). */
	void (*flush)(void *ctx);
};

void engine_set_procs(struct engine *e, const struct procs_ops *ops, void *ctx);

/* What started a stop: abort (a client), a stop word typed (the shim). */
#define STOP_ORIGIN_RPC "rpc"
#define STOP_ORIGIN_X "x"

/* The first attempt and one retry. */
#define STOP_ATTEMPTS PROTO_STOP_ATTEMPTS
/* How long the check before "not stopped" may take. */
#define STOP_CHECK_MS PROTO_STOP_CHECK_MS
_Static_assert(PROC_GRACE_MS + PROC_KILL_WAIT_MS == PROTO_STOP_ENDING_MS,
    "ending a stop's processes takes what the protocol says");

/* The longest a stop of attempts of timeout_ms each takes to end: its
 * attempts, the check, and ending what its tools left; a forced one (force)
 * also ends its tools' processes and waits once more. */
static inline int64_t stop_longest_ms(int64_t timeout_ms, bool force)
{
	return proto_stop_longest_ms(timeout_ms, force);
}

/* Start (or join) stopping the tree of root, which must be running. done
 * may be NULL. aborted, when not NULL, is a session of the tree the caller
 * aborts itself (the shim, in-process, for the x): the first attempt sends
 * it nothing, so that one stop sends one abort per session; the retry does.
 * NULL when memory ran out or root's server is gone. The stop never ends
 * inside this call. */
struct stop *stop_start(struct engine *e, struct session *root, const char *origin,
    const char *aborted, int64_t timeout_ms, int64_t now_ms, stop_done_cb done, void *arg);

/* The caller could not abort the session it said it would (stop_start's
 * aborted): the stop of its tree sends that abort now. */
void stop_abort_skipped(struct engine *e, const char *aborted, int64_t now_ms);

/* When the stop stalls (no proof after its retry), end every process the
 * tree's tools started, then wait for proof once more (--force, x_force). */
void stop_force(struct stop *st);

/* The caller aborts session of st's tree too, by another way to OpenCode
 * (the shim, in-process, for an x over HTTP): the proof waits for its word
 * (stop_caller_done), up to the attempt's deadline and while the server's
 * shim is connected, since an abort that lands after the stop ended drops
 * the user's next prompt. */
void stop_await_caller(struct stop *st, const char *session);
void stop_caller_done(struct engine *e, const char *session, int64_t now_ms);
/* Whether a stop running waits for the caller's abort of session, or left
 * that abort to it (stop_start's aborted). */
bool stop_shim_aborts(struct engine *e, const char *session);
/* The shim of srv disconnected: the word of its abort that a stop waits for
 * may never come, so that stop is proven at its next step without it. */
void stops_shim_gone(struct engine *e, const struct server *srv, int64_t now_ms);

/* A result describing the stop while it still runs (reason "pending"). */
void stop_pending_result(const struct stop *st, struct stop_result *res);

#endif
