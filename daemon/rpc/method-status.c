#include <stdint.h>

#include "core/config.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "proto.h"
#include "rpc/rpc.h"
#include "rpc/views.h"

/* The counters and the map's keys after the sessions take less than this;
 * the sessions get what is left of a frame after the servers. Running
 * sessions come first; what does not fit is counted, not listed. */
#define STATUS_TAIL_BYTES 4096

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

/* Pack one session unless it would take buf past budget bytes. */
static bool pack_within(struct proto_buf *buf, const struct session *s, size_t budget)
{
	size_t before = buf->size;

	view_pack_session(&buf->pk, s);
	if (buf->size <= budget)
		return true;
	buf->size = before;
	return false;
}

/* Pack up to limit sessions, running ones first, into buf within budget
 * bytes; returns how many. */
static uint32_t pack_sessions(struct session_table *t, struct proto_buf *buf, size_t limit,
    size_t budget)
{
	struct session *s;
	uint32_t n = 0;

	for (s = session_table_first_running(t); s != NULL && n < limit;
	     s = session_next_running(s)) {
		if (!pack_within(buf, s, budget))
			return n;
		n++;
	}
	for (s = session_table_first(t); s != NULL && n < limit; s = session_next(s)) {
		if (session_status_running(session_status(s)))
			continue;
		if (!pack_within(buf, s, budget))
			return n;
		n++;
	}
	return n;
}

/* Everything the daemon knows, for `ocstop status` and editors' statuslines:
 * always within one frame, however many sessions there are. */
static int method_status(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct engine *e = rpc_engine(call);
	struct session_table *t = engine_sessions(e);
	const struct config *cfg = engine_config(e);
	const struct server *srv;
	struct proto_buf sessions;
	int64_t limit = INT64_MAX;
	msgpack_packer *pk;
	size_t budget, i;
	uint32_t n;

	if (proto_map_int(opts, "limit", &limit) == PROTO_ERR || limit < 0) {
		*msg = "limit must be an integer >= 0";
		return PROTO_EBADREQ;
	}
	if ((pk = rpc_reply_begin(call)) == NULL)
		return 0;
	msgpack_pack_map(pk, 6);
	proto_pack_cstr(pk, "servers");
	msgpack_pack_array(pk, (uint32_t)server_count(e));
	for (srv = server_first(e); srv != NULL; srv = server_next(srv))
		view_pack_server(pk, srv);
	/* As register tells the shims: the form they are compared in. */
	proto_pack_cstr(pk, "stop_words");
	msgpack_pack_array(pk, (uint32_t)cfg->n_stop_words);
	for (i = 0; i < cfg->n_stop_words; i++)
		proto_pack_cstr(pk, cfg->stop_words[i]);
	/* Server strings and stop words are bounded (SERVER_MAX,
	 * CONFIG_MAX_STOP_WORDS): what is left of a frame is the sessions'. */
	budget = rpc_reply_size(call) + STATUS_TAIL_BYTES < PROTO_MAX_FRAME
	    ? PROTO_MAX_FRAME - rpc_reply_size(call) - STATUS_TAIL_BYTES
	    : 0;
	proto_buf_init(&sessions);
	n = pack_sessions(t, &sessions, (size_t)limit, budget);
	proto_pack_cstr(pk, "sessions");
	msgpack_pack_array(pk, n);
	/* The sessions were packed ahead to count them: append their bytes. */
	if (sessions.size > 0)
		msgpack_pack_str_body(pk, sessions.data, sessions.size);
	proto_pack_kv_bool(pk, "sessions_truncated", n < session_table_count(t));
	proto_pack_kv_int(pk, "sessions_left_out", (int64_t)(session_table_count(t) - n));
	proto_pack_cstr(pk, "counters");
	pack_counters(pk, call);
	if (sessions.oom) {
		proto_buf_destroy(&sessions);
		*msg = "out of memory";
		return PROTO_EINTERNAL;
	}
	rpc_reply_end(call);
	proto_buf_destroy(&sessions);
	return 0;
}

const struct method_entry method_status_entry = {
	.name = PROTO_M_STATUS,
	.how = METHOD_REQUEST,
	.exec = method_status,
};
