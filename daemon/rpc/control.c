#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/hash.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/notify.h"
#include "engine/server.h"
#include "io/listen.h"
#include "io/peer.h"
#include "proto.h"
#include "rpc/control.h"
#include "rpc/rpc.h"
#include "rpc/views.h"

/* Keep alphabetized. On the wire, only exact names match. */
static const struct method_entry *const method_table[] = {
	&method_abort_entry,
	&method_message_entry,
	&method_opencode_event_entry,
	&method_ping_entry,
	&method_register_entry,
	&method_status_entry,
	&method_subscribe_entry,
	NULL,
};

/* One connection on the control socket. */
struct conn {
	UT_hash_handle hh; /* in by_id */
	uint64_t id;
	struct control *ctl;
	struct peer *peer;
	pid_t pid;
	unsigned mask; /* news it subscribed to; 0: none */
	TAILQ_ENTRY(conn) sub_link;
};

struct control {
	struct event_base *base;
	struct engine *e;
	struct listener *listener;
	struct conn *by_id;
	size_t n_conns;
	uint64_t next_id;
	TAILQ_HEAD(, conn) subscribers;
	unsigned sub_mask; /* union of the subscribers' masks */
	struct notify_sink *sink;
	struct rpc_counters counters;
	struct proto_buf reply; /* a reply is packed here, then sent whole */
	struct proto_buf news;  /* an event is packed here once for every subscriber */
};

static struct conn *conn_find(struct control *ctl, uint64_t id)
{
	struct conn *c = NULL;

	HASH_FIND(hh, ctl->by_id, &id, sizeof(id), c);
	return c;
}

static const struct method_entry *method_find(const char *name, size_t len)
{
	const struct method_entry *const *m;

	for (m = method_table; *m != NULL; m++)
		if (strlen((*m)->name) == len && memcmp((*m)->name, name, len) == 0)
			return *m;
	return NULL;
}

msgpack_packer *rpc_reply_begin(const struct rpc_call *call)
{
	struct control *ctl = call->ctl;

	if (call->notification || conn_find(ctl, call->conn) == NULL)
		return NULL;
	proto_buf_reset(&ctl->reply);
	proto_pack_result_header(&ctl->reply.pk, call->msgid);
	return &ctl->reply.pk;
}

void rpc_reply_end(const struct rpc_call *call)
{
	struct control *ctl = call->ctl;
	struct conn *c = conn_find(ctl, call->conn);

	if (c == NULL)
		return;
	if (ctl->reply.oom) {
		rpc_reply_error(call, PROTO_EINTERNAL, "out of memory");
		return;
	}
	peer_send(c->peer, ctl->reply.sb.data, ctl->reply.sb.size);
}

void rpc_reply_error(const struct rpc_call *call, int code, const char *message)
{
	struct control *ctl = call->ctl;
	struct conn *c;

	if (call->notification || (c = conn_find(ctl, call->conn)) == NULL)
		return;
	proto_buf_reset(&ctl->reply);
	proto_pack_error(&ctl->reply.pk, call->msgid, code, message);
	if (!ctl->reply.oom)
		peer_send(c->peer, ctl->reply.sb.data, ctl->reply.sb.size);
}

struct engine *rpc_engine(const struct rpc_call *call)
{
	return call->ctl->e;
}

struct rpc_counters *rpc_counters(const struct rpc_call *call)
{
	return &call->ctl->counters;
}

size_t rpc_connections(const struct rpc_call *call)
{
	return call->ctl->n_conns;
}

struct peer *rpc_peer(const struct rpc_call *call)
{
	struct conn *c = conn_find(call->ctl, call->conn);

	return c != NULL ? c->peer : NULL;
}

/* The news this control server asks of the engine: what any subscriber wants. */
static void update_sink(struct control *ctl)
{
	struct conn *c;

	ctl->sub_mask = 0;
	TAILQ_FOREACH(c, &ctl->subscribers, sub_link)
		ctl->sub_mask |= c->mask;
	notify_set_mask(ctl->sink, ctl->sub_mask);
}

int rpc_subscribe(const struct rpc_call *call, unsigned mask)
{
	struct conn *c = conn_find(call->ctl, call->conn);

	if (c == NULL)
		return -1;
	if (c->mask == 0)
		TAILQ_INSERT_TAIL(&call->ctl->subscribers, c, sub_link);
	/* Subscribed with nothing it knows still counts as subscribed. */
	c->mask = mask | (1u << NOTIFY_TYPES);
	update_sink(call->ctl);
	return 0;
}

/* One event, packed once, to every subscriber that wants it. A subscriber
 * that does not read is closed by its peer later, never here. */
static void news_cb(const struct notify_event *ev, void *arg)
{
	struct control *ctl = arg;
	unsigned bit = 1u << ev->type;
	struct conn *c;

	proto_buf_reset(&ctl->news);
	view_pack_event(&ctl->news.pk, ev);
	if (ctl->news.oom) {
		log_warnx("out of memory publishing %s", notify_type_name(ev->type));
		return;
	}
	TAILQ_FOREACH(c, &ctl->subscribers, sub_link)
		if ((c->mask & bit) != 0)
			peer_send(c->peer, ctl->news.sb.data, ctl->news.sb.size);
}

