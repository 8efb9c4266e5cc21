/* The control server's parts share this; methods see only rpc.h. */
#ifndef OCSTOP_RPC_RPC_INT_H
#define OCSTOP_RPC_RPC_INT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/hash.h"
#include "proto.h"
#include "rpc/control.h"
#include "rpc/rpc.h"

/* One connection on the control socket. */
struct conn {
	UT_hash_handle hh; /* in by_id */
	uint64_t id;
	struct control *ctl;
	struct peer *peer;
	pid_t pid;
	unsigned mask; /* news it subscribed to; 0: none */
	/* The packed start of each event's notification up to the event, for
	 * a subscriber with the nvim option: [2, method, [arg, [ ... ]]];
	 * NULL: the plain [2, "event", [ ... ]]. */
	char *news_head;
	size_t news_head_len;
	unsigned in_flight;                      /* requests not answered yet */
	unsigned registered;                     /* register calls accepted */
	int opencode_pid;                        /* the OpenCode process it registered; 0: none */
	unsigned x_pending;                      /* x.result it waits for */
	uint64_t x_answered[CONTROL_X_ANSWERED]; /* rpc_x_answered(): hashed message_ids */
	unsigned x_answered_next;
	uint64_t unheard; /* its notifications ignored or failed (conns_unheard) */
	TAILQ_ENTRY(conn) sub_link;
};

struct control {
	struct event_base *base;
	struct engine *e;
	struct listener *listener;
	struct conn *by_id;
	size_t n_conns;
	size_t max_conns; /* CONTROL_MAX_CONNS, or what the descriptor limit allows */
	size_t in_flight; /* requests not answered yet, on every connection */
	uint64_t refused; /* connections closed at once: over CONTROL_MAX_CONNS */
	uint64_t next_id; /* also how many connections were accepted */
	bool activated;   /* listening on the socket systemd passed */
	TAILQ_HEAD(, conn) subscribers;
	struct notify_sink *sink;
	struct rpc_counters counters;
	struct proto_buf reply;     /* a reply is packed here, then sent whole */
	struct conn *replying;      /* whom the reply being packed goes to */
	struct proto_buf news;      /* an event is packed here once for every subscriber */
	size_t news_event_at;       /* where the event starts in news, after the plain head */
	struct proto_buf news_nvim; /* the event's frame to one nvim subscriber */
	struct proto_buf notice;    /* a notification to one connection */
};

/* conns.c: the connections by id, and the subscribers' sink. */
int conns_init(struct control *ctl);
void conns_fini(struct control *ctl);
struct conn *conns_find(const struct control *ctl, uint64_t id);
/* -1 when memory runs out (c is then not added). */
int conns_add(struct control *ctl, struct conn *c);
void conns_forget(struct control *ctl, struct conn *c);
/* head (owned, NULL for the plain form): see struct conn's news_head. */
void conns_subscribe(struct control *ctl, struct conn *c, unsigned mask, char *head,
    size_t head_len);
/* A request of c was answered. */
void conns_answered(struct control *ctl, struct conn *c);

/* fence.c: the engine's stops tell shims to hold their fences. */
void fence_sink_init(struct control *ctl);
void fence_sink_fini(struct control *ctl);

/* A notification of c was ignored or failed: true when that is to be
 * logged (CONTROL_MAX_UNHEARD_LOGGED). */
bool conns_unheard(struct conn *c);

/* methods.c: the table of methods, by exact name. */
const struct method_entry *method_find(const char *name, size_t len);

#endif
