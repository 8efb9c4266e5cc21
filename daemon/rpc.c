#include <string.h>

#include "client.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"

/* Keep alphabetized. */
static const struct method_entry *const method_table[] = {
	&method_abort_entry,
	&method_message_entry,
	&method_ping_entry,
	&method_register_entry,
	&method_status_entry,
	&method_subscribe_entry,
	NULL,
};

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
	struct client *c = client_find(call->d, call->client);
	msgpack_packer *pk;

	if (c == NULL)
		return NULL;
	pk = client_packer(c);
	proto_pack_result_header(pk, call->msgid);
	return pk;
}

void rpc_reply_end(const struct rpc_call *call)
{
	struct client *c = client_find(call->d, call->client);

	if (c != NULL)
		client_sent(c);
}

void rpc_reply_error(const struct rpc_call *call, int code, const char *message)
{
	struct client *c = client_find(call->d, call->client);

	if (c == NULL)
		return;
	proto_pack_error(client_packer(c), call->msgid, code, message);
	client_sent(c);
}

void rpc_dispatch(struct daemon *d, struct client *c, uint32_t msgid, const char *method,
    size_t method_len, const msgpack_object *params)
{
	struct rpc_call call = { d, client_id(c), msgid };
	const struct method_entry *m = method_find(method, method_len);
	const msgpack_object *opts;
	const char *msg = NULL;
	int code;

	if (m == NULL) {
		log_debug("client %llu: unknown method %.*s", (unsigned long long)call.client,
		    (int)method_len, method);
		rpc_reply_error(&call, PROTO_EMETHOD, "unknown method");
		return;
	}
	opts = proto_params_map(params, &msg);
	if (opts == NULL && msg != NULL) {
		rpc_reply_error(&call, PROTO_EBADREQ, msg);
		return;
	}
	code = m->exec(&call, opts, &msg);
	if (code != 0)
		rpc_reply_error(&call, code, msg != NULL ? msg : proto_errcode_name(code));
}

void rpc_notify(struct daemon *d, struct client *c, const char *method, size_t method_len,
    const msgpack_object *params)
{
	const msgpack_object *opts;
	const char *msg = NULL, *json = NULL, *dir = NULL;
	size_t json_len = 0, dir_len = 0;
	char dirbuf[4096];
	struct server *s;

	if (method_len != strlen(PROTO_N_OPENCODE_EVENT) ||
	    memcmp(method, PROTO_N_OPENCODE_EVENT, method_len) != 0) {
		log_debug("client %llu: ignored notification %.*s", (unsigned long long)client_id(c),
		    (int)method_len, method);
		return;
	}
	for (s = server_list_first(d->servers); s != NULL; s = s->next)
		if (s->transport == SERVER_RELAY && s->shim_client == client_id(c))
			break;
	if (s == NULL)
		return;
	opts = proto_params_map(params, &msg);
	if (opts == NULL || proto_map_str(opts, "event", &json, &json_len) != PROTO_OK) {
		log_debug("client %llu: opencode.event without an event", (unsigned long long)client_id(c));
		return;
	}
	if (proto_map_str(opts, "directory", &dir, &dir_len) == PROTO_OK && dir_len < sizeof(dirbuf)) {
		memcpy(dirbuf, dir, dir_len);
		dirbuf[dir_len] = '\0';
		dir = dirbuf;
	} else {
		dir = NULL;
	}
	transport_relay_event(s, dir, json, json_len);
}