static void on_request(struct peer *p, uint32_t msgid, const char *method, size_t method_len,
    const msgpack_object *params, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, msgid, false };
	const struct method_entry *m = method_find(method, method_len);
	const msgpack_object *opts;
	const char *msg = NULL;
	int code;

	(void)p;
	if (m == NULL || (m->how & METHOD_REQUEST) == 0) {
		log_debug("client %llu: unknown method %.*s", (unsigned long long)c->id,
		    (int)method_len, method);
		rpc_reply_error(&call, PROTO_EMETHOD,
		    m == NULL ? "unknown method" : "this method is a notification");
		return;
	}
	opts = proto_params_map(params, &msg);
	if (opts == NULL && msg != NULL) {
		rpc_reply_error(&call, PROTO_EBADREQ, msg);
		return;
	}
	if ((code = m->exec(&call, opts, &msg)) != 0)
		rpc_reply_error(&call, code, msg != NULL ? msg : proto_errcode_name(code));
}

static void on_notify(struct peer *p, const char *method, size_t method_len,
    const msgpack_object *params, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, 0, true };
	const struct method_entry *m = method_find(method, method_len);
	const msgpack_object *opts;
	const char *msg = NULL;

	(void)p;
	if (m == NULL || (m->how & METHOD_NOTIFY) == 0) {
		log_debug("client %llu: ignored notification %.*s", (unsigned long long)c->id,
		    (int)method_len, method);
		return;
	}
	opts = proto_params_map(params, &msg);
	if ((opts == NULL && msg != NULL) || m->exec(&call, opts, &msg) != 0)
		log_debug("client %llu: notification %s refused: %s", (unsigned long long)c->id,
		    m->name, msg != NULL ? msg : "bad params");
}

static void on_invalid(struct peer *p, bool has_msgid, uint32_t msgid, const char *why, void *arg)
{
	struct conn *c = arg;
	struct rpc_call call = { c->ctl, c->id, msgid, false };

	(void)p;
	log_debug("client %llu: invalid message: %s", (unsigned long long)c->id, why);
	if (has_msgid)
		rpc_reply_error(&call, PROTO_EBADREQ, why);
}

static void conn_forget(struct control *ctl, struct conn *c)
{
	if (c->mask != 0) {
		TAILQ_REMOVE(&ctl->subscribers, c, sub_link);
		update_sink(ctl);
	}
	HASH_DELETE(hh, ctl->by_id, c);
	ctl->n_conns--;
}

static void on_closed(struct peer *p, const char *why, void *arg)
{
	struct conn *c = arg;
	struct control *ctl = c->ctl;

	(void)p;
	log_debug("client %llu: closed: %s", (unsigned long long)c->id, why);
	conn_forget(ctl, c);
	/* A shim's OpenCode process is gone with its connection. */
	engine_shim_gone(ctl->e, c->id);
	free(c);
}

static const struct peer_handlers conn_handlers = {
	.request = on_request,
	.notify = on_notify,
	.invalid = on_invalid,
	.closed = on_closed,
};

static void accept_cb(int fd, uid_t uid, pid_t pid, void *arg)
{
	struct control *ctl = arg;
	struct conn *c = calloc(1, sizeof(*c));
	char label[64];

	(void)uid;
	if (c == NULL) {
		log_warnx("could not take a connection from pid %d: out of memory", (int)pid);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->id = ++ctl->next_id;
	c->pid = pid;
	snprintf(label, sizeof(label), "client %llu (pid %d)", (unsigned long long)c->id, (int)pid);
	HASH_ADD(hh, ctl->by_id, id, sizeof(c->id), c);
	if (c->hh.tbl == NULL || (c->peer = peer_new(ctl->base, fd, label, &conn_handlers, c)) == NULL) {
		if (c->hh.tbl != NULL)
			HASH_DELETE(hh, ctl->by_id, c);
		else
			close(fd);
		free(c);
		log_warnx("could not take a connection from pid %d: out of memory", (int)pid);
		return;
	}
	ctl->n_conns++;
	ctl->counters.clients++;
	log_debug("client %llu: connected, pid %d", (unsigned long long)c->id, (int)pid);
}

struct control *control_new(struct event_base *base, struct engine *e)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL)
		return NULL;
	ctl->base = base;
	ctl->e = e;
	TAILQ_INIT(&ctl->subscribers);
	proto_buf_init(&ctl->reply);
	proto_buf_init(&ctl->news);
	if ((ctl->sink = notify_add(engine_notify(e), 0, news_cb, ctl)) == NULL) {
		control_free(ctl);
		return NULL;
	}
	return ctl;
}

int control_listen(struct control *ctl, const char *path, char **cause)
{
	ctl->listener = listen_start(ctl->base, path, accept_cb, ctl, cause);
	return ctl->listener != NULL ? 0 : -1;
}

void control_stop_listening(struct control *ctl)
{
	listen_stop(ctl->listener);
	ctl->listener = NULL;
}

size_t control_output_bytes(const struct control *ctl)
{
	const struct conn *c, *tmp;
	size_t n = 0;

	HASH_ITER(hh, ctl->by_id, c, tmp)
		n += peer_output_bytes(c->peer);
	return n;
}

void control_free(struct control *ctl)
{
	struct conn *c, *tmp;

	if (ctl == NULL)
		return;
	listen_stop(ctl->listener);
	/* No loop runs any more: close now. The peers outlive this only as
	 * references others hold (a relay backend until its server goes). */
	HASH_ITER(hh, ctl->by_id, c, tmp) {
		conn_forget(ctl, c);
		engine_shim_gone(ctl->e, c->id);
		peer_close_now(c->peer);
		free(c);
	}
	if (ctl->sink != NULL)
		notify_remove(ctl->sink);
	proto_buf_destroy(&ctl->reply);
	proto_buf_destroy(&ctl->news);
	free(ctl);
}
