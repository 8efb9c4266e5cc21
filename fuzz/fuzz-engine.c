/*
 * What OpenCode says, through the session table, to the stops: the engine
 * with a fake backend and a clock driven by the input. The input's first
 * byte bounds the session table (small tables evict); then each line is one
 * thing that happens:
 *
 *   e<n><json>  server n's /global/event frame {directory, payload}
 *   r<n><json>  an event payload {type, properties} the relay brings
 *   s<n><json>  a resync: OpenCode's map {id: status} for directory /p
 *   l<n><json>  a listing (array) or a lookup (object) of Session objects
 *   x<n><id>    the stop word typed in session id (message's path: the
 *               shim aborts id itself)
 *   X<id>       the shim says its abort of id failed (x.done)
 *   a<ids>      abort: ids (comma-separated), "*" for all, "/dir" for a directory
 *   A<c>        OpenCode answers the oldest abort: c '1' ok, else an error
 *   P<c>        the oldest probe ends: c '1' found, else failed
 *   C<c>        the oldest status check ends: c '1' answered, else failed
 *   t<ms>       the clock moves on
 *   g<n>        server n's shim disconnects (a relay server goes)
 *
 * Server n is the digit's parity: 0 a configured HTTP server, 1 a relay
 * server that comes back after it went. After every line the host's loop
 * top runs (reap, timer) and the table's invariants are checked; at the end
 * the engine shuts down, and every stop started must have ended exactly
 * once. Memory is checked by LeakSanitizer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/config.h"
#include "core/log.h"
#include "core/select.h"
#include "core/session.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "fuzz.h"
#include "proto.h"

#define FUZZ_MAX_PENDING 64
#define FUZZ_MAX_LINE 4096
#define FUZZ_TIMEOUT_MS 1000

/* A request the fake backend holds until the input answers it. */
struct pending {
	void *priv; /* whose */
	char kind;  /* 'A' abort, 'P' probe, 'C' check: the command that answers it */
	abort_done_cb abort_cb;
	probe_done_cb probe_cb;
	check_done_cb check_cb;
	void *arg;
};

struct world {
	struct config cfg;
	struct engine *e;
	struct server *srv[2]; /* NULL while gone */
	int64_t now, wake;
	bool reap_asked;
	struct pending pending[FUZZ_MAX_PENDING];
	size_t n_pending;
	size_t stops_started, stops_ended;
	size_t max_sessions;
};

/* The fake backend's state for one server: only who it is. */
struct fake {
	struct world *w;
};

static void answer(struct world *w, size_t i, bool ok)
{
	struct pending p = w->pending[i];

	memmove(&w->pending[i], &w->pending[i + 1], (w->n_pending - i - 1) * sizeof(p));
	w->n_pending--;
	if (p.kind == 'P')
		p.probe_cb(p.arg, ok ? PROBE_FOUND : PROBE_FAILED, w->now);
	else if (p.kind == 'C')
		p.check_cb(p.arg, ok, w->now);
	else
		p.abort_cb(p.arg, ok, ok ? NULL : "fuzz: abort failed", w->now);
}

static int fake_open(struct server *s, void *ctx, void *channel, void **priv)
{
	struct fake *f = malloc(sizeof(*f));

	(void)s;
	(void)channel;
	if (f == NULL)
		return -1;
	f->w = ctx;
	*priv = f;
	return 0;
}

/* Every request in flight is answered before close returns. */
static void fake_close(void *priv)
{
	struct fake *f = priv;
	struct world *w = f->w;
	size_t i = 0;

	while (i < w->n_pending)
		if (w->pending[i].priv == priv)
			answer(w, i, false);
		else
			i++;
	free(f);
}

static struct pending *hold(struct fake *f)
{
	struct world *w = f->w;

	if (w->n_pending >= FUZZ_MAX_PENDING)
		return NULL;
	memset(&w->pending[w->n_pending], 0, sizeof(w->pending[0]));
	w->pending[w->n_pending].priv = f;
	return &w->pending[w->n_pending++];
}

