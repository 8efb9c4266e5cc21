/*
 * ocstopd: watches every OpenCode session of this user and stops one the
 * moment it is asked to, with proof.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "client.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "listen.h"
#include "log.h"
#include "proto.h"
#include "sd.h"
#include "server.h"
#include "session.h"
#include "stop.h"

/* How long a shutdown waits for stops in flight and unsent replies. */
#define SHUTDOWN_GRACE_MS 4000

static const char usage_text[] =
    "usage: ocstopd [-v] [-s SOCKET] [-c CONFIG] [--opencode URL]... [--no-default-server]\n"
    "               [--stop-word WORD]... [--quiet-ms MS] [--stop-timeout-ms MS]\n"
    "               [--password-file FILE]\n"
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
    "  -v, --verbose            debug logging\n"
    "  -V, --version            print the version\n";

enum {
	OPT_OPENCODE = 256,
	OPT_NO_DEFAULT,
	OPT_STOP_WORD,
	OPT_QUIET,
	OPT_TIMEOUT,
	OPT_PASSWORD_FILE,
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
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for, applied after the config file. */
struct cmdline {
	const char *socket;
	const char *config;
	const char *urls[CONFIG_MAX_URLS];
	size_t n_urls;
	const char *words[CONFIG_MAX_STOP_WORDS];
	size_t n_words;
	const char *quiet;
	const char *timeout;
	const char *password_file;
	bool no_default;
	int verbosity;
};

static void __attribute__((noreturn)) usage(int code)
{
	fputs(usage_text, code == 0 ? stdout : stderr);
	exit(code);
}

static void parse_args(int argc, char **argv, struct cmdline *cl)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "s:c:vVh", long_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			cl->socket = optarg;
			break;
		case 'c':
			cl->config = optarg;
			break;
		case OPT_OPENCODE:
			if (cl->n_urls >= CONFIG_MAX_URLS)
				fatalx("too many --opencode (at most %d)", CONFIG_MAX_URLS);
			cl->urls[cl->n_urls++] = optarg;
			break;
		case OPT_NO_DEFAULT:
			cl->no_default = true;
			break;
		case OPT_STOP_WORD:
			if (cl->n_words >= CONFIG_MAX_STOP_WORDS)
				fatalx("too many --stop-word (at most %d)", CONFIG_MAX_STOP_WORDS);
			cl->words[cl->n_words++] = optarg;
			break;
		case OPT_QUIET:
			cl->quiet = optarg;
			break;
		case OPT_TIMEOUT:
			cl->timeout = optarg;
			break;
		case OPT_PASSWORD_FILE:
			cl->password_file = optarg;
			break;
		case 'v':
			cl->verbosity++;
			break;
		case 'V':
			printf("ocstopd %s (protocol %d)\n", OCSTOP_VERSION, PROTO_VERSION);
			exit(0);
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (optind != argc)
		usage(1);
}

static int64_t parse_ms_arg(const char *name, const char *value, int64_t min, int64_t max)
{
	char *end;
	long long v = strtoll(value, &end, 10);

	if (end == value || *end != '\0' || v < min || v > max)
		fatalx("%s must be a number of milliseconds from %lld to %lld", name, (long long)min,
		    (long long)max);
	return v;
}

static void add_url(struct config *c, const char *url)
{
	const char *cause;

	if (config_add_url(c, url, &cause) < 0)
		fatalx("%s: %s", url, cause);
}

