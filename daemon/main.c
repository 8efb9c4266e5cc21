/*
 * ocstopd: watches every OpenCode session of this user and stops one the
 * moment it is asked to, with proof. This file only wires the layers
 * together (HACKING.md): the event loop and the engine's timer and safe
 * point, the backends, the control socket, signals and shutdown.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "backend/http.h"
#include "backend/relay.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "io/http.h"
#include "io/procnet.h"
#include "io/procs.h"
#include "loop.h"
#include "proto.h"
#include "rpc/control.h"

/* How long a shutdown waits for stops in flight and unsent replies. */
#define SHUTDOWN_GRACE_MS 4000

/* How often an idle daemon looks whether it has been idle long enough. */
#define IDLE_POLL_MS 1000

/* Per turn of the loop libevent runs the callbacks of the most urgent
 * priority that has any ready. Every event gets the middle one; the start of
 * the OpenCode servers (which loads libcurl: milliseconds) the last, so that
 * the clients waiting when the daemon starts, those whose connection
 * activated it, have their answers first. */
#define LOOP_PRIORITIES 3
#define PRIORITY_AFTER_CLIENTS 2

static const char usage_text[] =
    "usage: ocstopd [-hnvV] [-s SOCKET] [-c CONFIG] [--opencode URL]... [--no-default-server]\n"
    "               [--stop-word WORD]... [--quiet-ms MS] [--stop-timeout-ms MS]\n"
    "               [--password-file FILE] [--idle-exit SECONDS] [--log FILE]\n"
    "\n"
    "  -s, --socket PATH        listen here (default $OCSTOP_SOCKET, else\n"
    "                           $XDG_RUNTIME_DIR/ocstop/ocstop.sock, else\n"
    "                           /tmp/ocstop-$UID/ocstop.sock)\n"
    "  -c, --config FILE        settings file (default $XDG_CONFIG_HOME/ocstop/config)\n"
    "      --opencode URL       an OpenCode server to watch; repeatable\n"
    "                           (also $OCSTOP_OPENCODE_URL, comma-separated)\n"
    "      --no-default-server  do not watch http://127.0.0.1:4096 when no URL is given\n"
    "      --stop-word WORD     a message that stops the agent; repeatable (default x)\n"
    "      --quiet-ms MS        quiet window that proves a stop (default 100)\n"
    "      --stop-timeout-ms MS wait this long for proof before retrying (default 3000)\n"
    "      --password-file FILE OpenCode server password (else $OPENCODE_SERVER_PASSWORD)\n"
    "      --idle-exit SECONDS  when socket-activated, exit after SECONDS without a client\n"
    "                           or a stop (default 0: never)\n"
    "      --log FILE           append the log to FILE (created 0600) instead of stderr\n"
    "  -n, --check-config       check the settings (file, environment, options) and exit\n"
    "  -v, --verbose            debug logging (on a terminal: info too)\n"
    "  -V, --version            print the version\n"
    "  -h, --help               print this help\n"
    "\n"
    "SIGHUP reloads the config file; SIGTERM and SIGINT exit.\n";

enum {
	OPT_OPENCODE = 256,
	OPT_NO_DEFAULT,
	OPT_STOP_WORD,
	OPT_QUIET,
	OPT_TIMEOUT,
	OPT_PASSWORD_FILE,
	OPT_IDLE_EXIT,
	OPT_LOG,
};

static const struct option long_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "config", required_argument, NULL, 'c' },
	{ "opencode", required_argument, NULL, OPT_OPENCODE },
	{ "no-default-server", no_argument, NULL, OPT_NO_DEFAULT },
	{ "stop-word", required_argument, NULL, OPT_STOP_WORD },
	{ "quiet-ms", required_argument, NULL, OPT_QUIET },
	{ "stop-timeout-ms", required_argument, NULL, OPT_TIMEOUT },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "idle-exit", required_argument, NULL, OPT_IDLE_EXIT },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "check-config", no_argument, NULL, 'n' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked of main itself. */
