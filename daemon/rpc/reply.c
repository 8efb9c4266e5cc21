/* What methods use to answer, and to reach the daemon's state. */
#include "core/log.h"
#include "core/util.h"
#include "engine/server.h"
#include "io/peer.h"
#include "rpc/control.h"
#include "rpc/rpc-int.h"

msgpack_packer *rpc_reply_begin(const struct rpc_call *call)
{
	struct control *ctl = call->ctl;

	if ((ctl->replying = conns_find(ctl, call->conn)) == NULL)
		return NULL;
	if (call->notification) {
		/* Its success is its own answer. */
		if (call->method != NULL)
			conns_answered(ctl, ctl->replying);
		ctl->replying = NULL;
		return NULL;
	}
	proto_buf_reset(&ctl->reply);
	proto_pack_result_header(&ctl->reply.pk, call->msgid);
	return &ctl->reply.pk;
}

/* Packing a reply runs no callback: the connection found by
 * rpc_reply_begin() is still there. */
void rpc_reply_end(const struct rpc_call *call)
{
	struct control *ctl = call->ctl;
	struct conn *c = ctl->replying;

	ctl->replying = NULL;
	if (c == NULL)
		return;
	if (ctl->reply.oom) {
		rpc_reply_error(call, PROTO_EINTERNAL, "out of memory");
		return;
	}
	/* No reply may break the frame rule the peer holds us to: a method
	 * bounds what it packs, and this is the guarantee. */
	if (ctl->reply.size > PROTO_MAX_FRAME) {
		log_warnx("client %llu: a reply of %zu bytes is over the frame limit; not sent",
		    (unsigned long long)c->id, ctl->reply.size);
		rpc_reply_error(call, PROTO_EINTERNAL, "the reply would exceed the frame limit");
		return;
	}
	conns_answered(ctl, c);
	peer_send(c->peer, ctl->reply.data, ctl->reply.size);
}

void rpc_reply_error(const struct rpc_call *call, int code, const char *message)
{
	struct control *ctl = call->ctl;
	struct conn *c;

	if ((c = conns_find(ctl, call->conn)) == NULL)
		return;
	if (call->notification) {
		if (call->method != NULL)
			conns_answered(ctl, c);
		if (call->method != NULL && conns_unheard(c))
			log_info("client %llu: notification '%s' failed: %s%s%s (%llu so far)",
			    (unsigned long long)c->id, call->method, proto_errcode_name(code),
			    message != NULL ? ": " : "", message != NULL ? message : "",
			    (unsigned long long)c->unheard);
		return;
	}
	proto_buf_reset(&ctl->reply);
	proto_pack_error(&ctl->reply.pk, call->msgid, code, message);
	conns_answered(ctl, c);
	if (!ctl->reply.oom)
		peer_send(c->peer, ctl->reply.data, ctl->reply.size);
}

size_t rpc_reply_size(const struct rpc_call *call)
{
	return call->ctl->reply.size;
}

int rpc_claim_process(const struct rpc_call *call, int pid, const char **msg)
{
	struct conn *c = conns_find(call->ctl, call->conn);

	if (c == NULL)
		return 0;
	if (c->opencode_pid != 0 && c->opencode_pid != pid) {
		*msg = "this connection registered another OpenCode process: one per connection";
		return PROTO_ELIMIT;
	}
	if (c->registered >= CONTROL_MAX_REGISTER) {
		*msg = "too many register calls on this connection (limit " NUM_STR(
		    CONTROL_MAX_REGISTER) ")";
		return PROTO_ELIMIT;
	}
	c->opencode_pid = pid;
	c->registered++;
	return 0;
}

msgpack_packer *rpc_notify_begin(struct control *ctl, uint64_t conn, const char *method)
{
	if (conns_find(ctl, conn) == NULL)
		return NULL;
	proto_buf_reset(&ctl->notice);
	proto_pack_notify_header(&ctl->notice.pk, method);
	return &ctl->notice.pk;
}

void rpc_notify_end(struct control *ctl, uint64_t conn)
{
	struct conn *c = conns_find(ctl, conn);

	if (c == NULL || ctl->notice.oom || ctl->notice.size > PROTO_MAX_FRAME) {
		log_warnx("client %llu: a notification could not be sent (%s)",
		    (unsigned long long)conn, c == NULL ? "gone" : "out of memory or too big");
		return;
	}
	peer_send(c->peer, ctl->notice.data, ctl->notice.size);
}

bool rpc_x_hold(struct control *ctl, uint64_t conn)
{
	struct conn *c = conns_find(ctl, conn);

	if (c == NULL || c->x_pending >= CONTROL_MAX_X_PENDING)
		return false;
	c->x_pending++;
	return true;
}

/* FNV-1a: a message_id in a word. */
static uint64_t x_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

void rpc_x_answered(const struct rpc_call *call, const struct rpc_x *x)
{
	struct conn *c = conns_find(call->ctl, call->conn);

	if (c == NULL || x->message_id[0] == '\0')
		return;
	c->x_answered[c->x_answered_next++ % CONTROL_X_ANSWERED] = x_hash(x->message_id);
}

bool rpc_x_was_answered(const struct rpc_call *call, const struct rpc_x *x)
{
	struct conn *c = conns_find(call->ctl, call->conn);
	uint64_t h;
	size_t i;

	if (c == NULL || x->message_id[0] == '\0')
		return false;
	h = x_hash(x->message_id);
	for (i = 0; i < CONTROL_X_ANSWERED; i++)
		if (c->x_answered[i] == h)
			return true;
	return false;
}

void rpc_x_release(struct control *ctl, uint64_t conn)
{
	struct conn *c = conns_find(ctl, conn);

	if (c != NULL && c->x_pending > 0)
		c->x_pending--;
}

struct server *rpc_shim_server(const struct rpc_call *call)
{
	struct engine *e = call->ctl->e;
	struct server *s = server_of_shim(e, call->conn);
	struct conn *c;

	if (s != NULL || (c = conns_find(call->ctl, call->conn)) == NULL || c->opencode_pid == 0)
		return s;
	return server_take_relay(e, c->opencode_pid, call->conn, c->peer);
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

bool rpc_activated(const struct rpc_call *call)
{
	return call->ctl->activated;
}

struct peer *rpc_peer(const struct rpc_call *call)
{
	struct conn *c = conns_find(call->ctl, call->conn);

	return c != NULL ? c->peer : NULL;
}

int rpc_subscribe(const struct rpc_call *call, unsigned mask, const char *nvim_method,
    const char *arg, size_t arg_len)
{
	struct conn *c = conns_find(call->ctl, call->conn);
	struct proto_buf head;

	if (c == NULL)
		return -1;
	if (nvim_method == NULL) {
		conns_subscribe(call->ctl, c, mask, NULL, 0);
		return 0;
	}
	/* Packed once here: each event then only follows it. */
	proto_buf_init(&head);
	proto_pack_notify_header(&head.pk, nvim_method);
	msgpack_pack_array(&head.pk, 2);
	msgpack_pack_str(&head.pk, arg_len);
	msgpack_pack_str_body(&head.pk, arg, arg_len);
	msgpack_pack_array(&head.pk, 1);
	if (head.oom) {
		proto_buf_destroy(&head);
		return -1;
	}
	conns_subscribe(call->ctl, c, mask, head.data, head.size);
	return 0;
}
