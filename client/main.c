/* ocstop: tell ocstopd to stop OpenCode sessions, or ask it what runs. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static const char usage_text[] =
    "Usage: ocstop [-s SOCKET] [-j] [-q] [COMMAND [ARGS]]\n"
    "\n"
    "Commands:\n"
    "  abort [SESSION...] [--dir DIR | --all] [--no-wait] [--timeout MS] [--force]\n"
    "             Stop sessions and wait until the stop is verified. With no\n"
    "             SESSION, --dir or --all: those in the current directory.\n"
    "  status [--limit N]\n"
    "             List the OpenCode servers and sessions the daemon knows\n"
    "             (the running ones first; at most N sessions).\n"
    "  check TEXT Say whether the daemon takes TEXT for a stop word (nothing\n"
    "             is stopped): exit 0 when it does, 5 when it does not.\n"
    "  doctor     Check each link a stop takes (the socket and why that one,\n"
    "             the daemon, each OpenCode it reaches, the shim's installs and\n"
    "             registrations, the stop words, the systemd units): a line\n"
    "             each, ok, warn or FAIL with the fix. Exit 0 when a stop\n"
    "             would work: the daemon answers in a protocol this ocstop\n"
    "             reads, no OpenCode refuses its password, and an OpenCode is\n"
    "             reached or, with none reachable, the shim is installed for\n"
    "             the next one; 1 otherwise. -j: one JSON object.\n"
    "  install-plugin [--project]\n"
    "             Link the OpenCode plugin shim (" OCSTOP_SHIM_PATH ",\n"
    "             or $OCSTOP_SHIM) into ~/.config/opencode/plugins/ (under\n"
    "             $XDG_CONFIG_HOME when set), or with --project into\n"
    "             ./.opencode/plugins/. Replaces nothing it did not make.\n"
    "  uninstall-plugin [--project]\n"
    "             Remove that link, and only that link.\n"
    "  monitor    Print events as they come, one per line, until interrupted.\n"
    "  ping       Check that the daemon answers.\n"
    "With no COMMAND, ocstop stops what runs in the current directory.\n"
    "\n"
    "Options:\n"
    "  -s, --socket=PATH  the daemon's socket (default: $OCSTOP_SOCKET, else\n"
    "                     $XDG_RUNTIME_DIR/ocstop/ocstop.sock, else\n"
    "                     /tmp/ocstop-$UID/ocstop.sock)\n"
    "  -j, --json         print replies as JSON, one object per line\n"
    "  -q, --quiet        print nothing but errors\n"
    "      --dir=DIR      abort sessions whose directory is DIR or inside it\n"
    "      --all          abort every running session\n"
    "      --no-wait      return once the aborts are sent\n"
    "      --timeout=MS   how long the daemon waits for the stop to show\n"
    "      --force        when the stop stalls after its retry, end the processes\n"
    "                     the sessions' tools started (TERM, then KILL)\n"
    "      --limit=N      list at most N sessions (status)\n"
    "      --project      the project's plugins folder, not the global one\n"
    "  -h, --help         show this help\n"
    "  -V, --version      show the version\n"
    "\n"
    "Exit status: 0 done (also when nothing was running, or when the only\n"
    "OpenCode is the default address, unconfigured, and nothing runs there),\n"
    "1 usage error or the daemon cannot be reached, 2 the daemon returned an\n"
    "error (an OpenCode it was told of cannot be reached, or could not be\n"
    "asked about a SESSION), 3 a stop was not verified in time, 4 a SESSION\n"
    "is one no OpenCode knows (not found), 5 check: TEXT is not a stop word.\n";

/* Exact names only: a prefix a script relies on could turn ambiguous when
 * a command is added. Keep alphabetized. */
static const struct cmd_entry *const cmd_table[] = {
	&cmd_abort_entry,
	&cmd_check_entry,
	&cmd_doctor_entry,
	&cmd_install_plugin_entry,
	&cmd_monitor_entry,
	&cmd_ping_entry,
	&cmd_status_entry,
	&cmd_uninstall_plugin_entry,
	NULL,
};

enum {
	OPT_DIR = 256,
	OPT_ALL,
	OPT_NO_WAIT,
	OPT_TIMEOUT,
	OPT_FORCE,
	OPT_LIMIT,
	OPT_PROJECT,
};