static int fake_abort(void *priv, const char *session_id, const char *directory, int64_t timeout_ms,
    abort_done_cb cb, void *arg)
{
	struct pending *p = hold(priv);

	(void)directory;
	CHECK(proto_session_id_valid(session_id, strlen(session_id)) && timeout_ms > 0);
	if (p == NULL)
		return -1;
	p->kind = 'A';
	p->abort_cb = cb;
	p->arg = arg;
	return 0;
}

static int fake_probe(void *priv, const char *session_id, probe_done_cb done, void *arg)
{
	struct pending *p = hold(priv);

	CHECK(proto_session_id_valid(session_id, strlen(session_id)));
	if (p == NULL)
		return -1;
	p->kind = 'P';
	p->probe_cb = done;
	p->arg = arg;
	return 0;
}

static int fake_check(void *priv, const char *directory, check_done_cb done, void *arg)
{
	struct pending *p = hold(priv);

	(void)directory;
	if (p == NULL)
		return -1;
	p->kind = 'C';
	p->check_cb = done;
	p->arg = arg;
	return 0;
}

static void fake_resync(void *priv, const char *directory)
{
	(void)priv;
	(void)directory;
}

static void fake_lookup(void *priv, const char *session_id, const char *directory)
{
	(void)priv;
	(void)directory;
	CHECK(proto_session_id_valid(session_id, strlen(session_id)));
}

static const struct backend_ops fake_ops = {
	.open = fake_open,
	.close = fake_close,
	.abort = fake_abort,
	.resync = fake_resync,
	.lookup = fake_lookup,
	.probe = fake_probe,
	.check = fake_check,
};

static void wake_at(void *arg, int64_t at)
{
	((struct world *)arg)->wake = at;
}

static void reap_soon(void *arg)
{
	((struct world *)arg)->reap_asked = true;
}

static void stop_done(const struct stop_result *res, void *arg)
{
	struct world *w = arg;

	CHECK(res->session != NULL && proto_session_id_valid(res->session, strlen(res->session)));
	CHECK(res->stopped == (res->reason == NULL));
	CHECK(res->n_children < SESSION_TREE_MAX + 1 && res->origin != NULL);
	w->stops_ended++;
	CHECK(w->stops_ended <= w->stops_started);
}

static void start_stop(struct world *w, struct session *root, const char *origin,
    const char *aborted)
{
	w->stops_started++;
	if (stop_start(w->e, root, origin, aborted, FUZZ_TIMEOUT_MS, w->now, stop_done, w) == NULL)
		w->stops_started--;
}

static struct server *server(struct world *w, char n)
{
	struct server_spec http = { .transport = SERVER_HTTP,
		.url = "http://127.0.0.1:4096",
		.configured = true };
	struct server_spec relay = { .transport = SERVER_RELAY, .pid = 4242, .shim = 7 };
	const char *cause = NULL;
	int i = n & 1;

	if (w->srv[i] == NULL) {
		w->srv[i] = server_attach(w->e, i == 0 ? &http : &relay, &cause);
		CHECK(w->srv[i] != NULL);
		server_set_connected(w->srv[i], true);
	}
	return w->srv[i];
}

/* A probe found (or not) a session no event named: stop it if it runs. */
struct probe {
	struct world *w;
	char id[];
};

static void probe_done(void *arg, enum probe_outcome outcome, int64_t now_ms)
{
	struct probe *p = arg;
	struct selection sel;

	(void)outcome;
	(void)now_ms;
	selection_init(&sel);
	if (selection_add_id(&sel, engine_sessions(p->w->e), NULL, p->id, strlen(p->id), false) ==
	    SELECT_RUNNING)
		for (size_t i = 0; i < sel.n; i++)
			start_stop(p->w, sel.roots[i], "rpc", NULL);
	selection_clear(&sel);
	free(p);
}