struct args {
	struct config_overrides o;
	const char *log_file;
	bool check_config;
};

static void __attribute__((noreturn)) bad_usage(void)
{
	fputs("Try 'ocstopd --help'\n", stderr);
	exit(1);
}

static void parse_args(int argc, char **argv, struct args *a)
{
	struct config_overrides *o = &a->o;
	int ch;

	while ((ch = getopt_long(argc, argv, "s:c:nvVh", long_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->config_file = optarg;
			break;
		case OPT_OPENCODE:
			if (o->n_urls >= CONFIG_MAX_URLS)
				fatalx("too many --opencode (at most %d)", CONFIG_MAX_URLS);
			o->urls[o->n_urls++] = optarg;
			break;
		case OPT_NO_DEFAULT:
			o->no_default_server = true;
			break;
		case OPT_STOP_WORD:
			if (o->n_stop_words >= CONFIG_MAX_STOP_WORDS)
				fatalx("too many --stop-word (at most %d)", CONFIG_MAX_STOP_WORDS);
			o->stop_words[o->n_stop_words++] = optarg;
			break;
		case OPT_QUIET:
			o->quiet_ms = optarg;
			break;
		case OPT_TIMEOUT:
			o->stop_timeout_ms = optarg;
			break;
		case OPT_PASSWORD_FILE:
			o->password_file = optarg;
			break;
		case OPT_IDLE_EXIT:
			o->idle_exit = optarg;
			break;
		case OPT_LOG:
			a->log_file = optarg;
			break;
		case 'n':
			a->check_config = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'V':
			printf("ocstopd %s (protocol %d)\n", OCSTOP_VERSION, PROTO_VERSION);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			bad_usage(); /* getopt said what was wrong */
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ocstopd: unexpected argument '%s'\n", argv[optind]);
		bad_usage();
	}
}

/* libevent's own warnings would otherwise go to stderr unprefixed. */
static void libevent_log_cb(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else if (severity == EVENT_LOG_MSG)
		log_info("libevent: %s", msg);
	else
		log_warnx("libevent: %s", msg);
}

struct daemon {
	struct config config;
	const struct config_overrides *overrides; /* the command line's, for a reload */
	const char *log_file;                     /* --log's, opened again at a reload */
	struct event_base *base;
	struct http *http;
	struct procs *procs;
	struct backend_http_ctx http_ctx;
	struct engine *engine;
	struct engine_loop *loop;
	struct control *control;
	struct event *shutdown_poll;
	struct event *sigterm;
	struct event *sigint;
	struct event *sighup;
	struct event *idle_poll;
	struct event *start_servers;
	int64_t idle_since_ms;  /* last time a client or a stop was seen */
	uint64_t idle_accepted; /* connections accepted by then */
	int64_t shutdown_deadline_ms;
	bool shutting_down;
};

static void shutdown_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	if ((engine_idle(d->engine) && control_output_bytes(d->control) == 0) ||
	    clock_now_ms() >= d->shutdown_deadline_ms) {
		event_base_loopexit(d->base, NULL);
		return;
	}
	evtimer_add(d->shutdown_poll, &tv);
}

static void shut_down(struct daemon *d, const char *why)
{
	if (d->shutting_down)
		return;
	log_info("%s: finishing replies in flight, then exiting", why);
	d->shutting_down = true;
	event_del(d->idle_poll);
	control_stop_listening(d->control);
	d->shutdown_deadline_ms = clock_now_ms() + SHUTDOWN_GRACE_MS;
	shutdown_poll_cb(-1, 0, d);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	shut_down(arg, strsignal((int)sig));
}

/* Socket-activated with idle_exit: systemd starts the daemon again on the
 * next connection, so with no client (not even a shim) and no stop for that
 * long it may go. A connection that came and went since the last look
 * counts. */
static void idle_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = { IDLE_POLL_MS / 1000, (IDLE_POLL_MS % 1000) * 1000 };
	int64_t now = clock_now_ms();
	char why[64];

	(void)fd;
	(void)what;
	if (d->config.idle_exit_s == 0)
		return;
	if (control_connections(d->control) > 0 ||
	    control_accepted(d->control) != d->idle_accepted || !engine_idle(d->engine)) {
		d->idle_since_ms = now;
		d->idle_accepted = control_accepted(d->control);
	} else if (now - d->idle_since_ms >= d->config.idle_exit_s * 1000) {
		snprintf(why, sizeof why, "no client for %lld s (idle_exit)",
		    (long long)d->config.idle_exit_s);
		shut_down(d, why);
		return;
	}
	evtimer_add(d->idle_poll, &tv);
}