static const struct option long_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "no-wait", no_argument, NULL, OPT_NO_WAIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "project", no_argument, NULL, OPT_PROJECT },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int parse_timeout(const char *s, int64_t *ms);
static int parse_limit(const char *s, int64_t *n);
static const struct cmd_entry *cmd_find(const char *name);

/* Says what is wrong and where help is; returns EXIT_FAIL. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("ocstop: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs("Try 'ocstop --help' for more information.\n", stderr);
	return EXIT_FAIL;
}

/* Whole milliseconds the daemon accepts; -1 otherwise, which is better
 * said here than as the daemon's bad_request. */
static int parse_timeout(const char *s, int64_t *ms)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < ABORT_TIMEOUT_MIN_MS ||
	    v > ABORT_TIMEOUT_MAX_MS)
		return -1;
	*ms = v;
	return 0;
}

/* A count of sessions, 0 or more; -1 otherwise. */
static int parse_limit(const char *s, int64_t *n)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*n = v;
	return 0;
}

/* The command named exactly name, or NULL. */
static const struct cmd_entry *cmd_find(const char *name)
{
	const struct cmd_entry *const *e;

	for (e = cmd_table; *e != NULL; e++) {
		if (strcmp((*e)->name, name) == 0)
			return *e;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct client_opts o = { .limit = -1 };
	const struct cmd_entry *cmd;
	char path[PROTO_MAX_SOCKET_PATH + 1];
	const char *why = NULL;
	bool abort_opts = false;
	int ch, rc;

	/* Titles and directories are shown at their display width. */
	setlocale(LC_CTYPE, "");

	/* getopt's messages then start "ocstop:" like ours, however we were
	 * invoked. */
	argv[0] = (char *)"ocstop";
	/* Options may come before or after the command, as GNU tools allow. */
	while ((ch = getopt_long(argc, argv, "s:jqhV", long_options, NULL)) != -1) {
		switch (ch) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_DONE;
		case 'V':
			printf("ocstop %s (protocol %d)\n", OCSTOP_VERSION, PROTO_VERSION);
			return EXIT_DONE;
		case OPT_DIR:
			o.dir = optarg;
			abort_opts = true;
			break;
		case OPT_ALL:
			o.all = true;
			abort_opts = true;
			break;
		case OPT_NO_WAIT:
			o.no_wait = true;
			abort_opts = true;
			break;
		case OPT_TIMEOUT:
			if (parse_timeout(optarg, &o.timeout_ms) == -1)
				return usage_error("--timeout wants milliseconds, %d to %d",
				    ABORT_TIMEOUT_MIN_MS, ABORT_TIMEOUT_MAX_MS);
			abort_opts = true;
			break;
		case OPT_FORCE:
			o.force = true;
			abort_opts = true;
			break;
		case OPT_LIMIT:
			if (parse_limit(optarg, &o.limit) == -1)
				return usage_error("--limit wants a number of sessions, 0 or more");
			break;
		case OPT_PROJECT:
			o.project = true;
			break;
		default:
			return usage_error(NULL);
		}
	}
	argc -= optind;
	argv += optind;

	/* Bare "ocstop" is what an editor key or a second terminal wants. */
	cmd = &cmd_abort_entry;
	if (argc > 0) {
		if ((cmd = cmd_find(argv[0])) == NULL)
			return usage_error("unknown command '%s'", argv[0]);
		argc--;
		argv++;
	}
	if (abort_opts && !cmd->abort_options)
		return usage_error("--dir, --all, --no-wait, --timeout and --force go with abort");
	if (o.limit >= 0 && cmd != &cmd_status_entry)
		return usage_error("--limit goes with status");
	if (o.project && cmd != &cmd_install_plugin_entry && cmd != &cmd_uninstall_plugin_entry)
		return usage_error("--project goes with install-plugin and uninstall-plugin");
	if (argc < cmd->min_args || (cmd->max_args >= 0 && argc > cmd->max_args))
		return usage_error("wrong number of arguments for %s", cmd->name);

	if (o.socket == NULL && !cmd->local) {
		if (proto_socket_path(path, sizeof path, &why) == -1) {
			fprintf(stderr, "ocstop: %s\n", why);
			return EXIT_FAIL;
		}
		o.socket = path;
	}

	rc = cmd->exec(&o, argc, argv);
	/* Output lost to a full disk or closed pipe is a failure too. */
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "ocstop: stdout: %s\n", strerror(errno));
		if (rc == EXIT_DONE)
			rc = EXIT_FAIL;
	}
	return rc;
}
