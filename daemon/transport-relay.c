/*
 * The relay transport: for OpenCode processes with no HTTP port (the TUI,
 * `opencode run`), the plugin shim forwards events up and runs aborts and
 * listings in-process when the daemon asks, over its own connection.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "observe.h"
#include "proto.h"
#include "server.h"
#include "stop.h"

#define RELAY_TIMEOUT_MS 3000
#define RELAY_MAX_LISTINGS 4 /* listing requests in flight per shim */

struct relay {
	size_t listings;
};

struct abort_req {
	uint64_t token;
	char session[128];
	const char *directory;
};

struct listing_req {
	struct server *srv;
	char *directory;
};

static void pack_abort(msgpack_packer *pk, const void *arg)
{
	const struct abort_req *a = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, a->directory != NULL ? 2 : 1);
	proto_pack_kv_str(pk, "session", a->session);
	if (a->directory != NULL)
		proto_pack_kv_str(pk, "directory", a->directory);
}

static void abort_reply(struct daemon *d, const msgpack_object *error, const msgpack_object *result,
    const char *reason, void *arg)
{
	struct abort_req *a = arg;
	const char *msg = NULL;
	size_t len = 0;
	bool ok = false;
	char err[256];

	if (result != NULL && error == NULL && proto_map_bool(result, "ok", &ok) == PROTO_OK && ok) {
		stop_on_abort_reply(d, a->token, a->session, true, NULL);
	} else {
		if (reason == NULL && result != NULL && proto_map_str(result, "error", &msg, &len) == PROTO_OK)
			snprintf(err, sizeof(err), "in-process abort failed: %.*s", (int)len, msg);
		else
			snprintf(err, sizeof(err), "%s", reason != NULL ? reason : "the shim refused the abort");
		stop_on_abort_reply(d, a->token, a->session, false, err);
	}
	free(a);
}

static int relay_abort(struct server *s, const char *session_id, const char *directory, uint64_t token)
{
	struct client *c = client_find(s->d, s->shim_client);
	struct abort_req *a;

	if (c == NULL || strlen(session_id) >= sizeof(a->session) || (a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->token = token;
	strcpy(a->session, session_id);
	a->directory = directory;
	if (client_request(c, PROTO_M_OPENCODE_ABORT, pack_abort, a, RELAY_TIMEOUT_MS, abort_reply, a) < 0) {
		free(a);
		return -1;
	}
	a->directory = NULL; /* borrowed only while packing */
	return 0;
}

static void pack_listing(msgpack_packer *pk, const void *arg)
{
	const struct listing_req *r = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	proto_pack_kv_str(pk, "directory", r->directory);
}

/* Parse a JSON string field of a relay reply; NULL when absent or bad. */
static json_t *json_field(const msgpack_object *result, const char *key)
{
	const char *s = NULL;
	size_t len = 0;

	if (proto_map_str(result, key, &s, &len) != PROTO_OK)
		return NULL;
	return json_loadb(s, len, 0, NULL);
}

static void listing_reply(struct daemon *d, const msgpack_object *error, const msgpack_object *result,
    const char *reason, void *arg)
{
	struct listing_req *r = arg;
	struct relay *relay = r->srv->priv;
	json_t *sessions, *statuses;

	relay->listings--;
	if (result != NULL && error == NULL) {
		if ((sessions = json_field(result, "sessions")) != NULL) {
			observe_sessions(d, r->srv, sessions);
			json_decref(sessions);
		}
		if ((statuses = json_field(result, "statuses")) != NULL) {
			observe_statuses(d, r->srv, r->directory, statuses);
			json_decref(statuses);
		}
	} else {
		log_debug("%s: listing failed: %s", r->srv->url, reason != NULL ? reason : "error reply");
	}
	free(r->directory);
	free(r);
}

static void relay_resync(struct server *s, const char *directory)
{
	struct client *c = client_find(s->d, s->shim_client);
	struct relay *relay = s->priv;
	struct listing_req *r;

	if (c == NULL || directory == NULL || relay->listings >= RELAY_MAX_LISTINGS)
		return;
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->directory = strdup(directory)) == NULL) {
		free(r);
		return;
	}
	r->srv = s;
	if (client_request(c, PROTO_M_OPENCODE_SESSIONS, pack_listing, r, RELAY_TIMEOUT_MS,
	    listing_reply, r) < 0) {
		free(r->directory);
		free(r);
		return;
	}
	relay->listings++;
}

static void relay_lookup(struct server *s, const char *session_id, const char *directory)
{
	(void)session_id;
	relay_resync(s, directory);
}

static void relay_free(struct server *s)
{
	free(s->priv);
	s->priv = NULL;
}

static const struct transport_ops relay_ops = {
	.abort = relay_abort,
	.resync = relay_resync,
	.lookup = relay_lookup,
	.free = relay_free,
};

int transport_relay_init(struct server *s)
{
	if ((s->priv = calloc(1, sizeof(struct relay))) == NULL)
		return -1;
	s->ops = &relay_ops;
	return 0;
}

void transport_relay_event(struct server *s, const char *directory, const char *json, size_t len)
{
	json_t *payload = json_loadb(json, len, 0, NULL);

	if (payload == NULL) {
		log_debug("%s: unparsable relayed event skipped", s->url);
		return;
	}
	observe_event(s->d, s, directory, payload);
	json_decref(payload);
}
