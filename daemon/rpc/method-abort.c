#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/select.h"
#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/rpc.h"
#include "wire.h"

/* One tree's outcome, copied out of the stop when it ends: the reply may be
 * packed after the stop and even its server are gone. */
struct tree_result {
	struct wire_stop view; /* its strings are the copies below */
	char *session;
	char *server;
	char **children;
	char **running;
	char *reason;
	char *origin;
};

/* A copy of n strings, as many as memory allows: *copied says how many. */
static char **strv_copy(const char *const *v, size_t n, size_t *copied)
{
	char **out = calloc(n > 0 ? n : 1, sizeof(char *));
	size_t i;

	*copied = 0;
	for (i = 0; out != NULL && i < n; i++)
		if ((out[*copied] = strdup(v[i])) != NULL)
			(*copied)++;
	return out;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* One abort request waiting for the stops it started and the probes that
 * may find more. pending counts both, plus one held while starting. */
struct batch {
	struct rpc_call call;
	struct engine *e;
	bool wait;
	int64_t timeout_ms;
	size_t n, pending;
	char *roots[SELECT_MAX_TREES]; /* trees already taken, by root id */
	struct tree_result results[SELECT_MAX_TREES];
};

static void result_copy(struct tree_result *r, const struct stop_result *res)
{
	size_t n, n_running;

	r->session = strdup(res->session);
	r->server = strdup(server_url(res->server));
	r->reason = res->reason != NULL ? strdup(res->reason) : NULL;
	r->origin = strdup(res->origin);
	r->children = strv_copy(res->children, res->n_children, &n);
	r->running = strv_copy(res->running, res->n_running, &n_running);
	r->view = (struct wire_stop){
		.session = r->session,
		.server = r->server,
		.stopped = res->stopped,
		.children = (const char *const *)r->children,
		.n_children = n,
		.ms = res->ms,
		.reason = r->reason,
		.origin = r->origin,
		.running = (const char *const *)r->running,
		.n_running = n_running,
	};
}

static void result_clear(struct tree_result *r)
{
	free(r->session);
	free(r->server);
	free(r->reason);
	free(r->origin);
	strv_free(r->children, r->view.n_children);
	strv_free(r->running, r->view.n_running);
}

static void pack_results(struct batch *b)
{
	msgpack_packer *pk = rpc_reply_begin(&b->call);
	size_t i;

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, 1);
	proto_pack_cstr(pk, "results");
	msgpack_pack_array(pk, (uint32_t)b->n);
	for (i = 0; i < b->n; i++)
		wire_pack_stop(pk, &b->results[i].view);
	rpc_reply_end(&b->call);
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		result_clear(&b->results[i]);
		free(b->roots[i]);
	}
	free(b);
}

/* One thing the batch waited for is done; the last one sends the reply. */
static void batch_release(struct batch *b)
{
	if (--b->pending > 0)
		return;
	pack_results(b);
	batch_free(b);
}

/* A stop's callback argument: its batch and its slot there. */
struct batch_slot {
	struct batch *b;
	size_t index;
};

static void batch_stop_done(const struct stop_result *res, void *arg)
{
	struct batch_slot *slot = arg;
	struct batch *b = slot->b;

	result_copy(&b->results[slot->index], res);
	free(slot);
	batch_release(b);
}

/* Stop root's tree for this batch, once however often it was selected. */
static void batch_take_tree(struct batch *b, struct session *root, int64_t now_ms)
{
	struct batch_slot *slot = NULL;
	struct stop_result pending;
	struct stop *st;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->roots[i], session_id(root)) == 0)
			return;
	if (b->n >= SELECT_MAX_TREES || (b->roots[b->n] = strdup(session_id(root))) == NULL)
		goto fail;
	if (b->wait) {
		if ((slot = malloc(sizeof(*slot))) == NULL)
			goto fail_root;
		slot->b = b;
		slot->index = b->n;
	}
	st = stop_start(b->e, root, "rpc", NULL, b->timeout_ms, now_ms,
	    b->wait ? batch_stop_done : NULL, slot);
	if (st == NULL) {
		free(slot);
		goto fail_root;
	}
	if (b->wait) {
		b->pending++;
	} else {
		stop_pending_result(st, &pending);
		result_copy(&b->results[b->n], &pending);
	}
	b->n++;
	return;
fail_root:
	free(b->roots[b->n]);
fail:
	log_warnx("abort: cannot stop %s: out of memory or over %d trees", session_id(root),
	    SELECT_MAX_TREES);
}

/* A probe for a session no event told us about. */
struct probe {
	struct batch *b;
	char *id;
};

static void probe_done(void *arg, int64_t now_ms)
{
	struct probe *p = arg;
	struct batch *b = p->b;
	struct selection sel;
	size_t i;

	selection_init(&sel);
	if (selection_add_id(&sel, engine_sessions(b->e), NULL, p->id, strlen(p->id), false) ==
	    SELECT_RUNNING)
		for (i = 0; i < sel.n; i++)
			batch_take_tree(b, sel.roots[i], now_ms);
	selection_clear(&sel);
	free(p->id);
	free(p);
	batch_release(b);
}

/* Ask every server that can look a session up; returns how many were asked. */
static size_t probe_unknown(struct batch *b, const char *id)
{
	struct server *srv;
	struct probe *p;
	size_t n = 0;

	for (srv = server_first(b->e); srv != NULL; srv = server_next(srv)) {
		if (!server_can_probe(srv))
			continue;
		if ((p = calloc(1, sizeof(*p))) == NULL || (p->id = strdup(id)) == NULL) {
			free(p);
			break;
		}
		p->b = b;
		b->pending++;
		if (server_probe(srv, id, probe_done, p) < 0) {
			b->pending--;
			free(p->id);
			free(p);
			continue;
		}
		n++;
	}
	return n;
}

