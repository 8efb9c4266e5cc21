#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "io/procnet.h"
#include "proto.h"
#include "rpc/rpc.h"
#include "rpc/views.h"

#define MAX_FIELD 4096
/* Longest server_url taken (PROTOCOL.md, Limits): every server is listed in
 * each status reply, which must fit a frame. */
#define REGISTER_MAX_URL 1024

/* Copy an optional string option into buf; "" when absent. -1 on a bad type,
 * a string too long, with a NUL, or not UTF-8. */
static int opt_str(const msgpack_object *opts, const char *key, char *buf, size_t size)
{
	const char *s = NULL;
	size_t len = 0;
	int rc = proto_map_str(opts, key, &s, &len);

	buf[0] = '\0';
	if (rc == PROTO_ERR ||
	    (rc == PROTO_OK &&
		(len >= size || (len > 0 && memchr(s, '\0', len) != NULL) ||
		    !proto_utf8_valid(s, len))))
		return -1;
	if (rc == PROTO_OK && len > 0) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return 0;
}

static void pack_reply(const struct rpc_call *call, const struct server *s)
{
	const struct config *c = engine_config(rpc_engine(call));
	msgpack_packer *pk = rpc_reply_begin(call);

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, VIEW_SETTINGS_FIELDS + 3);
	view_pack_settings(pk, c);
	proto_pack_kv_bool(pk, "http", server_transport(s) == SERVER_HTTP);
	proto_pack_kv_bool(pk, "relay", server_transport(s) == SERVER_RELAY);
	proto_pack_kv_str(pk, "server", server_url(s));
	rpc_reply_end(call);
}

/* A plugin shim announces its OpenCode process. Reach it over HTTP when that
 * process really listens at the URL it reports, else through the shim. */
static int method_register(const struct rpc_call *call, const msgpack_object *opts,
    const char **msg)
{
	char url[REGISTER_MAX_URL + 1], directory[MAX_FIELD], username[256];
	char password[PROTO_MAX_PASSWORD + 1], version[64];
	struct server_spec spec = { .transport = SERVER_RELAY };
	struct engine *e = rpc_engine(call);
	struct server *s;
	int64_t pid = 0;
	bool fences = false;
	size_t n;
	int port, rc;

	if (opt_str(opts, "server_url", url, sizeof(url)) < 0 ||
	    opt_str(opts, "directory", directory, sizeof(directory)) < 0 ||
	    opt_str(opts, "username", username, sizeof(username)) < 0 ||
	    opt_str(opts, "password", password, sizeof(password)) < 0 ||
	    opt_str(opts, "opencode_version", version, sizeof(version)) < 0 ||
	    proto_map_int(opts, "pid", &pid) != PROTO_OK || pid <= 0 || pid > 0x3fffffff ||
	    proto_map_bool(opts, "fences", &fences) == PROTO_ERR) {
		*msg = "register needs pid (int) and string server_url (up to " NUM_STR(
		    REGISTER_MAX_URL) " bytes), directory; strings are UTF-8; fences is a bool";
		return PROTO_EBADREQ;
	}
	if (config_url_has_credentials(url)) {
		explicit_bzero(password, sizeof(password));
		*msg = "server_url must not carry credentials: they go in username and password";
		return PROTO_EBADREQ;
	}
	if ((rc = rpc_claim_process(call, (int)pid, msg)) != 0) {
		explicit_bzero(password, sizeof(password));
		return rc;
	}
	for (n = strlen(url); n > 0 && url[n - 1] == '/'; n--)
		url[n - 1] = '\0';
	spec.pid = (int)pid;
	spec.shim = call->conn;
	spec.fences = fences;
	spec.username = username;
	spec.password = password;
	spec.version = version;
	spec.channel = rpc_peer(call);
	port = procnet_url_port(url);
	if (port > 0 && procnet_pid_listens((int)pid, port)) {
		spec.transport = SERVER_HTTP;
		spec.url = url;
		spec.channel = NULL;
	}
	s = server_attach(e, &spec, msg);
	explicit_bzero(password, sizeof(password));
	if (s == NULL)
		return server_count(e) >= SERVER_MAX ? PROTO_ELIMIT : PROTO_EINTERNAL;
	log_info("plugin of OpenCode pid %d registered %s via %s", (int)pid,
	    directory[0] != '\0' ? directory : "(no directory)",
	    server_transport(s) == SERVER_HTTP ? server_url(s) : "relay");
	pack_reply(call, s);
	if (directory[0] != '\0')
		server_resync(s, directory);
	return 0;
}

const struct method_entry method_register_entry = {
	.name = PROTO_M_REGISTER,
	.how = METHOD_REQUEST,
	.exec = method_register,
};
