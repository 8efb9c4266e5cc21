/* doctor: walks the chain a stop takes (socket, daemon, OpenCode, shim,
 * stop words, systemd units) and says what is wrong and how to fix it. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "plugin.h"
#include "text.h"

/* The oldest daemon whose abort and status this ocstop reads. */
#define DOCTOR_MIN_PROTOCOL 4
/* How long one systemctl may take; it can hang on a wedged bus. */
#define DOCTOR_SYSTEMCTL_MS 2000
/* How often its exit is looked for once its output ended. */
#define DOCTOR_WAIT_STEP_NS (10 * 1000 * 1000)
/* What of its output is read. */
#define DOCTOR_SYSTEMCTL_OUT 256
/* Room for the stop words in one line (16 of at most 128 bytes each). */
#define DOCTOR_WORDS_BYTES 4096
/* The unit a package enables for every user. */
#define DOCTOR_UNIT "ocstopd.socket"
#define FIX_START \
	"systemctl --user enable --now " DOCTOR_UNIT \
	", or start ocstopd yourself (ocstopd --log FILE &)"

static int cmd_doctor_exec(const struct client_opts *o, int argc, char **argv);

const struct cmd_entry cmd_doctor_entry = {
	.name = "doctor",
	.min_args = 0,
	.max_args = 0,
	.local = true,
	.exec = cmd_doctor_exec,
};

enum level { OK, WARN, FAIL };

struct doctor {
	json_t *checks; /* [{check, status, detail, fix}] */
	bool oom;
	bool failed;
	/* What later checks need of earlier ones. */
	const char *shim;
	int copies;          /* of the shim OpenCode would load */
	int shims_installed; /* of them, links to the installed shim */
	const msgpack_object *status;
	bool servers_connected;
};