/* Read what to abort into sel: session, sessions, directory, all. */
static int parse_selection(struct engine *e, const msgpack_object *opts, struct selection *sel,
    const char **msg)
{
	struct session_table *t = engine_sessions(e);
	const msgpack_object *one = proto_map_get(opts, "session");
	const msgpack_object_array *many = NULL;
	const char *dir = NULL;
	size_t dir_len = 0, i;
	bool all = false;
	char *dir_copy;

	if (proto_map_array(opts, "sessions", &many) == PROTO_ERR ||
	    proto_map_str(opts, "directory", &dir, &dir_len) == PROTO_ERR ||
	    proto_map_bool(opts, "all", &all) == PROTO_ERR ||
	    (one != NULL && one->type != MSGPACK_OBJECT_STR && one->type != MSGPACK_OBJECT_NIL)) {
		*msg = "session, directory: strings; sessions: array of strings; all: bool";
		return PROTO_EBADREQ;
	}
	if ((one == NULL || one->type == MSGPACK_OBJECT_NIL) && many == NULL && dir == NULL &&
	    !all) {
		*msg = "say what to abort: session, sessions, directory or all";
		return PROTO_EBADREQ;
	}
	if (many != NULL && many->size > SELECT_MAX_IDS) {
		*msg = "too many ids: at most " NUM_STR(SELECT_MAX_IDS) " sessions in one abort";
		return PROTO_ELIMIT;
	}
	for (i = 0; many != NULL && i < many->size; i++) {
		if (many->ptr[i].type != MSGPACK_OBJECT_STR) {
			*msg = "sessions must be an array of strings";
			return PROTO_EBADREQ;
		}
	}
	if (one != NULL && one->type == MSGPACK_OBJECT_STR)
		selection_add_id(sel, t, NULL, one->via.str.ptr, one->via.str.size, true);
	for (i = 0; many != NULL && i < many->size; i++)
		selection_add_id(sel, t, NULL, many->ptr[i].via.str.ptr, many->ptr[i].via.str.size,
		    true);
	if (dir != NULL || all) {
		dir_copy = dir != NULL ? strndup(dir, dir_len) : NULL;
		if (dir != NULL && (dir_copy == NULL || dir_copy[0] != '/')) {
			free(dir_copy);
			*msg = "directory must be an absolute path";
			return PROTO_EBADREQ;
		}
		selection_add_where(sel, t, dir_copy, all);
		free(dir_copy);
	}
	return 0;
}

/* With nothing selected, "nothing to stop" would be a lie when no OpenCode
 * could be reached to know what runs: say why instead. */
static const char *unreachable_reason(struct engine *e, char *buf, size_t size)
{
	struct server *s, *down = NULL;

	for (s = server_first(e); s != NULL; s = server_next(s)) {
		if (server_connected(s))
			return NULL;
		down = s;
	}
	if (down == NULL)
		return NULL;
	snprintf(buf, size, "cannot reach OpenCode at %s: %s", server_url(down),
	    server_last_error(down) != NULL ? server_last_error(down) : "not connected yet");
	return buf;
}

/* Stop session trees and, unless wait is false, answer once each is proven
 * stopped or given up on. Ids no event has told us about are looked up
 * first: such a session may be running silently inside a long tool. */
static int method_abort(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct engine *e = rpc_engine(call);
	int64_t timeout_ms = engine_config(e)->stop_timeout_ms, now = clock_now_ms();
	struct selection sel;
	struct batch *b;
	bool wait = true;
	char why[512];
	size_t i;
	int rc;

	if (proto_map_bool(opts, "wait", &wait) == PROTO_ERR ||
	    proto_map_int(opts, "timeout_ms", &timeout_ms) == PROTO_ERR ||
	    timeout_ms < CONFIG_MIN_STOP_TIMEOUT_MS || timeout_ms > CONFIG_MAX_STOP_TIMEOUT_MS) {
		*msg = "wait must be a bool and timeout_ms 100..60000";
		return PROTO_EBADREQ;
	}
	selection_init(&sel);
	if ((rc = parse_selection(e, opts, &sel, msg)) != 0) {
		selection_clear(&sel);
		return rc;
	}
	/* No server connected also means no unknown id can be looked up. */
	if (sel.n == 0 && unreachable_reason(e, why, sizeof(why)) != NULL) {
		selection_clear(&sel);
		rpc_reply_error(call, PROTO_EUNREACHABLE, why);
		return 0;
	}
	if (sel.truncated)
		log_warnx("abort: more than %d trees or ids; stopping the first %d",
		    SELECT_MAX_TREES, SELECT_MAX_TREES);
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		selection_clear(&sel);
		*msg = "out of memory";
		return PROTO_EINTERNAL;
	}
	b->call = *call;
	b->e = e;
	b->wait = wait;
	b->timeout_ms = timeout_ms;
	b->pending = 1; /* held until every stop and probe is started */
	for (i = 0; i < sel.n; i++)
		batch_take_tree(b, sel.roots[i], now);
	for (i = 0; i < sel.n_unknown; i++)
		if (probe_unknown(b, sel.unknown[i]) == 0)
			log_debug("abort: %s is not a known session", sel.unknown[i]);
	selection_clear(&sel);
	batch_release(b);
	return 0;
}

const struct method_entry method_abort_entry = {
	.name = PROTO_M_ABORT,
	.how = METHOD_REQUEST,
	.exec = method_abort,
};
