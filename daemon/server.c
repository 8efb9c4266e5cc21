#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "stop.h"

struct server_list {
	struct server *head;
};

struct server_list *server_list_new(void)
{
	return calloc(1, sizeof(struct server_list));
}

struct server *server_list_first(struct server_list *l)
{
	return l->head;
}

struct server *server_find_url(struct daemon *d, const char *url)
{
	struct server *s;

	for (s = d->servers->head; s != NULL; s = s->next)
		if (strcmp(s->url, url) == 0)
			return s;
	return NULL;
}

static void server_free(struct server *s)
{
	if (s->ops != NULL && s->ops->free != NULL)
		s->ops->free(s);
	free(s->url);
	free(s->version);
	free(s->last_error);
	free(s->username);
	if (s->password != NULL) {
		explicit_bzero(s->password, strlen(s->password));
		free(s->password);
	}
	free(s);
}

static struct server *server_new(struct daemon *d, const char *url)
{
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->d = d;
	if ((s->url = strdup(url)) == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

static void server_link(struct daemon *d, struct server *s)
{
	s->next = d->servers->head;
	d->servers->head = s;
}

struct server *server_add_http(struct daemon *d, const char *url, const char *username,
    const char *password, bool configured, const char **cause)
{
	struct server *s = server_new(d, url);

	*cause = "out of memory";
	if (s == NULL)
		return NULL;
	s->transport = SERVER_HTTP;
	s->configured = configured;
	s->username = strdup(username != NULL ? username : "opencode");
	s->password = password != NULL ? strdup(password) : NULL;
	if (s->username == NULL || (password != NULL && s->password == NULL) ||
	    transport_http_init(s) < 0) {
		server_free(s);
		return NULL;
	}
	server_link(d, s);
	log_info("watching OpenCode at %s", url);
	return s;
}

struct server *server_add_relay(struct daemon *d, int pid, uint64_t client_id, const char **cause)
{
	char url[64];
	struct server *s;

	snprintf(url, sizeof(url), "pid:%d", pid);
	*cause = "out of memory";
	if ((s = server_new(d, url)) == NULL)
		return NULL;
	s->transport = SERVER_RELAY;
	s->pid = pid;
	s->shim_client = client_id;
	if (transport_relay_init(s) < 0) {
		server_free(s);
		return NULL;
	}
	server_link(d, s);
	log_info("relaying OpenCode pid %d through its plugin", pid);
	server_set_connected(s, true, NULL);
	return s;
}

void server_remove(struct daemon *d, struct server *s, const char *reason)
{
	struct server **pp;

	for (pp = &d->servers->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	log_info("dropping OpenCode %s: %s", s->url, reason);
	stop_server_gone(d, s, reason);
	session_table_drop_server(d->sessions, s);
	if (s->connected) {
		s->connected = false;
		bus_server(d, s);
	}
	server_free(s);
}

void server_list_free(struct server_list *l)
{
	struct server *s, *next;

	if (l == NULL)
		return;
	for (s = l->head; s != NULL; s = next) {
		next = s->next;
		server_free(s);
	}
	free(l);
}

void server_set_connected(struct server *s, bool connected, const char *version)
{
	bool changed = s->connected != connected;

	s->connected = connected;
	if (version != NULL && (s->version == NULL || strcmp(s->version, version) != 0)) {
		free(s->version);
		s->version = strdup(version);
	}
	if (connected) {
		free(s->last_error);
		s->last_error = NULL;
	}
	if (changed) {
		if (connected)
			log_info("connected to OpenCode%s%s at %s", s->version != NULL ? " " : "",
			    s->version != NULL ? s->version : "", s->url);
		bus_server(s->d, s);
	}
}

void server_set_error(struct server *s, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	bool repeated;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	/* A server that stays down would log every retry; say it once. */
	repeated = s->last_error != NULL && strcmp(s->last_error, msg) == 0;
	if (!repeated)
		log_warnx("OpenCode %s: %s", s->url, msg);
	free(s->last_error);
	s->last_error = msg;
	if (s->connected) {
		s->connected = false;
		bus_server(s->d, s);
	}
}

void server_shim_gone(struct daemon *d, uint64_t client_id)
{
	struct server *s, *next;

	for (s = d->servers->head; s != NULL; s = next) {
		next = s->next;
		if (s->shim_client != client_id)
			continue;
		s->shim_client = 0;
		if (s->transport == SERVER_RELAY)
			server_remove(d, s, "its plugin disconnected");
		else if (!s->configured && !s->connected)
			server_remove(d, s, "its plugin disconnected and HTTP fails");
	}
}
