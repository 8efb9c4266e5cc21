/* abort: stop session trees and report, per tree, whether the stop was
 * verified. Also what bare "ocstop" runs. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "text.h"

/* The reply is owed as soon as the daemon's wait ends
 * (proto_stop_longest_ms); this covers the daemon's own work and a loaded
 * machine. */
#define ABORT_MARGIN_MS 5000

/* One entry of results, checked. Strings are borrowed from the reply. */
struct abort_result {
	const char *session;
	size_t session_len;
	bool stopped;
	uint32_t children;
	bool has_ms;
	int64_t ms;
	const char *reason; /* NULL when absent */
	size_t reason_len;
	bool fenced;
	uint32_t background;
	int64_t refused_tools, refused_requests, held;
	const msgpack_object_array *processes; /* checked; NULL when absent */
};

static int cmd_abort_exec(const struct client_opts *o, int argc, char **argv);
static void abort_pack(const struct client_opts *o, msgpack_packer *pk, int argc, char **argv,
    const char *dir);
static int abort_parse(const msgpack_object *m, struct abort_result *res);
static bool abort_failed(const struct client_opts *o, const struct abort_result *res);
static int abort_print(const struct client_opts *o, const struct abort_result *res);
static int abort_print_all(const struct client_opts *o, const struct abort_result *res, uint32_t n);

const struct cmd_entry cmd_abort_entry = {
	.name = "abort",
	.min_args = 0,
	.max_args = -1,
	.abort_options = true,
	.exec = cmd_abort_exec,
};

/* params: [{session | sessions | directory | all, wait?, timeout_ms?, force?}] */
static void abort_pack(const struct client_opts *o, msgpack_packer *pk, int argc, char **argv,
    const char *dir)
{
	int i, n;

	n = (argc > 0) + (dir != NULL) + o->all + o->no_wait + (o->timeout_ms > 0) + o->force;
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, (size_t)n);
	if (argc == 1) {
		proto_pack_kv_str(pk, "session", argv[0]);
	} else if (argc > 1) {
		proto_pack_cstr(pk, "sessions");
		msgpack_pack_array(pk, (size_t)argc);
		for (i = 0; i < argc; i++)
			proto_pack_cstr(pk, argv[i]);
	}
	if (dir != NULL)
		proto_pack_kv_str(pk, "directory", dir);
	if (o->all)
		proto_pack_kv_bool(pk, "all", true);
	if (o->no_wait)
		proto_pack_kv_bool(pk, "wait", false);
	if (o->timeout_ms > 0)
		proto_pack_kv_int(pk, "timeout_ms", o->timeout_ms);
	if (o->force)
		proto_pack_kv_bool(pk, "force", true);
}

/* processes[i]: {pid, command, signal, ms} */
static int abort_parse_process(const msgpack_object *m)
{
	const char *s;
	size_t len;
	int64_t v;

	if (m->type != MSGPACK_OBJECT_MAP || proto_map_int(m, "pid", &v) != PROTO_OK ||
	    proto_map_int(m, "ms", &v) != PROTO_OK ||
	    proto_map_str(m, "command", &s, &len) != PROTO_OK ||
	    proto_map_str(m, "signal", &s, &len) != PROTO_OK)
		return client_malformed("a result's process is not {pid, command, signal, ms}");
	return EXIT_DONE;
}

/* What the fences did: refused {tools, requests}, held. All optional (a
 * daemon of protocol 3 sends none). */
static int parse_fences(const msgpack_object *m, struct abort_result *res)
{
	const msgpack_object *refused = proto_map_get(m, "refused");
	const msgpack_object_array *background = NULL;

	if (proto_map_bool(m, "fenced", &res->fenced) == PROTO_ERR ||
	    proto_map_array(m, "background", &background) == PROTO_ERR ||
	    proto_map_int(m, "held", &res->held) == PROTO_ERR ||
	    (refused != NULL && refused->type != MSGPACK_OBJECT_MAP) ||
	    (refused != NULL &&
		(proto_map_int(refused, "tools", &res->refused_tools) == PROTO_ERR ||
		    proto_map_int(refused, "requests", &res->refused_requests) == PROTO_ERR)))
		return client_malformed("result fenced, background, refused or held is malformed");
	res->background = background != NULL ? background->size : 0;
	return EXIT_DONE;
}