static void probe(struct world *w, const char *id)
{
	struct server *s;
	struct probe *p;

	for (s = server_first(w->e); s != NULL; s = server_next(s)) {
		if (!server_can_probe(s) || (p = malloc(sizeof(*p) + strlen(id) + 1)) == NULL)
			continue;
		p->w = w;
		strcpy(p->id, id);
		if (server_probe(s, id, probe_done, p) < 0)
			free(p);
	}
}

/* The abort method's selection: ids, a directory, or everything. */
static void abort_where(struct world *w, char *arg)
{
	struct session_table *t = engine_sessions(w->e);
	struct selection sel;
	char *save = NULL, *id;
	size_t i;

	selection_init(&sel);
	if (arg[0] == '*' || arg[0] == '/') {
		selection_add_where(&sel, t, arg[0] == '/' ? arg : NULL, arg[0] == '*');
	} else {
		for (id = strtok_r(arg, ",", &save); id != NULL; id = strtok_r(NULL, ",", &save))
			selection_add_id(&sel, t, NULL, id, strlen(id), true);
	}
	CHECK(sel.n <= SELECT_MAX_TREES && sel.n_unknown <= SELECT_MAX_TREES);
	for (i = 0; i < sel.n; i++) {
		CHECK(session_table_tree_running(t, sel.roots[i]));
		CHECK(session_table_root(t, sel.roots[i]) == sel.roots[i]);
		start_stop(w, sel.roots[i], "rpc", NULL);
	}
	for (i = 0; i < sel.n_unknown; i++)
		probe(w, sel.unknown[i]);
	selection_clear(&sel);
}

/* The message method's path for a stop word typed in id. */
static void stop_word(struct world *w, struct server *srv, const char *id)
{
	struct selection sel;

	selection_init(&sel);
	if (selection_add_id(&sel, engine_sessions(w->e), srv, id, strlen(id), false) ==
	    SELECT_RUNNING) {
		CHECK(sel.n == 1);
		start_stop(w, sel.roots[0], "x", id);
	}
	selection_clear(&sel);
}

static void event_frame(struct world *w, struct server *srv, const char *text, bool framed)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL), *payload = j;
	const char *dir = NULL;

	if (j == NULL)
		return;
	if (framed) {
		dir = json_string_value(json_object_get(j, "directory"));
		payload = json_object_get(j, "payload");
	}
	if (json_is_object(payload))
		engine_observe_event(w->e, srv, dir, payload, w->now);
	json_decref(j);
}

static void observe(struct world *w, char cmd, struct server *srv, const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);

	if (j == NULL)
		return;
	if (cmd == 's')
		engine_observe_statuses(w->e, srv, "/p", j, w->now);
	else
		engine_observe_sessions(w->e, srv, j);
	json_decref(j);
}

/* What the table promises, whatever it was told. */
static void check_table(struct world *w)
{
	struct session_table *t = engine_sessions(w->e);
	struct session *s, *kids[SESSION_TREE_MAX], *root;
	size_t n = 0, running = 0, n_kids, i, j;

	for (s = session_table_first(t); s != NULL; s = session_next(s)) {
		n++;
		running += session_status_running(session_status(s));
		CHECK(proto_session_id_valid(session_id(s), strlen(session_id(s))));
		CHECK(session_table_find(t, session_server(s), session_id(s)) == s);
		CHECK(session_table_find_any(t, session_id(s)) != NULL);
		CHECK(session_title(s) == NULL || strlen(session_title(s)) <= SESSION_MAX_TITLE);
		CHECK(session_directory(s) == NULL ||
		    strlen(session_directory(s)) <= SESSION_MAX_DIRECTORY);
		root = session_table_root(t, s);
		CHECK(root != NULL && session_server(root) == session_server(s));
		n_kids = session_table_descendants(t, root, kids, SESSION_TREE_MAX);
		for (i = 0; i < n_kids && i < SESSION_TREE_MAX; i++) {
			/* In bad data with a cycle of parents the root is one of them. */
			CHECK(session_server(kids[i]) == session_server(root));
			for (j = 0; j < i; j++)
				CHECK(kids[i] != kids[j]);
		}
	}
	CHECK(n == session_table_count(t) && n <= w->max_sessions);
	CHECK(running == session_table_running(t));
	for (s = session_table_first_running(t), n = 0; s != NULL; s = session_next_running(s), n++)
		CHECK(session_status_running(session_status(s)));
	CHECK(n == running);
}