/* Watch for idleness when the configuration asks for it; a daemon that
 * made its own socket would leave nothing to start it again. */
static void arm_idle_exit(struct daemon *d, bool changed)
{
	if (d->config.idle_exit_s == 0 || d->shutting_down) {
		event_del(d->idle_poll);
		return;
	}
	if (!control_activated(d->control)) {
		log_warnx(
		    "idle_exit %lld s ignored: only a socket-activated daemon exits when idle",
		    (long long)d->config.idle_exit_s);
		return;
	}
	if (changed || !evtimer_pending(d->idle_poll, NULL)) {
		d->idle_since_ms = clock_now_ms();
		d->idle_accepted = control_accepted(d->control);
		event_del(d->idle_poll);
		idle_poll_cb(-1, 0, d);
	}
}

/* The engine ends the processes a stopped tree's tools left, sparing every
 * OpenCode process: those a shim registered, those of a known pid, and those
 * that listen on the port of an OpenCode server reached over HTTP (an
 * OpenCode started from a tool's shell carries the marker too). Asked only
 * of the few processes a stop found marked. */
static bool spare_opencode(void *arg, int pid)
{
	struct daemon *d = arg;
	const struct server *s;
	int port;

	if (control_is_opencode_pid(d->control, pid))
		return true;
	for (s = server_first(d->engine); s != NULL; s = server_next(s)) {
		if (server_pid(s) == pid)
			return true;
		if (server_transport(s) == SERVER_HTTP &&
		    (port = procnet_url_port(server_url(s))) > 0 && procnet_pid_listens(pid, port))
			return true;
	}
	return false;
}

static int procs_end_op(void *ctx, const char *const *sessions, size_t n_sessions, bool all,
    size_t max, proc_done_cb done, void *arg)
{
	struct daemon *d = ctx;

	return procs_end(d->procs, sessions, n_sessions, all, spare_opencode, d, max, done, arg);
}

static void procs_warm_op(void *ctx)
{
	struct daemon *d = ctx;

	procs_warm(d->procs);
}

static void procs_flush_op(void *ctx)
{
	struct daemon *d = ctx;

	procs_flush(d->procs);
}

static const struct procs_ops daemon_procs_ops = {
	.end = procs_end_op,
	.flush = procs_flush_op,
	.warm = procs_warm_op,
};

/* The configured servers, as a reload adds them: one a shim registered in
 * the meantime keeps the credentials its OpenCode really uses. */
static void start_servers_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct server_spec spec = {
		.transport = SERVER_HTTP,
		.username = d->config.username,
		.password = d->config.password,
		.configured = true,
		.implicit = d->config.url_is_default,
	};
	const char *cause = NULL;

	(void)fd;
	(void)what;
	/* A SIGTERM that came first: nothing more to start. */
	if (d->shutting_down)
		return;
	if (servers_reconfigure(d->engine, &spec, d->config.urls, d->config.n_urls, &cause) < 0)
		fatalx("cannot watch an OpenCode server: %s",
		    cause != NULL ? cause : "out of memory");
}

static void log_settings(const struct config *c, const char *what)
{
	log_info("%s; config %s; stop words: %zu, quiet window %lld ms, proof timeout %lld ms, "
		 "x_force %s, idle_exit %lld s",
	    what, c->file != NULL ? c->file : "(none)", c->n_stop_words, (long long)c->quiet_ms,
	    (long long)c->stop_timeout_ms, c->x_force ? "true" : "false",
	    (long long)c->idle_exit_s);
}

