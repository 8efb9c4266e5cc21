/*
 * What the ocstop commands share: parsed options, the command table entry,
 * exit codes, and the steps every command takes (connect, report failure).
 */
#ifndef OCSTOP_CLI_CLIENT_H
#define OCSTOP_CLI_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "conn.h"

/* Exit codes are a contract with scripts and editor hooks. */
enum client_exit {
	EXIT_DONE = 0,        /* done, including "nothing to stop" */
	EXIT_FAIL = 1,        /* usage error, or the daemon cannot be reached */
	EXIT_DAEMON = 2,      /* the daemon returned an error or a bad reply */
	EXIT_NOT_STOPPED = 3, /* a stop was not verified in time */
	EXIT_NOT_FOUND = 4,   /* a session named is one no OpenCode server knows */
	EXIT_PASS = 5,        /* check: the text is not a stop word */
};

/* The stop waits the daemon accepts, in its timeout_ms and its
 * stop_timeout_ms setting alike. */
#define ABORT_TIMEOUT_MIN_MS 100
#define ABORT_TIMEOUT_MAX_MS 60000

/* How long ping, status and monitor's subscribe may take in all. */
#define CLIENT_TIMEOUT_MS 5000

struct client_opts {
	const char *socket;
	bool json;  /* replies as JSON instead of text */
	bool quiet; /* nothing on stdout; errors still go to stderr */

	/* abort only; main rejects them for other commands */
	const char *dir; /* NULL: not given */
	bool all;
	bool no_wait;
	bool force;         /* a stalled stop ends the trees' tool processes */
	int64_t timeout_ms; /* 0: not given, the daemon's default applies */

	/* status only */
	int64_t limit; /* most sessions to list; -1: not given */

	/* install-plugin and uninstall-plugin only */
	bool project; /* ./.opencode/plugins, not the global folder */
};

/* A command: exact name, argument count bounds, and what runs it. */
struct cmd_entry {
	const char *name;
	int min_args;
	int max_args;       /* -1: any number */
	bool abort_options; /* accepts --dir, --all, --no-wait, --timeout */
	bool local;         /* needs no socket path: it does not talk to the daemon */
	int (*exec)(const struct client_opts *o, int argc, char **argv);
};

extern const struct cmd_entry cmd_abort_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_doctor_entry;
extern const struct cmd_entry cmd_install_plugin_entry;
extern const struct cmd_entry cmd_monitor_entry;
extern const struct cmd_entry cmd_ping_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_uninstall_plugin_entry;

/* Connects to o->socket by deadline; NULL after printing why. */
struct conn *client_connect(const struct client_opts *o, int64_t deadline);

/* Prints "ocstop: cause" for a failed conn call, frees cause, and returns
 * the exit code that status leads to. */
int client_fail(int status, char *cause);

/* Prints "ocstop: out of memory" and returns EXIT_FAIL. */
int client_oom(void);

/* Prints "ocstop: malformed reply: ..." and returns EXIT_DAEMON. */
int client_malformed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ocstop: " and the message on stderr and returns EXIT_FAIL. Like
 * the two below, it shows the message through text_safe(), so one line
 * each: what it names (a path, a link's target) may hold any byte. */
int client_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ocstop: warning: " and the message on stderr. */
void client_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the message as a line on stdout. */
void client_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sends method with empty params and waits for its result map; on failure
 * prints why and returns NULL with *exit set. The result is borrowed from
 * c like conn_call()'s. */
const msgpack_object *client_call_simple(struct conn *c, const char *method, int64_t deadline,
    int *exit);

/* Prints a reply as one line of JSON; EXIT_DONE or, when it has no JSON
 * form, EXIT_DAEMON after saying why. */
int client_print_json(const msgpack_object *o);

#endif
