/* status: the OpenCode servers and sessions the daemon knows, and its
 * counters. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "text.h"

static int cmd_status_exec(const struct client_opts *o, int argc, char **argv);
static int status_cell(struct table *t, const msgpack_object *m, const char *what, const char *key,
    bool required);
static int status_servers(const msgpack_object *r, struct table *t);
static int status_sessions(const msgpack_object *r, struct table *t);
static int status_counters(const msgpack_object *r, const msgpack_object **out);
static int status_print(const msgpack_object *r);

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_status_exec,
};

/* Adds m[key], a string, as the next cell; "-" when optional and absent. */
static int status_cell(struct table *t, const msgpack_object *m, const char *what, const char *key,
    bool required)
{
	const char *s = NULL;
	size_t len = 0;
	int st;

	st = proto_map_str(m, key, &s, &len);
	if (st == PROTO_ERR || (st == PROTO_AGAIN && required))
		return client_malformed("%s %s is missing or not a string", what, key);
	if (table_add(t, s, len) == -1)
		return client_oom();
	return EXIT_DONE;
}

#define ABSENT_NOTE "(the default address; none configured)"

/* servers: [{url, connected, version, last_error, transport, implicit}] */
static int status_servers(const msgpack_object *r, struct table *t)
{
	const msgpack_object_array *a;
	const msgpack_object *m;
	const char *state;
	bool connected, implicit, absent;
	uint32_t i;
	int rc;

	if (proto_map_array(r, "servers", &a) != PROTO_OK)
		return client_malformed("status has no servers array");
	for (i = 0; i < a->size; i++) {
		m = &a->ptr[i];
		if (m->type != MSGPACK_OBJECT_MAP)
			return client_malformed("a server is not a map");
		implicit = false; /* absent from daemons before it */
		if (proto_map_bool(m, "connected", &connected) != PROTO_OK ||
		    proto_map_bool(m, "implicit", &implicit) == PROTO_ERR)
			return client_malformed("server connected or implicit is not a bool");
		/* The default address nobody named, with nothing there: no
		 * OpenCode runs there, which is no failure. */
		absent = implicit && !connected;
		state = connected ? "connected" : absent ? "not running" : "disconnected";
		if ((rc = status_cell(t, m, "server", "url", true)) != EXIT_DONE ||
		    (rc = status_cell(t, m, "server", "transport", false)) != EXIT_DONE)
			return rc;
		if (table_add(t, state, strlen(state)) == -1)
			return client_oom();
		if ((rc = status_cell(t, m, "server", "version", false)) != EXIT_DONE)
			return rc;
		if (absent && table_add(t, ABSENT_NOTE, strlen(ABSENT_NOTE)) == -1)
			return client_oom();
		if (!absent && (rc = status_cell(t, m, "server", "last_error", false)) != EXIT_DONE)
			return rc;
	}
	return EXIT_DONE;
}

/* sessions: [{id, server, directory, parent, status, title}] */
static int status_sessions(const msgpack_object *r, struct table *t)
{
	static const char *const keys[] = { "status", "parent", "directory", "title" };
	const msgpack_object_array *a;
	const msgpack_object *m;
	uint32_t i;
	size_t k;
	int rc;

	if (proto_map_array(r, "sessions", &a) != PROTO_OK)
		return client_malformed("status has no sessions array");
	for (i = 0; i < a->size; i++) {
		m = &a->ptr[i];
		if (m->type != MSGPACK_OBJECT_MAP)
			return client_malformed("a session is not a map");
		if ((rc = status_cell(t, m, "session", "id", true)) != EXIT_DONE)
			return rc;
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			if ((rc = status_cell(t, m, "session", keys[k], false)) != EXIT_DONE)
				return rc;
		}
	}
	return EXIT_DONE;
}

/* counters: {name: count, ...}; *out stays NULL when there are none. */
static int status_counters(const msgpack_object *r, const msgpack_object **out)
{
	const msgpack_object *m = proto_map_get(r, "counters");
	const msgpack_object_kv *kv;
	uint32_t i;

	if (m == NULL || m->type == MSGPACK_OBJECT_NIL)
		return EXIT_DONE;
	if (m->type != MSGPACK_OBJECT_MAP)
		return client_malformed("counters is not a map");
	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->val.type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return client_malformed("a counter is not a name and a count");
	}
	*out = m;
	return EXIT_DONE;
}

/* The counters in words, a line per subject; one this client does not know
 * yet shows by its name on a last line, so that it is never hidden. */
struct counter_word {
	const char *key;
	const char *line;
	const char *words;
};

static const struct counter_word counter_words[] = {
	{ "aborts", "stops", "session trees aborted" },
	{ "verified", "stops", "proven stopped" },
	{ "not_stopped", "stops", "not proven stopped" },
	{ "verdicts_abort", "messages", "stop words that stopped a run" },
	{ "verdicts_clear", "messages", "stop words with nothing running" },
	{ "verdicts_pass", "messages", "passed to the model" },
	{ "clients", "clients", "connections since start" },
	{ "connected", "clients", "connected now" },
	{ "sessions", "sessions", "known" },
	{ "sessions_running", "sessions", "running" },
	{ "session_bytes", "sessions", "bytes of memory" },
	{ "sessions_evicted", "sessions", "idle ones forgotten to make room" },
};

/* The longest line's name and its colon, and a space. */
#define COUNTER_LABEL_WIDTH 9
#define N_COUNTER_WORDS (sizeof counter_words / sizeof counter_words[0])

static const struct counter_word *counter_word(const msgpack_object *key)
{
	size_t i;

	for (i = 0; i < N_COUNTER_WORDS; i++)
		if (strlen(counter_words[i].key) == key->via.str.size &&
		    memcmp(counter_words[i].key, key->via.str.ptr, key->via.str.size) == 0)
			return &counter_words[i];
	return NULL;
}

