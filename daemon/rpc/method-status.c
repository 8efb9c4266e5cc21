#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "proto.h"
#include "rpc/rpc.h"
#include "rpc/views.h"

/* Sessions in one status reply, by bytes: the reply must fit a frame
 * (PROTO_MAX_FRAME) with room for the servers and counters. Running
 * sessions come first; what does not fit is counted, not listed. */
#define STATUS_MAX_SESSION_BYTES (PROTO_MAX_FRAME / 4 * 3)

static void pack_counters(msgpack_packer *pk, const struct rpc_call *call)
{
	struct engine *e = rpc_engine(call);
	const struct engine_counters *k = engine_counters(e);
	const struct rpc_counters *r = rpc_counters(call);
	const struct session_table *t = engine_sessions(e);

	msgpack_pack_map(pk, 12);
	proto_pack_kv_int(pk, "aborts", (int64_t)k->aborts);
	proto_pack_kv_int(pk, "verified", (int64_t)k->verified);
	proto_pack_kv_int(pk, "not_stopped", (int64_t)k->not_stopped);
	proto_pack_kv_int(pk, "verdicts_pass", (int64_t)r->verdicts_pass);
	proto_pack_kv_int(pk, "verdicts_clear", (int64_t)r->verdicts_clear);
	proto_pack_kv_int(pk, "verdicts_abort", (int64_t)r->verdicts_abort);
	proto_pack_kv_int(pk, "clients", (int64_t)r->clients);
	proto_pack_kv_int(pk, "connected", (int64_t)rpc_connections(call));
	proto_pack_kv_int(pk, "sessions", (int64_t)session_table_count(t));
	proto_pack_kv_int(pk, "sessions_running", (int64_t)session_table_running(t));
	proto_pack_kv_int(pk, "session_bytes", (int64_t)session_table_bytes(t));
	proto_pack_kv_int(pk, "sessions_evicted", (int64_t)session_table_evicted(t));
}

/* Pack sessions into buf until the byte budget is spent; returns how many. */
static uint32_t pack_sessions(struct session_table *t, struct proto_buf *buf)
{
	struct session *s;
	uint32_t n = 0;

	for (s = session_table_first_running(t); s != NULL && buf->size < STATUS_MAX_SESSION_BYTES;
	     s = session_next_running(s), n++)
		view_pack_session(&buf->pk, s);
	for (s = session_table_first(t); s != NULL && buf->size < STATUS_MAX_SESSION_BYTES;
	     s = session_next(s)) {
		if (session_status_running(session_status(s)))
			continue;
		view_pack_session(&buf->pk, s);
		n++;
	}
	return n;
}

/* Everything the daemon knows, for `ocstop status` and editors' statuslines. */
static int method_status(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct engine *e = rpc_engine(call);
	struct session_table *t = engine_sessions(e);
	const struct server *srv;
	struct proto_buf sessions;
	msgpack_packer *pk;
	uint32_t n;

	(void)opts;
	proto_buf_init(&sessions);
	n = pack_sessions(t, &sessions);
	if (sessions.oom || (pk = rpc_reply_begin(call)) == NULL) {
		proto_buf_destroy(&sessions);
		*msg = "out of memory";
		return sessions.oom ? PROTO_EINTERNAL : 0;
	}
	msgpack_pack_map(pk, 4);
	proto_pack_cstr(pk, "servers");
	msgpack_pack_array(pk, (uint32_t)server_count(e));
	for (srv = server_first(e); srv != NULL; srv = server_next(srv))
		view_pack_server(pk, srv);
	proto_pack_cstr(pk, "sessions");
	msgpack_pack_array(pk, n);
	/* The sessions were packed ahead to count them: append their bytes. */
	if (sessions.size > 0)
		msgpack_pack_str_body(pk, sessions.data, sessions.size);
	proto_pack_kv_bool(pk, "sessions_truncated", n < session_table_count(t));
	proto_pack_cstr(pk, "counters");
	pack_counters(pk, call);
	rpc_reply_end(call);
	proto_buf_destroy(&sessions);
	return 0;
}

const struct method_entry method_status_entry = {
	.name = PROTO_M_STATUS,
	.how = METHOD_REQUEST,
	.exec = method_status,
};
