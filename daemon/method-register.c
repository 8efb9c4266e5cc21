#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "procnet.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"

#define MAX_FIELD 4096

/* Copy an optional string option into buf; "" when absent. -1 on a bad type. */
static int opt_str(const msgpack_object *opts, const char *key, char *buf, size_t size)
{
	const char *s = NULL;
	size_t len = 0;
	int rc = proto_map_str(opts, key, &s, &len);

	buf[0] = '\0';
	if (rc == PROTO_ERR || (rc == PROTO_OK && (len >= size || memchr(s, '\0', len) != NULL)))
		return -1;
	if (rc == PROTO_OK) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return 0;
}

static struct server *find_relay(struct daemon *d, int pid)
{
	struct server *s;

	for (s = server_list_first(d->servers); s != NULL; s = s->next)
		if (s->transport == SERVER_RELAY && s->pid == pid)
			return s;
	return NULL;
}

/* The shim's credentials are the ones its OpenCode really uses. */
static void take_credentials(struct server *s, const char *username, const char *password)
{
	char *copy;

	if (password[0] == '\0')
		return;
	if ((copy = strdup(password)) != NULL) {
		free(s->password);
		s->password = copy;
	}
	if (username[0] != '\0' && (copy = strdup(username)) != NULL) {
		free(s->username);
		s->username = copy;
	}
}

static struct server *attach_http(struct daemon *d, uint64_t client, const char *url, int pid,
    const char *username, const char *password, const char **cause)
{
	struct server *s = server_find_url(d, url);

	if (s == NULL)
		s = server_add_http(d, url, username[0] != '\0' ? username : NULL,
		    password[0] != '\0' ? password : NULL, false, cause);
	else
		take_credentials(s, username, password);
	if (s != NULL) {
		s->shim_client = client;
		s->pid = pid;
	}
	return s;
}

static struct server *attach_relay(struct daemon *d, uint64_t client, int pid, const char **cause)
{
	struct server *s = find_relay(d, pid);

	if (s == NULL)
		return server_add_relay(d, pid, client, cause);
	s->shim_client = client;
	return s;
}

static void pack_reply(const struct rpc_call *call, const struct server *s)
{
	const struct config *c = call->d->config;
	msgpack_packer *pk = rpc_reply_begin(call);
	size_t i;

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, 5);
	proto_pack_cstr(pk, "stop_words");
	msgpack_pack_array(pk, (uint32_t)c->n_stop_words);
	for (i = 0; i < c->n_stop_words; i++)
		proto_pack_cstr(pk, c->stop_words[i]);
	proto_pack_kv_int(pk, "max_len", (int64_t)config_max_stop_len(c));
	proto_pack_kv_bool(pk, "http", s->transport == SERVER_HTTP);
	proto_pack_kv_bool(pk, "relay", s->transport == SERVER_RELAY);
	proto_pack_kv_str(pk, "server", s->url);
	rpc_reply_end(call);
}

/* A plugin shim announces its OpenCode process. Reach it over HTTP when that
 * process really listens at the URL it reports, else through the shim. */
static int method_register(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	char url[MAX_FIELD], directory[MAX_FIELD], username[256], password[1024], version[64];
	const char *cause = NULL;
	struct server *s;
	int64_t pid = 0;
	size_t n;
	int port;

	if (opt_str(opts, "server_url", url, sizeof(url)) < 0 ||
	    opt_str(opts, "directory", directory, sizeof(directory)) < 0 ||
	    opt_str(opts, "username", username, sizeof(username)) < 0 ||
	    opt_str(opts, "password", password, sizeof(password)) < 0 ||
	    opt_str(opts, "opencode_version", version, sizeof(version)) < 0 ||
	    proto_map_int(opts, "pid", &pid) != PROTO_OK || pid <= 0 || pid > 0x3fffffff) {
		*msg = "register needs pid (int) and string server_url, directory";
		return PROTO_EBADREQ;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		url[--n] = '\0';
	port = procnet_url_port(url);
	if (port > 0 && procnet_pid_listens((int)pid, port))
		s = attach_http(call->d, call->client, url, (int)pid, username, password, &cause);
	else
		s = attach_relay(call->d, call->client, (int)pid, &cause);
	explicit_bzero(password, sizeof(password));
	if (s == NULL) {
		*msg = cause;
		return PROTO_EINTERNAL;
	}
	if (s->version == NULL && version[0] != '\0')
		s->version = strdup(version);
	log_info("plugin of OpenCode pid %d registered %s via %s", (int)pid,
	    directory[0] != '\0' ? directory : "(no directory)",
	    s->transport == SERVER_HTTP ? s->url : "relay");
	pack_reply(call, s);
	if (directory[0] != '\0')
		s->ops->resync(s, directory);
	return 0;
}

const struct method_entry method_register_entry = {
	.name = PROTO_M_REGISTER,
	.exec = method_register,
};