/* Prints every counter of m that counter_words puts on line (NULL: those it
 * does not know, by their names). */
static void status_print_counter_line(const msgpack_object *m, const char *line)
{
	const char *label = line != NULL ? line : "other";
	const struct counter_word *w;
	const msgpack_object_kv *kv;
	bool first = true;
	char *name;
	uint32_t i;

	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		w = counter_word(&kv->key);
		if (line != NULL ? w == NULL || strcmp(w->line, line) != 0 : w != NULL)
			continue;
		if (first)
			printf("%s:%*s", label, (int)(COUNTER_LABEL_WIDTH - strlen(label)), "");
		printf("%s%" PRIu64 " ", first ? "" : ", ", kv->val.via.u64);
		if (w != NULL) {
			fputs(w->words, stdout);
		} else {
			name = text_safe(kv->key.via.str.ptr, kv->key.via.str.size);
			fputs(name != NULL ? name : "?", stdout);
			free(name);
		}
		first = false;
	}
	if (!first)
		putchar('\n');
}

static void status_print_counters(const msgpack_object *m)
{
	size_t i;

	if (m->via.map.size == 0)
		return;
	putchar('\n');
	for (i = 0; i < N_COUNTER_WORDS; i++)
		if (i == 0 || strcmp(counter_words[i].line, counter_words[i - 1].line) != 0)
			status_print_counter_line(m, counter_words[i].line);
	status_print_counter_line(m, NULL);
}

/* "stop words: x, stop"; nothing from a daemon older than protocol 5.
 * Only checks them unless print. */
static int status_words(const msgpack_object *r, bool print)
{
	const msgpack_object_array *a;
	const msgpack_object *w;
	char *safe;
	uint32_t i;

	if (proto_map_get(r, "stop_words") == NULL)
		return EXIT_DONE;
	if (proto_map_array(r, "stop_words", &a) != PROTO_OK)
		return client_malformed("stop_words is not an array");
	for (i = 0; i < a->size; i++)
		if (a->ptr[i].type != MSGPACK_OBJECT_STR)
			return client_malformed("a stop word is not a string");
	if (!print)
		return EXIT_DONE;
	fputs("\nstop words:", stdout);
	for (i = 0; i < a->size; i++) {
		w = &a->ptr[i];
		if ((safe = text_safe(w->via.str.ptr, w->via.str.size)) == NULL)
			return client_oom();
		printf("%s %s", i == 0 ? "" : ",", safe);
		free(safe);
	}
	putchar('\n');
	return EXIT_DONE;
}

/* A reply must fit in a frame: the daemon lists the running sessions first
 * and as many others as fit, and says so. */
static void status_print_truncated(const msgpack_object *r, const msgpack_object *counters,
    size_t listed)
{
	int64_t total = 0;
	bool cut = false;

	if (proto_map_bool(r, "sessions_truncated", &cut) != PROTO_OK || !cut)
		return;
	if (counters != NULL && proto_map_int(counters, "sessions", &total) == PROTO_OK &&
	    total > (int64_t)listed)
		printf("(%zu of %" PRId64 " sessions listed: the running ones first)\n", listed,
		    total);
	else
		puts("(not every session is listed: the running ones first)");
}

/* Checks the whole reply before printing, so a bad one prints nothing. */
static int status_print(const msgpack_object *r)
{
	static const char *const server_cols[] = {
		"SERVER",
		"TRANSPORT",
		"STATE",
		"VERSION",
		"LAST ERROR",
		NULL,
	};
	static const char *const session_cols[] = {
		"SESSION",
		"STATUS",
		"PARENT",
		"DIRECTORY",
		"TITLE",
		NULL,
	};
	const msgpack_object *counters = NULL;
	struct table *servers, *sessions;
	int rc;

	servers = table_new(server_cols);
	sessions = table_new(session_cols);
	if (servers == NULL || sessions == NULL) {
		rc = client_oom();
		goto out;
	}
	if ((rc = status_servers(r, servers)) != EXIT_DONE ||
	    (rc = status_sessions(r, sessions)) != EXIT_DONE ||
	    (rc = status_counters(r, &counters)) != EXIT_DONE ||
	    (rc = status_words(r, false)) != EXIT_DONE)
		goto out;
	if (table_rows(servers) > 0)
		table_print(servers, stdout);
	else
		puts("no OpenCode servers");
	putchar('\n');
	if (table_rows(sessions) > 0)
		table_print(sessions, stdout);
	else
		puts("no sessions");
	status_print_truncated(r, counters, table_rows(sessions));
	rc = status_words(r, true);
	if (counters != NULL)
		status_print_counters(counters);
out:
	table_free(servers);
	table_free(sessions);
	return rc;
}

static int cmd_status_exec(const struct client_opts *o, int argc, char **argv)
{
	const msgpack_object *r;
	struct conn *c;
	int64_t deadline = conn_deadline(CLIENT_TIMEOUT_MS);
	int rc = EXIT_DONE, st;
	msgpack_packer *pk;
	char *cause;

	(void)argc;
	(void)argv;
	if ((c = client_connect(o, deadline)) == NULL)
		return EXIT_FAIL;
	pk = conn_request(c, PROTO_M_STATUS);
	if (o->limit >= 0) {
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 1);
		proto_pack_kv_int(pk, "limit", o->limit);
	} else {
		msgpack_pack_array(pk, 0);
	}
	if ((st = conn_call(c, deadline, &r, &cause)) != CONN_OK)
		rc = client_fail(st, cause);
	else if (!o->quiet)
		rc = o->json ? client_print_json(r) : status_print(r);
	conn_free(c);
	return rc;
}
