#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/session.h"
#include "core/util.h"
#include "engine/engine-int.h"
#include "engine/notify.h"
#include "proto.h"

void engine_set_backend(struct engine *e, enum server_transport t, const struct backend_ops *ops,
    void *ctx)
{
	e->backends[t].ops = ops;
	e->backends[t].ctx = ctx;
}

const char *server_transport_name(enum server_transport t)
{
	return t == SERVER_RELAY ? "relay" : "http";
}

static void secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static void server_free(struct server *s)
{
	if (s->priv != NULL)
		s->ops->close(s->priv);
	free(s->url);
	free(s->version);
	free(s->last_error);
	free(s->username);
	secret_free(s->password);
	free(s);
}

static void publish(struct server *s)
{
	struct notify_event ev = {
		.type = s->connected ? NOTIFY_SERVER_CONNECTED : NOTIFY_SERVER_DISCONNECTED,
		.server = s,
	};

	notify_fire(s->e->notify, &ev);
}

struct server *server_find_url(struct engine *e, const char *url)
{
	struct server *s;

	TAILQ_FOREACH(s, &e->servers, link)
		if (!s->dead && s->transport == SERVER_HTTP && strcmp(s->url, url) == 0)
			return s;
	return NULL;
}

static struct server *find_relay(struct engine *e, int pid)
{
	struct server *s;

	TAILQ_FOREACH(s, &e->servers, link)
		if (!s->dead && s->transport == SERVER_RELAY && s->pid == pid)
			return s;
	return NULL;
}

struct server *server_of_shim(struct engine *e, uint64_t shim)
{
	struct server *s;

	if (shim == 0)
		return NULL;
	TAILQ_FOREACH(s, &e->servers, link)
		if (!s->dead && s->shim == shim)
			return s;
	return NULL;
}

struct server *server_take_relay(struct engine *e, int pid, uint64_t shim, void *channel)
{
	struct server *s = find_relay(e, pid);

	if (s == NULL || s->shim == shim)
		return s;
	engine_enter(e);
	s->shim = shim;
	if (channel != NULL && s->ops->rebind != NULL)
		s->ops->rebind(s->priv, channel);
	engine_leave(e);
	return s;
}

struct server *server_first(struct engine *e)
{
	struct server *s = TAILQ_FIRST(&e->servers);

	return s != NULL && s->dead ? server_next(s) : s;
}

struct server *server_next(const struct server *s)
{
	do
		s = TAILQ_NEXT(s, link);
	while (s != NULL && s->dead);
	return (struct server *)s;
}

size_t server_count(const struct engine *e)
{
	return e->n_servers;
}

/* The credentials a shim reports are the ones its OpenCode really uses. */
static void take_credentials(struct server *s, const char *username, const char *password)
{
	char *copy;

	if (password == NULL || password[0] == '\0' || (copy = strdup(password)) == NULL)
		return;
	secret_free(s->password);
	s->password = copy;
	if (username != NULL && username[0] != '\0' && str_replace(&s->username, username) < 0)
		log_warnx("%s: out of memory taking the user name", s->url);
}