static void say(struct doctor *d, enum level lv, const char *check, const char *fix,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One check's line: its level, what was found, and the fix when not ok. */
static void say(struct doctor *d, enum level lv, const char *check, const char *fix,
    const char *fmt, ...)
{
	static const char *const names[] = { "ok", "warn", "fail" };
	char *detail = NULL, *safe, *p;
	json_t *j;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (lv == FAIL)
		d->failed = true;
	if (n < 0 || (safe = text_safe(detail, (size_t)n)) == NULL) {
		d->oom = true;
		free(n >= 0 ? detail : NULL);
		return;
	}
	free(detail);
	/* A path need not be UTF-8; JSON must be. */
	if (!proto_utf8_valid(safe, strlen(safe)))
		for (p = safe; *p != '\0'; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	j = json_pack("{s:s, s:s, s:s, s:s?}", "check", check, "status", names[lv], "detail", safe,
	    "fix", fix);
	if (j == NULL || json_array_append_new(d->checks, j) == -1)
		d->oom = true;
	free(safe);
}

/* A NUL-terminated copy of a str from the daemon (say() makes it safe to
 * show); "?" when memory runs out. Caller frees. */
static char *shown(const char *s, size_t len)
{
	char *t = strndup(s, len);

	return t != NULL ? t : strdup("?");
}

/* ---- the socket ---- */

static bool check_socket(struct doctor *d, const struct client_opts *o, char *path, size_t size)
{
	const char *why = NULL, *rule;
	char dir[PROTO_MAX_SOCKET_PATH + 1];
	struct stat st;

	if (o->socket != NULL) {
		rule = "-s";
		if (snprintf(path, size, "%s", o->socket) >= (int)size) {
			path[0] = '\0';
			say(d, FAIL, "socket", "give a shorter path",
			    "%s (from -s): too long for a Unix socket", o->socket);
			return false;
		}
	} else if (proto_socket_path(path, size, &why) == -1) {
		path[0] = '\0';
		say(d, FAIL, "socket",
		    "set $" PROTO_ENV_SOCKET " to a short absolute path, or use -s", "%s", why);
		return false;
	} else {
		rule = proto_socket_rule_name(proto_socket_rule());
	}
	if (proto_socket_dir(path, dir, sizeof dir) == -1 || lstat(dir, &st) == -1) {
		if (errno == ENOENT)
			say(d, FAIL, "socket", FIX_START,
			    "%s (from %s): its folder %s does not exist: no daemon has listened "
			    "there",
			    path, rule, dir);
		else
			say(d, FAIL, "socket", "check the path", "%s (from %s): %s", path, rule,
			    strerror(errno));
		return false;
	}
	if ((why = proto_socket_dir_refusal(st.st_mode, st.st_uid, geteuid())) != NULL) {
		say(d, FAIL, "socket",
		    "remove that folder (another user may have made it) and start ocstopd again",
		    "%s (from %s): its folder %s %s (owner uid %u, mode %03o)", path, rule, dir,
		    why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return false;
	}
	if (lstat(path, &st) == -1) {
		say(d, FAIL, "socket", FIX_START,
		    "%s (from %s): no socket there: ocstopd is not running", path, rule);
		return false;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		say(d, FAIL, "socket", "remove it and start ocstopd again",
		    "%s (from %s) is not a socket of yours", path, rule);
		return false;
	}
	say(d, OK, "socket", NULL, "%s (from %s), in a folder only you can enter", path, rule);
	return true;
}

/* ---- the daemon ---- */

static struct conn *check_daemon(struct doctor *d, const char *path)
{
	int64_t deadline = conn_deadline(CLIENT_TIMEOUT_MS), protocol;
	const msgpack_object *r;
	const char *version;
	struct conn *c;
	char *cause, *v;
	size_t len;
	int st;

	if ((c = conn_open(path, deadline, &cause)) == NULL) {
		say(d, FAIL, "daemon", FIX_START, "not reachable: %s", cause != NULL ? cause : "?");
		free(cause);
		return NULL;
	}
	msgpack_pack_array(conn_request(c, PROTO_M_PING), 0);
	if ((st = conn_call(c, deadline, &r, &cause)) != CONN_OK ||
	    proto_map_str(r, "version", &version, &len) != PROTO_OK ||
	    proto_map_int(r, "protocol", &protocol) != PROTO_OK) {
		say(d, FAIL, "daemon", "restart ocstopd", "does not answer ping: %s",
		    st != CONN_OK && cause != NULL ? cause : "a malformed reply");
		free(cause);
		conn_free(c);
		return NULL;
	}
	v = shown(version, len);
	if (protocol < DOCTOR_MIN_PROTOCOL)
		say(d, FAIL, "daemon", "upgrade ocstop, then restart ocstopd",
		    "ocstopd %s speaks protocol %" PRId64 ", too old for this ocstop %s "
		    "(protocol %d)",
		    v, protocol, OCSTOP_VERSION, PROTO_VERSION);
	else if (protocol != PROTO_VERSION)
		say(d, WARN, "daemon",
		    "restart ocstopd after an upgrade (systemctl --user restart ocstopd)",
		    "ocstopd %s speaks protocol %" PRId64 ", this ocstop %s protocol %d", v,
		    protocol, OCSTOP_VERSION, PROTO_VERSION);
	else
		say(d, OK, "daemon", NULL, "ocstopd %s answers (protocol %" PRId64 ")", v,
		    protocol);
	free(v);
	if (protocol < DOCTOR_MIN_PROTOCOL) {
		conn_free(c);
		return NULL;
	}
	return c;
}

/* ---- OpenCode, as the daemon reaches it ---- */

/* A server's str field key, safe to show; "-" when nil. Caller frees. */
static char *field(const msgpack_object *m, const char *key)
{
	const char *s;
	size_t len;

	if (proto_map_str(m, key, &s, &len) != PROTO_OK)
		return strdup("-");
	return shown(s, len);
}

/* The servers the daemon knows: reachable, authorised, their version. A
 * server that is down fails only when no other way to OpenCode works (see
 * the exit status in --help). */
static void check_servers(struct doctor *d)
{
	const msgpack_object_array *a;
	const msgpack_object *m;
	bool connected, implicit, shim;
	char *url, *version, *error, *transport;
	uint32_t i;
	int pass;

	if (proto_map_array(d->status, "servers", &a) != PROTO_OK) {
		say(d, FAIL, "opencode", "restart ocstopd",
		    "status has no servers: a malformed reply");
		return;
	}
	for (i = 0; i < a->size; i++)
		if (a->ptr[i].type == MSGPACK_OBJECT_MAP &&
		    proto_map_bool(&a->ptr[i], "connected", &connected) == PROTO_OK && connected)
			d->servers_connected = true;
	/* Two passes: the connected ones decide what a server down means. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < a->size; i++) {
			m = &a->ptr[i];
			connected = implicit = shim = false;
			if (m->type != MSGPACK_OBJECT_MAP ||
			    proto_map_bool(m, "connected", &connected) != PROTO_OK)
				continue;
			proto_map_bool(m, "implicit", &implicit);
			proto_map_bool(m, "shim", &shim);
			if (connected != (pass == 0))
				continue;
			url = field(m, "url");
			version = field(m, "version");
			error = field(m, "last_error");
			transport = field(m, "transport");
			if (connected)
				say(d, OK, "opencode", NULL, "%s: reached (%s), OpenCode %s", url,
				    transport, version);
			else if (implicit)
				say(d, OK, "opencode", NULL,
				    "%s: nothing runs there (the default address; none configured)",
				    url);
			else if (strstr(error, "401") != NULL)
				say(d, FAIL, "opencode",
				    "give ocstopd OpenCode's password: OPENCODE_SERVER_PASSWORD in its "
				    "environment (systemctl --user edit ocstopd) or password_file in its "
				    "config, then restart it",
				    "%s: refuses ocstopd's password (%s)", url, error);
			else {
				say(d, d->servers_connected || d->shims_installed > 0 ? WARN : FAIL,
				    "opencode",
				    "start that OpenCode (opencode serve), or take its URL out of "
				    "ocstopd's configuration",
				    "%s: not reachable: %s", url, error);
			}
			free(url);
			free(version);
			free(error);
			free(transport);
		}
	}
	if (!d->servers_connected)
		say(d, d->shims_installed > 0 ? OK : FAIL, "opencode",
		    d->shims_installed > 0 ? NULL : "ocstop install-plugin, then restart OpenCode",
		    "no OpenCode is reachable now%s",
		    d->shims_installed > 0 ? "; the next one started loads the shim" : "");
}

/* The OpenCode processes whose shim registered: which versions. */
static void check_registered(struct doctor *d)
{
	const msgpack_object_array *a;
	const msgpack_object *m;
	char *version, *transport;
	int64_t pid;
	bool shim;
	uint32_t i;
	int n = 0;

	if (proto_map_array(d->status, "servers", &a) != PROTO_OK)
		return;
	for (i = 0; i < a->size; i++) {
		m = &a->ptr[i];
		shim = false;
		if (m->type != MSGPACK_OBJECT_MAP || proto_map_bool(m, "shim", &shim) != PROTO_OK ||
		    !shim)
			continue;
		pid = 0;
		proto_map_int(m, "pid", &pid);
		version = field(m, "version");
		transport = field(m, "transport");
		say(d, OK, "registered", NULL, "OpenCode %s (pid %" PRId64 ") loaded the shim (%s)",
		    version, pid, transport);
		free(version);
		free(transport);
		n++;
	}
	if (n == 0 && proto_map_get(d->status, "stop_words") == NULL)
		say(d, WARN, "registered", "restart ocstopd after an upgrade",
		    "not told: this ocstopd is older than protocol 5");
	else if (n == 0)
		say(d, WARN, "registered",
		    d->copies > 0 ? "restart an OpenCode that started before the shim was installed"
				  : "ocstop install-plugin, then restart OpenCode",
		    "no OpenCode has registered its shim yet (OpenCode loads it for a folder when "
		    "it first works there): typing x is not seen where none is loaded");
}

static void check_words(struct doctor *d)
{
	const msgpack_object_array *a;
	char words[DOCTOR_WORDS_BYTES], *w;
	size_t len = 0;
	uint32_t i;

	if (proto_map_array(d->status, "stop_words", &a) != PROTO_OK) {
		say(d, WARN, "stop words", "restart ocstopd after an upgrade",
		    "not told: this ocstopd is older than protocol 5");
		return;
	}
	words[0] = '\0';
	for (i = 0; i < a->size && len < sizeof words; i++) {
		if (a->ptr[i].type != MSGPACK_OBJECT_STR)
			continue;
		w = shown(a->ptr[i].via.str.ptr, a->ptr[i].via.str.size);
		len +=
		    (size_t)snprintf(words + len, sizeof words - len, "%s%s", i > 0 ? ", " : "", w);
		free(w);
	}
	say(d, a->size > 0 ? OK : FAIL, "stop words",
	    a->size > 0 ? NULL : "set stop_words in ocstopd's config", "%s",
	    a->size > 0 ? words : "none");
}

/* ---- the shim ---- */

static void count_installed(void *arg, const struct plugin_copy *c)
{
	struct doctor *d = arg;

	if (c->same_file)
		d->shims_installed++;
}

static void shim_copy(void *arg, const struct plugin_copy *c)
{
	struct doctor *d = arg;
	struct stat st;

	d->copies++;
	if (c->ours && c->same_file) {
		say(d, OK, "shim", NULL, "installed: %s -> %s", c->path, c->target);
	} else if (c->target != NULL && stat(c->path, &st) == -1) {
		say(d, FAIL, "shim",
		    "ocstop uninstall-plugin (or rm it), then ocstop install-plugin",
		    "%s -> %s, which is missing: OpenCode fails to load it", c->path, c->target);
	} else if (c->target != NULL && !c->same_file) {
		say(d, WARN, "shim", "rm it, then ocstop install-plugin",
		    "%s -> %s: not the installed shim (%s), so upgrades pass it by", c->path,
		    c->target, d->shim);
	} else if (c->target == NULL) {
		say(d, WARN, "shim", "rm it, then ocstop install-plugin",
		    "%s is a copy of the shim, not a link: upgrades pass it by", c->path);
	} else {
		say(d, OK, "shim", NULL, "installed: %s -> %s (the installed shim)", c->path,
		    c->target);
	}
}

static void check_shim(struct doctor *d)
{
	struct stat st;

	if (stat(d->shim, &st) == -1)
		say(d, WARN, "shim", "reinstall ocstop, or point $" PLUGIN_ENV_SHIM " at ocstop.js",
		    "the installed shim is not at %s (%s)", d->shim, strerror(errno));
	plugin_scan(d->shim, shim_copy, d);
	if (d->copies == 0)
		/* Whether that fails depends on OpenCode: told with the servers. */
		say(d, WARN, "shim", "ocstop install-plugin, then restart OpenCode",
		    "not installed in any folder OpenCode loads plugins from (run from here): "
		    "typing x is not seen, only ocstop stops");
	else if (d->copies > 1)
		say(d, WARN, "shim", "keep one: ocstop install-plugin's link, and rm the others",
		    "%d copies load in OpenCode started here: each would answer an x", d->copies);
}

/* ---- the systemd units ---- */

/* systemctl past its deadline: ended, and said so. */
static int give_up(pid_t pid, const char **why)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	*why = "systemctl did not answer in time";
	return -1;
}

/* Runs systemctl --user VERB DOCTOR_UNIT with a deadline; its first line
 * of output into out. -1 with why (static or out) when it could not tell. */
static int systemctl(const char *verb, char *out, size_t size, const char **why)
{
	char *const argv[] = { "systemctl", "--user", (char *)verb, DOCTOR_UNIT, NULL };
	int64_t deadline = conn_deadline(DOCTOR_SYSTEMCTL_MS), left;
	int fds[2], status = 0, r = 0;
	size_t len = 0;
	struct pollfd p;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		*why = "no pipe";
		return -1;
	}
	if ((pid = fork()) == -1) {
		close(fds[0]);
		close(fds[1]);
		*why = "cannot fork";
		return -1;
	}
	if (pid == 0) {
		/* dup2 gives stdin its own descriptor; this one ends at exec. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		dup2(null, 0);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	p = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	for (;;) {
		if ((left = deadline - conn_deadline(0)) <= 0 ||
		    ((r = poll(&p, 1, (int)left)) == -1 && errno != EINTR) || r == 0) {
			close(fds[0]);
			return give_up(pid, why);
		}
		if (r == -1)
			continue;
		n = read(fds[0], out + len, size - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == size - 1)
			break;
	}
	close(fds[0]);
	out[len] = '\0';
	out[strcspn(out, "\n")] = '\0';
	/* Its output ended; it may still hang (a descendant holding the pipe
	 * open ends the read just as well): the same deadline holds. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (conn_deadline(0) >= deadline)
			return give_up(pid, why);
		nanosleep(&(struct timespec){ .tv_nsec = DOCTOR_WAIT_STEP_NS }, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		*why = "no systemctl";
		return -1;
	}
	if (strstr(out, "Failed to connect") != NULL || strstr(out, "not been booted") != NULL) {
		*why = out;
		return -1;
	}
	return 0;
}

static void check_units(struct doctor *d, bool daemon_up)
{
	char enabled[DOCTOR_SYSTEMCTL_OUT], active[DOCTOR_SYSTEMCTL_OUT],
	    reason[DOCTOR_SYSTEMCTL_OUT];
	const char *why = NULL;

	if (systemctl("is-enabled", enabled, sizeof enabled, &why) == -1 ||
	    systemctl("is-active", active, sizeof active, &why) == -1) {
		snprintf(reason, sizeof reason, "%s", why);
		say(d, WARN, "systemd", NULL, "not checked (no systemd user manager: %s)", reason);
		return;
	}
	if (strcmp(enabled, "enabled") == 0 && strcmp(active, "active") == 0)
		say(d, OK, "systemd", NULL, DOCTOR_UNIT " is enabled and listening");
	else if (enabled[0] == '\0' || strstr(enabled, "No such file") != NULL ||
	    strstr(enabled, "not-found") != NULL)
		say(d, daemon_up ? OK : WARN, "systemd", daemon_up ? NULL : FIX_START,
		    DOCTOR_UNIT " is not installed%s",
		    daemon_up ? " (ocstopd runs all the same)" : "");
	else
		say(d, daemon_up ? WARN : FAIL, "systemd",
		    "systemctl --user enable --now " DOCTOR_UNIT,
		    DOCTOR_UNIT " is %s and %s: ocstopd does not start at login", enabled, active);
}

/* ---- the report ---- */

static int report(struct doctor *d, const struct client_opts *o)
{
	static const char *const shown_level[] = { "ok", "warn", "FAIL" };
	json_t *j, *c;
	const char *status, *fix;
	size_t i;
	int lv;

	if (d->oom)
		return client_oom();
	if (o->json) {
		if ((j = json_pack("{s:b, s:O}", "ok", !d->failed, "checks", d->checks)) == NULL)
			return client_oom();
		json_dumpf(j, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(j);
	} else if (!o->quiet) {
		json_array_foreach(d->checks, i, c) {
			status = json_string_value(json_object_get(c, "status"));
			lv = strcmp(status, "ok") == 0    ? OK
			    : strcmp(status, "warn") == 0 ? WARN
							  : FAIL;
			fix = json_string_value(json_object_get(c, "fix"));
			printf("%-4s  %s: %s%s%s\n", shown_level[lv],
			    json_string_value(json_object_get(c, "check")),
			    json_string_value(json_object_get(c, "detail")),
			    fix != NULL && lv != OK ? " — fix: " : "",
			    fix != NULL && lv != OK ? fix : "");
		}
		puts(d->failed ? "a stop would not work: see FAIL above" : "a stop would work");
	}
	return d->failed ? EXIT_FAIL : EXIT_DONE;
}

static int cmd_doctor_exec(const struct client_opts *o, int argc, char **argv)
{
	struct doctor d = { 0 };
	char path[PROTO_MAX_SOCKET_PATH + 1] = "";
	struct conn *c = NULL;
	int rc, st;
	char *cause;

	(void)argc;
	(void)argv;
	if ((d.checks = json_array()) == NULL)
		return client_oom();
	/* What is installed decides what a server down means. */
	d.shim = plugin_shim_path();
	plugin_scan(d.shim, count_installed, &d);
	/* conn_open refuses what check_socket did, and says why: both show. */
	if (check_socket(&d, o, path, sizeof path) || path[0] != '\0')
		c = check_daemon(&d, path);
	if (c != NULL) {
		msgpack_pack_array(conn_request(c, PROTO_M_STATUS), 0);
		if ((st = conn_call(c, conn_deadline(CLIENT_TIMEOUT_MS), &d.status, &cause)) !=
		    CONN_OK) {
			say(&d, FAIL, "daemon", "restart ocstopd", "status failed: %s",
			    cause != NULL ? cause : "out of memory");
			free(cause);
			d.status = NULL;
		}
	}
	if (d.status != NULL)
		check_servers(&d);
	check_shim(&d);
	if (d.status != NULL) {
		check_registered(&d);
		check_words(&d);
	}
	check_units(&d, c != NULL);
	rc = report(&d, o);
	conn_free(c);
	json_decref(d.checks);
	return rc;
}