/* results[i]: {session, stopped, children?, ms?, reason?, fenced?, ...} */
static int abort_parse(const msgpack_object *m, struct abort_result *res)
{
	const msgpack_object_array *children = NULL;
	uint32_t i;
	int st;

	memset(res, 0, sizeof *res);
	if (m->type != MSGPACK_OBJECT_MAP)
		return client_malformed("a result is not a map");
	if (proto_map_str(m, "session", &res->session, &res->session_len) != PROTO_OK)
		return client_malformed("a result has no session");
	if (proto_map_bool(m, "stopped", &res->stopped) != PROTO_OK)
		return client_malformed("result stopped is missing or not a bool");
	if (proto_map_array(m, "children", &children) == PROTO_ERR)
		return client_malformed("result children is not an array");
	for (i = 0; children != NULL && i < children->size; i++) {
		if (children->ptr[i].type != MSGPACK_OBJECT_STR)
			return client_malformed("a result child is not a session id");
	}
	res->children = children != NULL ? children->size : 0;
	if ((st = proto_map_int(m, "ms", &res->ms)) == PROTO_ERR)
		return client_malformed("result ms is not an integer");
	res->has_ms = st == PROTO_OK;
	if (proto_map_str(m, "reason", &res->reason, &res->reason_len) == PROTO_ERR)
		return client_malformed("result reason is not a string");
	if (proto_map_array(m, "processes", &res->processes) == PROTO_ERR)
		return client_malformed("result processes is not an array");
	for (i = 0; res->processes != NULL && i < res->processes->size; i++)
		if ((st = abort_parse_process(&res->processes->ptr[i])) != EXIT_DONE)
			return st;
	return parse_fences(m, res);
}

/* Not stopped, and not merely pending because we asked not to wait. */
static bool abort_failed(const struct client_opts *o, const struct abort_result *res)
{
	if (res->stopped)
		return false;
	return !(o->no_wait && res->reason != NULL && res->reason_len == 7 &&
	    memcmp(res->reason, "pending", 7) == 0);
}