/* The host's top of the loop: deferred frees, then the timer. */
static void loop_top(struct world *w)
{
	for (int rounds = 0; rounds < 8; rounds++) {
		if (w->reap_asked) {
			w->reap_asked = false;
			engine_reap(w->e);
		} else if (w->wake >= 0 && w->wake <= w->now) {
			w->wake = -1;
			engine_tick(w->e, w->now);
		} else {
			return;
		}
	}
}

static void line(struct world *w, char *l)
{
	char cmd = l[0];

	if (cmd == '\0')
		return;
	switch (cmd) {
	case 'e':
	case 'r':
		if (l[1] != '\0')
			event_frame(w, server(w, l[1]), l + 2, cmd == 'e');
		break;
	case 's':
	case 'l':
		if (l[1] != '\0')
			observe(w, cmd, server(w, l[1]), l + 2);
		break;
	case 'x':
		if (l[1] != '\0')
			stop_word(w, server(w, l[1]), l + 2);
		break;
	case 'a':
		abort_where(w, l + 1);
		break;
	case 'X':
		if (proto_session_id_valid(l + 1, strlen(l + 1)))
			stop_abort_skipped(w->e, l + 1, w->now);
		break;
	case 'A':
	case 'P':
	case 'C':
		for (size_t i = 0; i < w->n_pending; i++)
			if (w->pending[i].kind == cmd) {
				answer(w, i, l[1] == '1');
				break;
			}
		break;
	case 't':
		w->now += strtol(l + 1, NULL, 10) % 100000 + 1;
		break;
	case 'g':
		if (w->srv[1] != NULL) {
			engine_shim_gone(w->e, server_shim(w->srv[1]), w->now);
			w->srv[1] = NULL;
		}
		break;
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct engine_host host = { .wake_at = wake_at, .reap_soon = reap_soon };
	struct world w = { .now = 1000, .wake = -1 };
	char buf[FUZZ_MAX_LINE + 1];
	size_t pos = 1, len;
	const uint8_t *nl;

	if (size == 0)
		return 0;
	config_init(&w.cfg);
	w.cfg.quiet_ms = 100;
	w.cfg.stop_timeout_ms = FUZZ_TIMEOUT_MS;
	host.arg = &w;
	w.max_sessions = data[0] % 64 + 1;
	w.e = engine_new(&w.cfg, &host, w.max_sessions, SESSION_TABLE_MAX_BYTES);
	CHECK(w.e != NULL);
	engine_set_backend(w.e, SERVER_HTTP, &fake_ops, &w);
	engine_set_backend(w.e, SERVER_RELAY, &fake_ops, &w);
	server(&w, '0');
	while (pos < size) {
		nl = memchr(data + pos, '\n', size - pos);
		len = (nl != NULL ? (size_t)(nl - data) : size) - pos;
		if (len <= FUZZ_MAX_LINE) {
			memcpy(buf, data + pos, len);
			buf[len] = '\0';
			line(&w, buf);
			loop_top(&w);
			check_table(&w);
		}
		pos += len + 1;
	}
	engine_shutdown(w.e);
	CHECK(w.n_pending == 0 && engine_idle(w.e));
	CHECK(w.stops_ended == w.stops_started);
	engine_free(w.e);
	config_clear(&w.cfg);
	return 0;
}
