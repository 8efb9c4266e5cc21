#include "rpc/views.h"
#include "core/config.h"
#include "core/session.h"
#include "engine/notify.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "wire.h"

void view_pack_session(msgpack_packer *pk, const struct session *s)
{
	struct wire_session v = {
		.id = session_id(s),
		.server = server_url(session_server(s)),
		.directory = session_directory(s),
		.parent = session_parent(s),
		.status = session_status_name(session_status(s)),
		.title = session_title(s),
	};

	wire_pack_session(pk, &v);
}

void view_pack_session_id(msgpack_packer *pk, const char *id)
{
	struct wire_session v = { .id = id };

	wire_pack_session(pk, &v);
}

void view_pack_server(msgpack_packer *pk, const struct server *s)
{
	struct wire_server v = {
		.url = server_url(s),
		.transport = server_transport_name(server_transport(s)),
		.connected = server_connected(s),
		.version = server_version(s),
		.last_error = server_last_error(s),
		.pid = server_pid(s),
		.implicit = server_implicit(s),
		.shim = server_shim(s) != 0,
	};

	wire_pack_server(pk, &v);
}

void view_stop(const struct stop_result *r, struct wire_stop *v)
{
	*v = (struct wire_stop){
		.session = r->session,
		.server = server_url(r->server),
		.stopped = r->stopped,
		.children = r->children,
		.n_children = r->n_children,
		.ms = r->ms,
		.reason = r->reason,
		.origin = r->origin,
		.running = r->running,
		.n_running = r->n_running,
		.fenced = r->fenced,
		.background = r->background,
		.n_background = r->n_background,
		.refused_tools = r->refused_tools,
		.refused_requests = r->refused_requests,
		.held = r->held,
		.processes = r->processes,
		.n_processes = r->n_processes,
		.force = r->force,
	};
}

void view_pack_stop(msgpack_packer *pk, const struct stop_result *r)
{
	struct wire_stop v;

	view_stop(r, &v);
	wire_pack_stop(pk, &v);
}

void view_pack_event(msgpack_packer *pk, const struct notify_event *ev)
{
	msgpack_pack_map(pk, ev->type != NOTIFY_VERDICT ? 2 : ev->typed_at > 0 ? 4 : 3);
	proto_pack_kv_str(pk, "type", notify_type_name(ev->type));
	switch (ev->type) {
	case NOTIFY_SESSION_CREATED:
	case NOTIFY_SESSION_STATUS:
	case NOTIFY_SESSION_DELETED:
		proto_pack_cstr(pk, "session");
		view_pack_session(pk, ev->session);
		break;
	case NOTIFY_SERVER_CONNECTED:
	case NOTIFY_SERVER_DISCONNECTED:
		proto_pack_cstr(pk, "server");
		view_pack_server(pk, ev->server);
		break;
	case NOTIFY_STOP:
		proto_pack_cstr(pk, "stop");
		view_pack_stop(pk, ev->stop);
		break;
	case NOTIFY_VERDICT:
		proto_pack_kv_str(pk, "verdict", ev->verdict);
		proto_pack_cstr(pk, "session");
		if (ev->session != NULL)
			view_pack_session(pk, ev->session);
		else
			view_pack_session_id(pk, ev->session_id);
		if (ev->typed_at > 0)
			proto_pack_kv_int(pk, "typed_at", ev->typed_at);
		break;
	case NOTIFY_TYPES:
		msgpack_pack_nil(pk);
		msgpack_pack_nil(pk);
		break;
	}
}

void view_pack_settings(msgpack_packer *pk, const struct config *c)
{
	size_t i;

	proto_pack_cstr(pk, "stop_words");
	msgpack_pack_array(pk, (uint32_t)c->n_stop_words);
	for (i = 0; i < c->n_stop_words; i++)
		proto_pack_cstr(pk, c->stop_words[i]);
	proto_pack_kv_int(pk, "max_len", (int64_t)config_max_stop_len(c));
	/* How long the shim waits for an x's outcome (x.result). */
	proto_pack_kv_int(pk, "proof_ms", stop_longest_ms(c->stop_timeout_ms, c->x_force));
}