/* Defaults, then the file, then the environment, then the command line. */
static void load_config(struct config *c, const struct cmdline *cl)
{
	char *path = cl->config != NULL ? strdup(cl->config) : config_default_path(), *cause = NULL;
	char path_buf[PROTO_MAX_SOCKET_PATH + 1];
	const char *env, *why;
	char *list, *tok, *save = NULL;
	size_t i;

	config_init(c);
	c->verbosity = cl->verbosity;
	if (config_add_stop_word(c, "x", &why) < 0)
		fatalx("%s", why);
	if (path != NULL && config_load_file(c, path, cl->config != NULL, &cause) < 0)
		fatalx("%s", cause != NULL ? cause : "cannot read the config file");
	free(path);
	if ((env = getenv("OPENCODE_SERVER_PASSWORD")) != NULL && env[0] != '\0' && c->password == NULL)
		c->password = strdup(env);
	if ((env = getenv("OPENCODE_SERVER_USERNAME")) != NULL && env[0] != '\0' && c->username == NULL)
		c->username = strdup(env);
	if (cl->password_file != NULL && config_read_password_file(c, cl->password_file, &cause) < 0)
		fatalx("%s", cause != NULL ? cause : "cannot read the password file");
	if ((env = getenv("OCSTOP_OPENCODE_URL")) != NULL && (list = strdup(env)) != NULL) {
		for (tok = strtok_r(list, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
			add_url(c, tok);
		free(list);
	}
	for (i = 0; i < cl->n_urls; i++)
		add_url(c, cl->urls[i]);
	if (c->n_urls == 0 && !cl->no_default)
		add_url(c, CONFIG_DEFAULT_URL);
	if (cl->n_words > 0) {
		for (i = 0; i < c->n_stop_words; i++)
			free(c->stop_words[i]);
		c->n_stop_words = 0;
		for (i = 0; i < cl->n_words; i++)
			if (config_add_stop_word(c, cl->words[i], &why) < 0)
				fatalx("--stop-word %s: %s", cl->words[i], why);
	}
	if (cl->quiet != NULL)
		c->quiet_ms = parse_ms_arg("--quiet-ms", cl->quiet, 0, 10000);
	if (cl->timeout != NULL)
		c->stop_timeout_ms = parse_ms_arg("--stop-timeout-ms", cl->timeout, 100, 60000);
	if (cl->socket != NULL) {
		c->socket_path = strdup(cl->socket);
	} else {
		if (proto_socket_path(path_buf, sizeof(path_buf), &why) < 0)
			fatalx("%s", why);
		c->socket_path = strdup(path_buf);
	}
	if (c->socket_path == NULL)
		fatalx("out of memory");
}

struct shutdown {
	struct daemon *d;
	struct listener *listener;
	struct event *poll;
	int64_t deadline_ms;
};

static void shutdown_poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct shutdown *sh = arg;
	struct timeval tv = { 0, 20000 };

	(void)fd;
	(void)what;
	if ((stop_list_idle(sh->d) && client_output_bytes(sh->d) == 0) ||
	    daemon_now_ms() >= sh->deadline_ms) {
		event_base_loopexit(sh->d->base, NULL);
		return;
	}
	evtimer_add(sh->poll, &tv);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct shutdown *sh = arg;

	(void)what;
	if (sh->d->shutting_down)
		return;
	log_info("%s: finishing replies in flight, then exiting", strsignal((int)sig));
	sh->d->shutting_down = 1;
	listen_stop(sh->listener);
	sh->listener = NULL;
	sh->deadline_ms = daemon_now_ms() + SHUTDOWN_GRACE_MS;
	shutdown_poll_cb(-1, 0, sh);
}

static void start_servers(struct daemon *d)
{
	const char *cause;
	size_t i;

	for (i = 0; i < d->config->n_urls; i++)
		if (server_add_http(d, d->config->urls[i], d->config->username, d->config->password, true,
		    &cause) == NULL)
			fatalx("%s: %s", d->config->urls[i], cause);
}

int main(int argc, char **argv)
{
	struct cmdline cl = { .socket = NULL };
	struct config config;
	struct daemon d = { .base = NULL };
	struct shutdown sh = { .d = &d };
	struct event *sigterm, *sigint;
	char *cause = NULL;

	parse_args(argc, argv, &cl);
	log_init(cl.verbosity);
	load_config(&config, &cl);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("libcurl failed to initialise");
	d.config = &config;
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("cannot create the event loop");
	d.http = http_new(d.base);
	d.sessions = session_table_new();
	d.servers = server_list_new();
	d.stops = stop_list_new();
	d.clients = client_list_new();
	if (d.http == NULL || d.sessions == NULL || d.servers == NULL || d.stops == NULL ||
	    d.clients == NULL)
		fatalx("out of memory");
	sh.listener = listen_start(&d, config.socket_path, &cause);
	if (sh.listener == NULL)
		fatalx("%s", cause != NULL ? cause : "cannot listen");
	sh.poll = evtimer_new(d.base, shutdown_poll_cb, &sh);
	sigterm = evsignal_new(d.base, SIGTERM, signal_cb, &sh);
	sigint = evsignal_new(d.base, SIGINT, signal_cb, &sh);
	if (sh.poll == NULL || sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0)
		fatalx("cannot watch signals");
	start_servers(&d);
	log_info("ocstopd %s ready; stop words: %zu, quiet window %lld ms, proof timeout %lld ms",
	    OCSTOP_VERSION, config.n_stop_words, (long long)config.quiet_ms,
	    (long long)config.stop_timeout_ms);
	sd_ready();
	event_base_dispatch(d.base);

	listen_stop(sh.listener);
	stop_list_free(&d);
	client_list_free(&d);
	server_list_free(d.servers);
	session_table_free(d.sessions);
	http_free(d.http);
	event_free(sigterm);
	event_free(sigint);
	event_free(sh.poll);
	event_base_free(d.base);
	config_clear(&config);
	curl_global_cleanup();
	log_info("exited cleanly");
	return 0;
}