/* A URL without the trailing slashes people type. NULL when memory runs out. */
static char *url_copy(const char *url)
{
	char *copy = strdup(url);
	size_t n;

	if (copy == NULL)
		return NULL;
	for (n = strlen(copy); n > 0 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	return copy;
}

static struct server *server_new(struct engine *e, const struct server_spec *spec,
    const char **cause)
{
	const struct backend *b = &e->backends[spec->transport];
	bool failed = false;
	struct server *s;
	char relay_url[32];

	*cause = "out of memory";
	if (b->ops == NULL) {
		*cause = "no backend for this transport";
		return NULL;
	}
	if (e->n_servers >= SERVER_MAX) {
		*cause = "too many OpenCode servers (SERVER_MAX)";
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->e = e;
	s->transport = spec->transport;
	s->ops = b->ops;
	s->configured = spec->configured;
	s->implicit = spec->implicit;
	s->pid = spec->pid;
	s->shim = spec->shim;
	s->fences = spec->shim != 0 && spec->fences;
	if (spec->transport == SERVER_RELAY) {
		snprintf(relay_url, sizeof(relay_url), "pid:%d", spec->pid);
		s->url = strdup(relay_url);
	} else {
		s->url = url_copy(spec->url);
	}
	s->username =
	    strdup(spec->username != NULL && spec->username[0] != '\0' ? spec->username
								       : PROTO_OPENCODE_USERNAME);
	if (spec->password != NULL && spec->password[0] != '\0')
		s->password = str_dup_or_null(spec->password, &failed);
	s->version =
	    str_dup_or_null(spec->version != NULL && spec->version[0] != '\0' ? spec->version
									      : NULL,
		&failed);
	if (s->url == NULL || s->username == NULL || failed) {
		server_free(s);
		return NULL;
	}
	/* Linked before the backend starts: it may report at once. */
	TAILQ_INSERT_TAIL(&e->servers, s, link);
	e->n_servers++;
	if (s->ops->open(s, b->ctx, spec->channel, &s->priv) < 0) {
		TAILQ_REMOVE(&e->servers, s, link);
		e->n_servers--;
		s->priv = NULL;
		server_free(s);
		*cause = "cannot start talking to OpenCode";
		return NULL;
	}
	if (spec->transport == SERVER_RELAY)
		log_info("relaying OpenCode pid %d through its plugin", spec->pid);
	else
		log_info("watching OpenCode at %s", s->url);
	return s;
}

struct server *server_attach(struct engine *e, const struct server_spec *spec, const char **cause)
{
	struct server *s;
	char *url = NULL;

	if (spec->transport == SERVER_HTTP && (url = url_copy(spec->url)) == NULL) {
		*cause = "out of memory";
		return NULL;
	}
	engine_enter(e);
	s = spec->transport == SERVER_RELAY ? find_relay(e, spec->pid) : server_find_url(e, url);
	free(url);
	if (s == NULL) {
		s = server_new(e, spec, cause);
		if (s != NULL && spec->transport == SERVER_RELAY)
			server_set_connected(s, true);
	} else {
		/* The same OpenCode process again: a reconnected shim. */
		if (spec->shim != 0) {
			s->shim = spec->shim;
			s->fences = spec->fences;
		}
		if (spec->pid != 0)
			s->pid = spec->pid;
		take_credentials(s, spec->username, spec->password);
		if (spec->channel != NULL && s->ops->rebind != NULL)
			s->ops->rebind(s->priv, spec->channel);
		if (s->version == NULL && spec->version != NULL && spec->version[0] != '\0')
			server_set_version(s, spec->version);
	}
	engine_leave(e);
	return s;
}

/* Is url (as the configuration gives it, maybe with trailing slashes) the
 * server's? */
static bool is_url_of(const struct server *s, const char *url)
{
	size_t n = strlen(url);

	while (n > 0 && url[n - 1] == '/')
		n--;
	return s->transport == SERVER_HTTP && strlen(s->url) == n && strncmp(s->url, url, n) == 0;
}

/* The configuration's credentials, for a server no shim stands for (a
 * shim's are the ones its OpenCode really uses). */
static void set_configured_credentials(struct server *s, const char *username, const char *password)
{
	char *pw = NULL;

	if (s->shim != 0)
		return;
	if (password != NULL && password[0] != '\0' && (pw = strdup(password)) == NULL) {
		log_warnx("%s: out of memory taking the password", s->url);
		return;
	}
	secret_free(s->password);
	s->password = pw;
	if (str_replace(&s->username,
		username != NULL && username[0] != '\0' ? username : PROTO_OPENCODE_USERNAME) < 0)
		log_warnx("%s: out of memory taking the user name", s->url);
}

/* The live HTTP server url names, or NULL. */
static struct server *find_http_url(struct engine *e, const char *url)
{
	struct server *s;

	for (s = server_first(e); s != NULL && !is_url_of(s, url); s = server_next(s))
		;
	return s;
}

int servers_reconfigure(struct engine *e, const struct server_spec *spec, char *const *urls,
    size_t n_urls, const char **cause)
{
	struct server_spec one = *spec;
	struct server *s;
	size_t i;
	int rc = 0;

	engine_enter(e);
	for (s = server_first(e); s != NULL; s = server_next(s)) {
		if (!s->configured)
			continue;
		for (i = 0; i < n_urls && !is_url_of(s, urls[i]); i++)
			;
		if (i < n_urls)
			continue;
		s->configured = false;
		s->implicit = false;
		/* One a shim announced stays while the shim does. */
		if (s->shim == 0)
			server_drop(s, "no longer in the configuration");
		else
			log_info("OpenCode %s is no longer in the configuration; watched while its "
				 "plugin is connected",
			    s->url);
	}
	for (i = 0; i < n_urls && rc == 0; i++) {
		if ((s = find_http_url(e, urls[i])) != NULL) {
			s->configured = true;
			s->implicit = spec->implicit;
			set_configured_credentials(s, spec->username, spec->password);
			continue;
		}
		one.url = urls[i];
		if (server_attach(e, &one, cause) == NULL)
			rc = -1;
	}
	engine_leave(e);
	return rc;
}

/* The drop itself: stops end as not stopped with reason, the sessions go,
 * subscribers hear the server is gone; the memory waits for the reap. */
static void do_drop(struct server *s, const char *reason)
{
	struct engine *e = s->e;

	s->dead = true;
	e->n_servers--;
	log_info("dropping OpenCode %s: %s", s->url, reason);
	stops_server_gone(e, s, reason);
	session_table_drop_server(e->sessions, s);
	if (s->connected) {
		s->connected = false;
		publish(s);
	}
	engine_rearm(e);
	engine_want_reap(e);
}

/* Asked for while the engine walks something, a drop waits for the safe
 * point (engine_reap). */
void server_drop(struct server *s, const char *reason)
{
	struct engine *e = s->e;

	if (s->dead || s->drop_reason != NULL)
		return;
	if (e->depth > 0) {
		s->drop_reason = reason;
		e->drops_pending = true;
		return;
	}
	engine_enter(e);
	do_drop(s, reason);
	engine_leave(e);
}

void servers_drop_pending(struct engine *e)
{
	struct server *s;
	const char *reason;

	engine_enter(e);
	/* A drop's news may ask for more drops: go on until none is left. */
	while (e->drops_pending) {
		e->drops_pending = false;
		TAILQ_FOREACH(s, &e->servers, link) {
			if (s->dead || s->drop_reason == NULL)
				continue;
			reason = s->drop_reason;
			s->drop_reason = NULL;
			do_drop(s, reason);
		}
	}
	e->depth--; /* not engine_leave(): nothing is pending now */
}

void servers_reap(struct engine *e)
{
	struct server *s, *next;

	for (s = TAILQ_FIRST(&e->servers); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (!s->dead)
			continue;
		TAILQ_REMOVE(&e->servers, s, link);
		server_free(s);
	}
}

void engine_shim_gone(struct engine *e, uint64_t shim, int64_t now_ms)
{
	struct server *s;

	/* A drop only marks: the walk goes on over a list that stays. */
	TAILQ_FOREACH(s, &e->servers, link) {
		if (s->dead || s->shim != shim)
			continue;
		s->shim = 0;
		s->fences = false;
		stops_shim_gone(e, s, now_ms);
		if (s->transport == SERVER_RELAY)
			server_drop(s, "its plugin disconnected");
		else if (!s->configured && !s->connected)
			server_drop(s, "its plugin disconnected and HTTP fails");
	}
}

void server_set_connected(struct server *s, bool connected)
{
	if (s->dead || s->connected == connected)
		return;
	s->connected = connected;
	if (connected) {
		uint64_t failures = log_repeat_ok(&s->errors);
		char after[48] = "";

		free(s->last_error);
		s->last_error = NULL;
		if (failures > 0)
			snprintf(after, sizeof(after), " after %llu failures",
			    (unsigned long long)failures);
		log_info("connected to OpenCode%s%s at %s%s", s->version != NULL ? " " : "",
		    s->version != NULL ? s->version : "", s->url, after);
	}
	publish(s);
}

void server_set_version(struct server *s, const char *version)
{
	if (str_replace(&s->version, version) < 0)
		log_warnx("%s: out of memory noting the version", s->url);
}

void server_set_error(struct server *s, int64_t now_ms, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (s->dead)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL)
		return;
	log_repeat_fail(&s->errors, now_ms, log_kind(msg), "OpenCode %s: %s", s->url, msg);
	free(s->last_error);
	s->last_error = msg;
	if (s->connected) {
		s->connected = false;
		publish(s);
	}
}

bool server_link_down(struct server *s)
{
	if (s->dead)
		return false;
	if (!s->configured && s->shim == 0) {
		server_drop(s, "its plugin disconnected and HTTP fails");
		return false;
	}
	return true;
}

void server_resync(struct server *s, const char *directory)
{
	if (!s->dead && s->ops->resync != NULL)
		s->ops->resync(s->priv, directory);
}

void server_lookup(struct server *s, const char *session_id, const char *directory)
{
	if (!s->dead && s->ops->lookup != NULL)
		s->ops->lookup(s->priv, session_id, directory);
}

bool server_can_probe(const struct server *s)
{
	return !s->dead && s->connected && s->ops->probe != NULL;
}

/* A probe or a check a request asked for: counted against its server until
 * the backend answers (it answers every request, also when it closes; the
 * server's memory waits for the reap). */
struct lookup {
	struct server *s;
	probe_done_cb probe_done;
	check_done_cb check_done;
	void *arg;
};

static struct lookup *lookup_new(struct server *s, void *arg)
{
	struct lookup *l;

	if (s->probes >= SERVER_MAX_PROBES || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->s = s;
	l->arg = arg;
	s->probes++;
	return l;
}

/* The caller's argument; l is gone. */
static void *lookup_end(struct lookup *l)
{
	void *arg = l->arg;

	l->s->probes--;
	free(l);
	return arg;
}

static void probe_done(void *arg, enum probe_outcome outcome, int64_t now_ms)
{
	struct lookup *l = arg;
	probe_done_cb done = l->probe_done;

	done(lookup_end(l), outcome, now_ms);
}

static void check_done(void *arg, bool ok, int64_t now_ms)
{
	struct lookup *l = arg;
	check_done_cb done = l->check_done;

	done(lookup_end(l), ok, now_ms);
}

int server_probe(struct server *s, const char *session_id, probe_done_cb done, void *arg)
{
	struct lookup *l;

	if (!server_can_probe(s) || (l = lookup_new(s, arg)) == NULL)
		return -1;
	l->probe_done = done;
	if (s->ops->probe(s->priv, session_id, probe_done, l) < 0) {
		lookup_end(l);
		return -1;
	}
	return 0;
}

int server_check(struct server *s, const char *directory, check_done_cb done, void *arg)
{
	struct lookup *l;

	if (s->dead || !s->connected || s->ops->check == NULL || (l = lookup_new(s, arg)) == NULL)
		return -1;
	l->check_done = done;
	if (s->ops->check(s->priv, directory, check_done, l) < 0) {
		lookup_end(l);
		return -1;
	}
	return 0;
}

struct engine *server_engine(const struct server *s)
{
	return s->e;
}

const char *server_url(const struct server *s)
{
	return s->url;
}

enum server_transport server_transport(const struct server *s)
{
	return s->transport;
}

bool server_connected(const struct server *s)
{
	return s->connected;
}

const char *server_version(const struct server *s)
{
	return s->version;
}

const char *server_last_error(const struct server *s)
{
	return s->last_error;
}

int server_pid(const struct server *s)
{
	return s->pid;
}

uint64_t server_shim(const struct server *s)
{
	return s->shim;
}

bool server_fenced(const struct server *s)
{
	return s->shim != 0 && s->fences;
}

bool server_configured(const struct server *s)
{
	return s->configured;
}

bool server_implicit(const struct server *s)
{
	return s->implicit && s->shim == 0;
}

const char *server_username(const struct server *s)
{
	return s->username;
}

const char *server_password(const struct server *s)
{
	return s->password;
}

bool server_dead(const struct server *s)
{
	return s->dead;
}