static const char *plural(int64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Under a finished stop's line, what the fences did, or that none held. */
static void print_fences(const struct abort_result *res)
{
	if (!res->fenced) {
		puts("  no fence held: no ocstop plugin in that OpenCode; a queued message may "
		     "still start a turn");
		return;
	}
	if (res->refused_tools + res->refused_requests + res->held == 0)
		return;
	printf("  fences: %" PRId64 " %s and %" PRId64 " model %s refused, %" PRId64
	       " queued %s held\n",
	    res->refused_tools, plural(res->refused_tools, "tool call", "tool calls"),
	    res->refused_requests, plural(res->refused_requests, "request", "requests"), res->held,
	    plural(res->held, "message", "messages"));
}

/* A line per process the stop ended, under its tree's:
 *     ended process 4242 (sleep 300): TERM, gone in 3 ms */
static int abort_print_processes(const struct abort_result *res)
{
	const msgpack_object *m;
	const char *cmd, *sig;
	size_t cmd_len, sig_len;
	int64_t pid, ms;
	char *c, *g;
	uint32_t i;

	for (i = 0; res->processes != NULL && i < res->processes->size; i++) {
		m = &res->processes->ptr[i];
		proto_map_int(m, "pid", &pid);
		proto_map_int(m, "ms", &ms);
		proto_map_str(m, "command", &cmd, &cmd_len);
		proto_map_str(m, "signal", &sig, &sig_len);
		c = text_safe(cmd, cmd_len);
		g = text_safe(sig, sig_len);
		if (c == NULL || g == NULL) {
			free(c);
			free(g);
			return client_oom();
		}
		if (ms >= 0)
			printf("  ended process %" PRId64 " (%s): %s, gone in %" PRId64 " ms\n",
			    pid, c, g, ms);
		else
			printf("  ended process %" PRId64 " (%s): %s, not seen gone\n", pid, c, g);
		free(c);
		free(g);
	}
	return EXIT_DONE;
}

/* One line per tree, then what the fences did and the processes it ended:
 *   stopped ses_abc (2 children, 1 in the background) in 23 ms (verified)
 *     fences: 1 tool call and 0 model requests refused, 2 queued messages held
 *     ended process 4242 (sleep 300): TERM, gone in 3 ms
 *   NOT stopped ses_abc: reason
 *   abort sent to ses_abc (2 children)      (--no-wait) */
static int abort_print(const struct client_opts *o, const struct abort_result *res)
{
	char *session, *reason = NULL, children[64] = "", ms[32] = "";

	if ((session = text_safe(res->session, res->session_len)) == NULL ||
	    (res->reason != NULL && (reason = text_safe(res->reason, res->reason_len)) == NULL)) {
		free(session);
		return client_oom();
	}
	if (res->background > 0)
		snprintf(children, sizeof children,
		    " (%" PRIu32 " %s, %" PRIu32 " in the background)", res->children,
		    plural(res->children, "child", "children"), res->background);
	else if (res->children > 0)
		snprintf(children, sizeof children, " (%" PRIu32 " %s)", res->children,
		    plural(res->children, "child", "children"));
	if (res->has_ms)
		snprintf(ms, sizeof ms, " in %" PRId64 " ms", res->ms);
	if (res->stopped)
		printf("stopped %s%s%s (verified)\n", session, children, ms);
	else if (!abort_failed(o, res))
		printf("abort sent to %s%s\n", session, children);
	else
		printf("NOT stopped %s%s: %s\n", session, children,
		    reason != NULL ? reason : "not verified");
	if (res->stopped || abort_failed(o, res))
		print_fences(res);
	free(session);
	free(reason);
	return abort_print_processes(res);
}

static int abort_print_all(const struct client_opts *o, const struct abort_result *res, uint32_t n)
{
	uint32_t i;
	int rc = EXIT_DONE;

	if (n == 0)
		puts("nothing to stop");
	for (i = 0; i < n && rc == EXIT_DONE; i++)
		rc = abort_print(o, &res[i]);
	return rc;
}

/* The ids under key (not_found, unchecked), each checked; NULL when a
 * daemon before them left the key out. */
static int abort_ids(const msgpack_object *r, const char *key, const msgpack_object_array **ids)
{
	uint32_t i;

	*ids = NULL;
	if (proto_map_array(r, key, ids) == PROTO_ERR)
		return client_malformed("%s is not an array", key);
	for (i = 0; *ids != NULL && i < (*ids)->size; i++)
		if ((*ids)->ptr[i].type != MSGPACK_OBJECT_STR)
			return client_malformed("%s holds something that is not a session id", key);
	return EXIT_DONE;
}

/* One line per id: what it is, and for one not looked up, where to see why. */
static int abort_print_ids(const msgpack_object_array *ids, const char *what)
{
	uint32_t i;
	char *id;

	for (i = 0; ids != NULL && i < ids->size; i++) {
		if ((id = text_safe(ids->ptr[i].via.str.ptr, ids->ptr[i].via.str.size)) == NULL)
			return client_oom();
		printf("%s %s\n", id, what);
		free(id);
	}
	return EXIT_DONE;
}

/* An error reply. Without the session, with -j, the error as [code,
 * message] (the codes PROTOCOL.md's table gives, whichever form the daemon
 * sent), so that a script reads not_found as it reads a result. */
static int abort_error(const struct client_opts *o, struct conn *c, int st, char *cause)
{
	int code = conn_error_code(c);
	const char *text = conn_error_text(c);
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	int rc;

	if (o->json && text != NULL) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 1);
		proto_pack_cstr(&pk, "error");
		msgpack_pack_array(&pk, 2);
		msgpack_pack_int(&pk, code);
		proto_pack_cstr(&pk, text);
		msgpack_unpacked_init(&u);
		if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
			client_print_json(&u.data);
		msgpack_unpacked_destroy(&u);
		msgpack_sbuffer_destroy(&sb);
	}
	rc = client_fail(st, cause);
	return code == PROTO_ENOTFOUND ? EXIT_NOT_FOUND : rc;
}