/* SIGHUP: the config file, the environment and the command line again, in
 * the order of the start. Everything takes effect at once (the engine and
 * the methods read the settings as they need them), the OpenCode servers
 * too; only the socket needs a restart. A bad file changes nothing. */
static void reload(struct daemon *d)
{
	struct config next, old;
	struct server_spec spec = { .transport = SERVER_HTTP, .configured = true };
	char *cause = NULL;
	const char *why = NULL;
	bool idle_changed;

	if (d->log_file != NULL && log_open_file(d->log_file, &cause) < 0) {
		/* Rotated away and not writable again: the old file goes on. */
		log_warnx("SIGHUP: %s; still logging to the file opened before", cause);
		free(cause);
		cause = NULL;
	}
	if (config_load(&next, d->overrides, &cause) < 0) {
		log_warnx("SIGHUP: %s; the configuration in force is kept",
		    cause != NULL ? cause : "out of memory");
		free(cause);
		return;
	}
	if (d->config.file != NULL && next.file == NULL) {
		/* The default file, gone (an editor's rename, a mistake): the
		 * defaults would silently replace every setting in force. */
		log_warnx("SIGHUP: %s is gone; the configuration in force is kept (an empty file "
			  "gives the defaults)",
		    d->config.file);
		config_clear(&next);
		return;
	}
	if (strcmp(next.socket_path, d->config.socket_path) != 0)
		log_warnx("SIGHUP: the socket %s needs a restart to take effect; still on %s",
		    next.socket_path, d->config.socket_path);
	spec.username = next.username;
	spec.password = next.password;
	spec.implicit = next.url_is_default;
	if (servers_reconfigure(d->engine, &spec, next.urls, next.n_urls, &why) < 0)
		log_warnx("SIGHUP: an OpenCode server could not be added: %s", why);
	idle_changed = next.idle_exit_s != d->config.idle_exit_s;
	/* The engine holds &d->config: the new settings move in, the socket
	 * in use stays. */
	old = d->config;
	d->config = next;
	d->config.socket_path = old.socket_path;
	old.socket_path = next.socket_path;
	config_clear(&old);
	log_set_verbosity(d->config.verbosity);
	log_settings(&d->config, "SIGHUP: configuration reloaded");
	control_settings_changed(d->control);
	arm_idle_exit(d, idle_changed);
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)sig;
	(void)what;
	if (!d->shutting_down)
		reload(d);
}

static void setup(struct daemon *d)
{
	struct engine_host host;
	char *cause = NULL;

	if ((d->base = event_base_new()) == NULL ||
	    event_base_priority_init(d->base, LOOP_PRIORITIES) < 0)
		fatalx("cannot create the event loop");
	d->loop = engine_loop_new(d->base, &host);
	d->shutdown_poll = evtimer_new(d->base, shutdown_poll_cb, d);
	d->sigterm = evsignal_new(d->base, SIGTERM, signal_cb, d);
	d->sigint = evsignal_new(d->base, SIGINT, signal_cb, d);
	d->sighup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	d->idle_poll = evtimer_new(d->base, idle_poll_cb, d);
	if (d->loop == NULL || d->shutdown_poll == NULL || d->sigterm == NULL ||
	    d->sigint == NULL || d->sighup == NULL || d->idle_poll == NULL ||
	    evsignal_add(d->sigterm, NULL) < 0 || evsignal_add(d->sigint, NULL) < 0 ||
	    evsignal_add(d->sighup, NULL) < 0)
		fatalx("cannot set up the event loop");
	d->http = http_new(d->base);
	d->procs = procs_new(d->base);
	d->engine = engine_new(&d->config, &host, SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES);
	if (d->http == NULL || d->procs == NULL || d->engine == NULL)
		fatalx("out of memory");
	engine_loop_attach(d->loop, d->engine);
	d->http_ctx = (struct backend_http_ctx){ .base = d->base, .http = d->http };
	engine_set_backend(d->engine, SERVER_HTTP, &backend_http_ops, &d->http_ctx);
	engine_set_backend(d->engine, SERVER_RELAY, &backend_relay_ops, NULL);
	engine_set_procs(d->engine, &daemon_procs_ops, d);
	/* The first stop's own warm-up then reads only what started since. */
	procs_warm(d->procs);
	if ((d->control = control_new(d->base, d->engine)) == NULL)
		fatalx("out of memory");
	if (control_listen(d->control, d->config.socket_path, &cause) < 0)
		fatalx("%s", cause != NULL ? cause : "cannot listen");
	if ((d->start_servers = event_new(d->base, -1, 0, start_servers_cb, d)) == NULL ||
	    event_priority_set(d->start_servers, PRIORITY_AFTER_CLIENTS) < 0)
		fatalx("cannot set up the event loop");
	event_active(d->start_servers, 0, 0);
}

