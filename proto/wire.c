/* One packer per wire object. */
#include "wire.h"
#include "proto.h"

void wire_pack_session(msgpack_packer *pk, const struct wire_session *s)
{
	msgpack_pack_map(pk, 6);
	proto_pack_kv_str(pk, "id", s->id);
	proto_pack_kv_str(pk, "server", s->server);
	proto_pack_kv_str(pk, "directory", s->directory);
	proto_pack_kv_str(pk, "parent", s->parent);
	proto_pack_kv_str(pk, "status", s->status);
	proto_pack_kv_str(pk, "title", s->title);
}

void wire_pack_server(msgpack_packer *pk, const struct wire_server *s)
{
	msgpack_pack_map(pk, 8);
	proto_pack_kv_str(pk, "url", s->url);
	proto_pack_kv_bool(pk, "connected", s->connected);
	proto_pack_kv_str(pk, "version", s->version);
	proto_pack_kv_str(pk, "last_error", s->last_error);
	proto_pack_kv_str(pk, "transport", s->transport);
	proto_pack_kv_int(pk, "pid", s->pid);
	proto_pack_kv_bool(pk, "implicit", s->implicit);
	proto_pack_kv_bool(pk, "shim", s->shim);
}

void wire_pack_stop(msgpack_packer *pk, const struct wire_stop *s)
{
	size_t i;

	msgpack_pack_map(pk, 14);
	proto_pack_kv_str(pk, "session", s->session);
	proto_pack_kv_bool(pk, "stopped", s->stopped);
	proto_pack_cstr(pk, "children");
	msgpack_pack_array(pk, (uint32_t)s->n_children);
	for (i = 0; i < s->n_children; i++)
		proto_pack_cstr(pk, s->children[i]);
	proto_pack_cstr(pk, "running");
	msgpack_pack_array(pk, (uint32_t)s->n_running);
	for (i = 0; i < s->n_running; i++)
		proto_pack_cstr(pk, s->running[i]);
	proto_pack_kv_int(pk, "ms", s->ms);
	proto_pack_kv_str(pk, "reason", s->reason);
	proto_pack_kv_str(pk, "server", s->server);
	proto_pack_kv_str(pk, "origin", s->origin);
	proto_pack_kv_bool(pk, "fenced", s->fenced);
	proto_pack_cstr(pk, "background");
	msgpack_pack_array(pk, (uint32_t)s->n_background);
	for (i = 0; i < s->n_background; i++)
		proto_pack_cstr(pk, s->background[i]);
	proto_pack_cstr(pk, "refused");
	msgpack_pack_map(pk, 2);
	proto_pack_kv_int(pk, "tools", s->refused_tools);
	proto_pack_kv_int(pk, "requests", s->refused_requests);
	proto_pack_kv_int(pk, "held", s->held);
	proto_pack_cstr(pk, "processes");
	msgpack_pack_array(pk, (uint32_t)s->n_processes);
	for (i = 0; i < s->n_processes; i++) {
		msgpack_pack_map(pk, 4);
		proto_pack_kv_int(pk, "pid", s->processes[i].pid);
		proto_pack_kv_str(pk, "command", s->processes[i].command);
		proto_pack_kv_str(pk, "signal", s->processes[i].signal);
		proto_pack_kv_int(pk, "ms", s->processes[i].ms);
	}
	proto_pack_kv_bool(pk, "force", s->force);
}

void wire_pack_fence(msgpack_packer *pk, const char *const *ids, size_t n)
{
	size_t i;

	msgpack_pack_map(pk, 2);
	proto_pack_kv_str(pk, "root", ids[0]);
	proto_pack_cstr(pk, "sessions");
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++)
		proto_pack_cstr(pk, ids[i]);
}

void wire_pack_x_result(msgpack_packer *pk, const struct wire_x_result *x)
{
	msgpack_pack_map(pk, 6);
	proto_pack_kv_str(pk, "session", x->session);
	proto_pack_kv_str(pk, "message_id", x->message_id);
	proto_pack_kv_str(pk, "outcome", x->outcome);
	proto_pack_kv_int(pk, "ms", x->ms);
	proto_pack_cstr(pk, "stop");
	if (x->stop != NULL)
		wire_pack_stop(pk, x->stop);
	else
		msgpack_pack_nil(pk);
	proto_pack_kv_str(pk, "reason", x->reason);
}
