#include "bus.h"
#include "client.h"
#include "daemon.h"
#include "proto.h"
#include "server.h"
#include "session.h"
#include "stop.h"

/* Packs the body map of one event. */
typedef void (*bus_pack_cb)(msgpack_packer *pk, const void *arg);

static void publish(struct daemon *d, const char *type, bus_pack_cb pack, const void *arg)
{
	struct client *c, *next;
	msgpack_packer *pk;

	for (c = client_first(d); c != NULL; c = next) {
		next = client_next(c);
		if (!client_wants(c, type))
			continue;
		pk = client_packer(c);
		proto_pack_notify_header(pk, PROTO_N_EVENT);
		msgpack_pack_array(pk, 1);
		pack(pk, arg);
		client_sent(c);
	}
}

struct session_note {
	const char *type;
	const struct session *s;
};

static void pack_session(msgpack_packer *pk, const void *arg)
{
	const struct session_note *n = arg;

	msgpack_pack_map(pk, 6);
	proto_pack_kv_str(pk, "type", n->type);
	proto_pack_kv_str(pk, "session", n->s->id);
	proto_pack_kv_str(pk, "server", n->s->server->url);
	proto_pack_kv_str(pk, "status", session_status_name(n->s->status));
	proto_pack_kv_str(pk, "directory", n->s->directory);
	proto_pack_kv_str(pk, "parent", n->s->parent);
}

void bus_session(struct daemon *d, const char *type, const struct session *s)
{
	struct session_note n = { type, s };

	publish(d, type, pack_session, &n);
}

struct deleted_note {
	const struct server *srv;
	const char *id;
};

static void pack_deleted(msgpack_packer *pk, const void *arg)
{
	const struct deleted_note *n = arg;

	msgpack_pack_map(pk, 3);
	proto_pack_kv_str(pk, "type", "session.deleted");
	proto_pack_kv_str(pk, "session", n->id);
	proto_pack_kv_str(pk, "server", n->srv->url);
}

void bus_session_deleted(struct daemon *d, const struct server *srv, const char *id)
{
	struct deleted_note n = { srv, id };

	publish(d, "session.deleted", pack_deleted, &n);
}

static void pack_server(msgpack_packer *pk, const void *arg)
{
	const struct server *s = arg;

	msgpack_pack_map(pk, 5);
	proto_pack_kv_str(pk, "type", s->connected ? "server.connected" : "server.disconnected");
	proto_pack_kv_str(pk, "server", s->url);
	proto_pack_kv_str(pk, "transport", s->transport == SERVER_HTTP ? "http" : "relay");
	proto_pack_kv_str(pk, "version", s->version);
	proto_pack_kv_str(pk, "last_error", s->last_error);
}

void bus_server(struct daemon *d, const struct server *srv)
{
	publish(d, srv->connected ? "server.connected" : "server.disconnected", pack_server, srv);
}

static void pack_stop(msgpack_packer *pk, const void *arg)
{
	const struct stop_result *r = arg;
	size_t i;

	msgpack_pack_map(pk, r->reason != NULL ? 8 : 7);
	proto_pack_kv_str(pk, "type", "stop");
	proto_pack_kv_str(pk, "session", r->session);
	proto_pack_kv_str(pk, "server", r->server);
	proto_pack_kv_bool(pk, "stopped", r->stopped);
	proto_pack_kv_int(pk, "ms", r->ms);
	proto_pack_kv_str(pk, "origin", r->origin);
	proto_pack_cstr(pk, "children");
	msgpack_pack_array(pk, (uint32_t)r->n_children);
	for (i = 0; i < r->n_children; i++)
		proto_pack_cstr(pk, r->children[i]);
	if (r->reason != NULL)
		proto_pack_kv_str(pk, "reason", r->reason);
}

void bus_stop(struct daemon *d, const struct stop_result *res)
{
	publish(d, "stop", pack_stop, res);
}

struct verdict_note {
	const char *session;
	const char *verdict;
};

static void pack_verdict(msgpack_packer *pk, const void *arg)
{
	const struct verdict_note *n = arg;

	msgpack_pack_map(pk, 3);
	proto_pack_kv_str(pk, "type", "verdict");
	proto_pack_kv_str(pk, "session", n->session);
	proto_pack_kv_str(pk, "verdict", n->verdict);
}

void bus_verdict(struct daemon *d, const char *session, const char *verdict)
{
	struct verdict_note n = { session, verdict };

	publish(d, "verdict", pack_verdict, &n);
}
