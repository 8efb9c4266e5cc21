#include "client.h"
#include "daemon.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"
#include "session.h"

static void pack_server(msgpack_packer *pk, const struct server *s)
{
	msgpack_pack_map(pk, 6);
	proto_pack_kv_str(pk, "url", s->url);
	proto_pack_kv_bool(pk, "connected", s->connected);
	proto_pack_kv_str(pk, "version", s->version);
	proto_pack_kv_str(pk, "last_error", s->last_error);
	proto_pack_kv_str(pk, "transport", s->transport == SERVER_HTTP ? "http" : "relay");
	proto_pack_kv_int(pk, "pid", s->pid);
}

static void pack_session(msgpack_packer *pk, const struct session *s)
{
	msgpack_pack_map(pk, 6);
	proto_pack_kv_str(pk, "id", s->id);
	proto_pack_kv_str(pk, "server", s->server->url);
	proto_pack_kv_str(pk, "directory", s->directory);
	proto_pack_kv_str(pk, "parent", s->parent);
	proto_pack_kv_str(pk, "status", session_status_name(s->status));
	proto_pack_kv_str(pk, "title", s->title);
}

static void pack_counters(msgpack_packer *pk, struct daemon *d)
{
	const struct counters *k = &d->counters;

	msgpack_pack_map(pk, 8);
	proto_pack_kv_int(pk, "aborts", (int64_t)k->aborts);
	proto_pack_kv_int(pk, "verified", (int64_t)k->verified);
	proto_pack_kv_int(pk, "not_stopped", (int64_t)k->not_stopped);
	proto_pack_kv_int(pk, "verdicts_pass", (int64_t)k->verdicts_pass);
	proto_pack_kv_int(pk, "verdicts_clear", (int64_t)k->verdicts_clear);
	proto_pack_kv_int(pk, "verdicts_abort", (int64_t)k->verdicts_abort);
	proto_pack_kv_int(pk, "clients", (int64_t)k->clients);
	proto_pack_kv_int(pk, "connected", (int64_t)client_count(d));
}

/* Everything the daemon knows, for `ocstop status` and editors' statuslines. */
static int method_status(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct daemon *d = call->d;
	msgpack_packer *pk = rpc_reply_begin(call);
	const struct server *srv;
	const struct session *s;
	uint32_t n = 0;

	(void)opts;
	(void)msg;
	if (pk == NULL)
		return 0;
	msgpack_pack_map(pk, 3);
	proto_pack_cstr(pk, "servers");
	for (srv = server_list_first(d->servers); srv != NULL; srv = srv->next)
		n++;
	msgpack_pack_array(pk, n);
	for (srv = server_list_first(d->servers); srv != NULL; srv = srv->next)
		pack_server(pk, srv);
	proto_pack_cstr(pk, "sessions");
	msgpack_pack_array(pk, (uint32_t)session_table_count(d->sessions));
	for (s = session_table_first(d->sessions); s != NULL; s = s->next)
		pack_session(pk, s);
	proto_pack_cstr(pk, "counters");
	pack_counters(pk, d);
	rpc_reply_end(call);
	return 0;
}

const struct method_entry method_status_entry = { .name = PROTO_M_STATUS, .exec = method_status };