static int cmd_abort_exec(const struct client_opts *o, int argc, char **argv)
{
	const msgpack_object *r;
	const msgpack_object_array *results, *not_found, *unchecked;
	struct abort_result *res = NULL;
	struct conn *c;
	char *dir = NULL, *cause;
	int64_t wait, deadline;
	bool failed = false;
	uint32_t i;
	int rc = EXIT_DONE, st;

	if (o->all && (argc > 0 || o->dir != NULL)) {
		fputs("ocstop: --all goes alone, without SESSION or --dir\n", stderr);
		return EXIT_FAIL;
	}
	if (argc > 0 && o->dir != NULL) {
		fputs("ocstop: give SESSION or --dir, not both\n", stderr);
		return EXIT_FAIL;
	}
	/* OpenCode reports a session's directory resolved; so must we. */
	if (o->dir != NULL || (argc == 0 && !o->all)) {
		if ((dir = realpath(o->dir != NULL ? o->dir : ".", NULL)) == NULL) {
			fprintf(stderr, "ocstop: %s: %s\n", o->dir != NULL ? o->dir : ".",
			    strerror(errno));
			return EXIT_FAIL;
		}
	}

	/* Without --timeout the daemon's configured wait applies, which we do
	 * not know, only its bound. */
	wait = o->no_wait
	    ? 0
	    : proto_stop_longest_ms(o->timeout_ms > 0 ? o->timeout_ms : ABORT_TIMEOUT_MAX_MS,
		  o->force);
	deadline = conn_deadline(wait + ABORT_MARGIN_MS);
	if ((c = client_connect(o, deadline)) == NULL) {
		free(dir);
		return EXIT_FAIL;
	}
	abort_pack(o, conn_request(c, PROTO_M_ABORT), argc, argv, dir);
	if ((st = conn_call(c, deadline, &r, &cause)) != CONN_OK) {
		rc = st == CONN_EREPLY ? abort_error(o, c, st, cause) : client_fail(st, cause);
		goto out;
	}

	/* Check every result before printing any. */
	if (proto_map_array(r, "results", &results) != PROTO_OK) {
		rc = client_malformed("abort result has no results array");
		goto out;
	}
	if (results->size > 0 && (res = calloc(results->size, sizeof *res)) == NULL) {
		rc = client_oom();
		goto out;
	}
	for (i = 0; i < results->size; i++) {
		if ((rc = abort_parse(&results->ptr[i], &res[i])) != EXIT_DONE)
			goto out;
		failed |= abort_failed(o, &res[i]);
	}
	if ((rc = abort_ids(r, "not_found", &not_found)) != EXIT_DONE ||
	    (rc = abort_ids(r, "unchecked", &unchecked)) != EXIT_DONE)
		goto out;

	if (!o->quiet && o->json)
		rc = client_print_json(r);
	else if (!o->quiet && (rc = abort_print_all(o, res, results->size)) == EXIT_DONE &&
	    (rc = abort_print_ids(not_found, "not found: no OpenCode server knows it")) ==
		EXIT_DONE)
		rc = abort_print_ids(unchecked,
		    "not looked up: an OpenCode server could not be asked (see ocstop status)");
	/* What the user must act on first: a stop that did not hold, then an
	 * OpenCode that could not be asked, then a session that is not there. */
	if (rc == EXIT_DONE && failed)
		rc = EXIT_NOT_STOPPED;
	else if (rc == EXIT_DONE && unchecked != NULL && unchecked->size > 0)
		rc = EXIT_DAEMON;
	else if (rc == EXIT_DONE && not_found != NULL && not_found->size > 0)
		rc = EXIT_NOT_FOUND;
out:
	free(res);
	free(dir);
	conn_free(c);
	return rc;
}