/* In this order: the stops end and the backends close while the control
 * server can still take their last answers; then the connections go. */
static void teardown(struct daemon *d)
{
	engine_shutdown(d->engine);
	control_free(d->control);
	engine_free(d->engine);
	procs_free(d->procs);
	http_free(d->http);
	engine_loop_free(d->loop);
	event_free(d->shutdown_poll);
	event_free(d->sigterm);
	event_free(d->sigint);
	event_free(d->sighup);
	event_free(d->idle_poll);
	event_free(d->start_servers);
	event_base_free(d->base);
	config_clear(&d->config);
}

/* -n: every setting checked as the daemon would take it, nothing started. */
static int check_config(const struct config_overrides *o)
{
	struct config c;
	char *cause = NULL;
	char *path;
	size_t i;

	if (config_load(&c, o, &cause) < 0) {
		fprintf(stderr, "ocstopd: %s\n", cause != NULL ? cause : "out of memory");
		free(cause);
		return 1;
	}
	if (c.file != NULL) {
		printf("ocstopd: configuration OK (%s)\n", c.file);
	} else {
		path = o->config_file != NULL ? strdup(o->config_file) : config_default_path();
		printf("ocstopd: configuration OK (no file at %s: defaults, environment and "
		       "options)\n",
		    path != NULL ? path : "$XDG_CONFIG_HOME/ocstop/config");
		free(path);
	}
	/* What is in force, so that a typo shows as what it did. */
	printf("  stop words:");
	for (i = 0; i < c.n_stop_words; i++)
		printf(" %s", c.stop_words[i]);
	printf("\n  OpenCode:%s", c.n_urls == 0 ? " none" : "");
	for (i = 0; i < c.n_urls; i++)
		printf(" %s", c.urls[i]);
	printf("%s\n  socket: %s\n", c.url_is_default ? " (the default)" : "", c.socket_path);
	config_clear(&c);
	return 0;
}

int main(int argc, char **argv)
{
	struct args args = { .log_file = NULL };
	struct daemon d = { .base = NULL };
	char *cause = NULL;

	parse_args(argc, argv, &args);
	if (args.check_config)
		return check_config(&args.o);
	log_init(args.o.verbosity);
	if (args.log_file != NULL && log_open_file(args.log_file, &cause) < 0)
		fatalx("%s", cause != NULL ? cause : "out of memory");
	event_set_log_callback(libevent_log_cb);
	if (config_load(&d.config, &args.o, &cause) < 0)
		fatalx("%s", cause != NULL ? cause : "out of memory");
	log_set_verbosity(d.config.verbosity);
	d.overrides = &args.o;
	d.log_file = args.log_file;
	signal(SIGPIPE, SIG_IGN);
	setup(&d);
	log_settings(&d.config, "ocstopd " OCSTOP_VERSION " ready");
	arm_idle_exit(&d, true);
	event_base_dispatch(d.base);
	teardown(&d);
	log_info("exited cleanly");
	return 0;
}
