#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/log.h"
#include "core/opencode.h"
#include "core/select.h"
#include "core/session.h"
#include "core/util.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/rpc.h"
#include "rpc/views.h"
#include "wire.h"

/* One tree's outcome, copied out of the stop when it ends: the reply may be
 * packed after the stop and even its server are gone. */
struct tree_result {
	struct wire_stop view; /* its strings are the copies below */
	char *session;
	char *server;
	char **children;
	char **running;
	char **background;
	char *reason;
	char *origin;
	struct wire_process *processes; /* their signals are static */
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

/* A named id no event told us about, as the servers answer for it. */
struct lookup {
	char *id;
	bool found;  /* some server has it */
	bool failed; /* some server that might have it could not be asked */
};

/* One abort request waiting for the stops it started and the probes that
 * may find more. pending counts both, plus one held while starting. */
struct batch {
	struct rpc_call call;
	struct engine *e;
	bool wait;
	bool force;     /* end the trees' tool processes when a stop stalls */
	bool ids_only;  /* named sessions, no directory or all */
	bool any_known; /* a named id was in the table already */
	int64_t timeout_ms;
	size_t n, pending;
	char *roots[SELECT_MAX_TREES]; /* trees already taken, by root id */
	struct tree_result results[SELECT_MAX_TREES];
	struct lookup lookups[SELECT_MAX_TREES];
	size_t n_lookups;
	char unreached[512]; /* the first server that could not be asked, and why */
};

static void result_copy(struct tree_result *r, const struct stop_result *res)
{
	size_t n_processes = res->n_processes;

	view_stop(res, &r->view);
	r->view.session = r->session = strdup(res->session);
	r->view.server = r->server = strdup(server_url(res->server));
	r->view.reason = r->reason = res->reason != NULL ? strdup(res->reason) : NULL;
	r->view.origin = r->origin = strdup(res->origin);
	r->children = strv_copy(res->children, res->n_children, &r->view.n_children);
	r->view.children = (const char *const *)r->children;
	r->running = strv_copy(res->running, res->n_running, &r->view.n_running);
	r->view.running = (const char *const *)r->running;
	r->background = strv_copy(res->background, res->n_background, &r->view.n_background);
	r->view.background = (const char *const *)r->background;
	r->processes = calloc(n_processes > 0 ? n_processes : 1, sizeof(*r->processes));
	if (r->processes == NULL)
		n_processes = 0;
	else if (n_processes > 0)
		memcpy(r->processes, res->processes, n_processes * sizeof(*r->processes));
	r->view.processes = r->processes;
	r->view.n_processes = n_processes;
}

static void result_clear(struct tree_result *r)
{
	free(r->session);
	free(r->server);
	free(r->reason);
	free(r->origin);
	free(r->processes);
	strv_free(r->children, r->view.n_children);
	strv_free(r->running, r->view.n_running);
	strv_free(r->background, r->view.n_background);
}

/* The looked-up ids that came out so: not found anywhere (failed false), or
 * not looked up everywhere they might be (failed true). */
static size_t count_lookups(const struct batch *b, bool failed)
{
	size_t i, n = 0;

	for (i = 0; i < b->n_lookups; i++)
		n += !b->lookups[i].found && b->lookups[i].failed == failed;
	return n;
}

static void pack_lookups(msgpack_packer *pk, const struct batch *b, const char *key, bool failed)
{
	size_t i;

	proto_pack_cstr(pk, key);
	msgpack_pack_array(pk, (uint32_t)count_lookups(b, failed));
	for (i = 0; i < b->n_lookups; i++)
		if (!b->lookups[i].found && b->lookups[i].failed == failed)
			proto_pack_cstr(pk, b->lookups[i].id);
}

/* "a, b": the ids that came out so, as much as fits in buf. */
static void list_lookups(const struct batch *b, bool failed, char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < b->n_lookups && len < size; i++)
		if (!b->lookups[i].found && b->lookups[i].failed == failed)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len > 0 ? ", " : "",
			    b->lookups[i].id);
}

/* When the request named only ids and none of them is a session any server
 * knows, the answer is an error that says so: not_found when every server
 * that might have them said no, opencode_unreachable when one could not be
 * asked. False when the answer is a result. */
static bool reply_unknown(struct batch *b)
{
	char ids[SELECT_MAX_IDS * (PROTO_MAX_SESSION_ID + 2) + 1], msg[sizeof(ids) + 1024];
	size_t failed = count_lookups(b, true);

	if (!b->ids_only || b->any_known || b->n > 0 ||
	    count_lookups(b, false) + failed < b->n_lookups)
		return false;
	if (failed > 0) {
		list_lookups(b, true, ids, sizeof(ids));
		snprintf(msg, sizeof(msg), "cannot look up %s: %s", ids, b->unreached);
		rpc_reply_error(&b->call, PROTO_EUNREACHABLE, msg);
	} else {
		list_lookups(b, false, ids, sizeof(ids));
		snprintf(msg, sizeof(msg), "no such session: %s (no OpenCode server knows %s)", ids,
		    b->n_lookups > 1 ? "them" : "it");
		rpc_reply_error(&b->call, PROTO_ENOTFOUND, msg);
	}
	return true;
}

static void pack_results(struct batch *b)
{
	msgpack_packer *pk;
	size_t i;

	if (reply_unknown(b) || (pk = rpc_reply_begin(&b->call)) == NULL)
		return;
	msgpack_pack_map(pk, 3);
	proto_pack_cstr(pk, "results");
	msgpack_pack_array(pk, (uint32_t)b->n);
	for (i = 0; i < b->n; i++)
		wire_pack_stop(pk, &b->results[i].view);
	pack_lookups(pk, b, "not_found", false);
	pack_lookups(pk, b, "unchecked", true);
	rpc_reply_end(&b->call);
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		result_clear(&b->results[i]);
		free(b->roots[i]);
	}
	for (i = 0; i < b->n_lookups; i++)
		free(b->lookups[i].id);
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
	st = stop_start(b->e, root, STOP_ORIGIN_RPC, NULL, b->timeout_ms, now_ms,
	    b->wait ? batch_stop_done : NULL, slot);
	if (st == NULL) {
		free(slot);
		goto fail_root;
	}
	if (b->force)
		stop_force(st);
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

/* A probe for a session no event told us about, on one server. */
struct probe {
	struct batch *b;
	size_t lookup;
	const struct server *srv; /* its memory outlives every probe's answer */
};

/* srv might have the session but was not asked about it. */
static void lookup_unasked(struct batch *b, struct lookup *l, const struct server *srv,
    const char *why)
{
	l->failed = true;
	if (b->unreached[0] == '\0')
		snprintf(b->unreached, sizeof(b->unreached), "OpenCode at %s %s", server_url(srv),
		    why);
}

static void probe_done(void *arg, enum probe_outcome outcome, int64_t now_ms)
{
	struct probe *p = arg;
	struct batch *b = p->b;
	struct lookup *l = &b->lookups[p->lookup];
	struct selection sel;
	size_t i;

	if (outcome == PROBE_FOUND) {
		l->found = true;
		selection_init(&sel);
		if (selection_add_id(&sel, engine_sessions(b->e), NULL, l->id, strlen(l->id),
			false) == SELECT_RUNNING)
			for (i = 0; i < sel.n; i++)
				batch_take_tree(b, sel.roots[i], now_ms);
		selection_clear(&sel);
	} else if (outcome == PROBE_FAILED) {
		lookup_unasked(b, l, p->srv, "did not answer the lookup");
	}
	free(p);
	batch_release(b);
}

/* Ask every server that might have the session about it. A relay server
 * listed its sessions when it came, so what it has is in the table already;
 * the default server nobody named does not count while it is not there. */
static void probe_unknown(struct batch *b, struct lookup *l)
{
	struct server *srv;
	struct probe *p;
	char why[300];

	if (!oc_session_id_possible(l->id))
		return;
	for (srv = server_first(b->e); srv != NULL; srv = server_next(srv)) {
		if (!server_connected(srv)) {
			if (!server_implicit(srv)) {
				snprintf(why, sizeof(why), "cannot be reached: %s",
				    server_last_error(srv) != NULL ? server_last_error(srv)
								   : "not connected yet");
				lookup_unasked(b, l, srv, why);
			}
			continue;
		}
		if (!server_can_probe(srv))
			continue;
		if ((p = malloc(sizeof(*p))) == NULL) {
			lookup_unasked(b, l, srv, "was not asked: out of memory");
			continue;
		}
		*p = (struct probe){ b, (size_t)(l - b->lookups), srv };
		b->pending++;
		if (server_probe(srv, l->id, probe_done, p) < 0) {
			b->pending--;
			free(p);
			lookup_unasked(b, l, srv,
			    "was not asked: too many lookups in flight (SERVER_MAX_PROBES)");
		}
	}
}

/* Select one named id; known tells whether the table has it. */
static int add_named(struct selection *sel, struct session_table *t, const msgpack_object *id,
    bool *known, const char **msg)
{
	if (!proto_session_id_valid(id->via.str.ptr, id->via.str.size)) {
		*msg = "not a session id: 1 to " NUM_STR(
		    PROTO_MAX_SESSION_ID) " bytes of A-Z a-z 0-9 _ -";
		return PROTO_EBADREQ;
	}
	if (selection_add_id(sel, t, NULL, id->via.str.ptr, id->via.str.size, true) !=
	    SELECT_UNKNOWN)
		*known = true;
	return 0;
}

/* Read what to abort into sel: session, sessions, directory, all. known
 * tells whether a named id is in the table, ids_only whether only ids were
 * named. */
static int parse_selection(struct engine *e, const msgpack_object *opts, struct selection *sel,
    bool *known, bool *ids_only, const char **msg)
{
	struct session_table *t = engine_sessions(e);
	const msgpack_object *one = proto_map_get(opts, "session");
	const msgpack_object_array *many = NULL;
	const char *dir = NULL;
	size_t dir_len = 0, i;
	bool all = false;
	char *dir_copy;
	int rc;

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
	if (one != NULL && one->type == MSGPACK_OBJECT_STR &&
	    (rc = add_named(sel, t, one, known, msg)) != 0)
		return rc;
	for (i = 0; many != NULL && i < many->size; i++)
		if ((rc = add_named(sel, t, &many->ptr[i], known, msg)) != 0)
			return rc;
	*ids_only = dir == NULL && !all;
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
 * could be reached to know what runs: say why instead. The default server
 * nobody named is no OpenCode the user said runs: its absence is not. */
static const char *unreachable_reason(struct engine *e, char *buf, size_t size)
{
	struct server *s, *down = NULL;

	for (s = server_first(e); s != NULL; s = server_next(s)) {
		if (server_connected(s))
			return NULL;
		if (!server_implicit(s))
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
	bool wait = true, force = false, known = false, ids_only = false;
	char why[512];
	size_t i;
	int rc;

	if (proto_map_bool(opts, "wait", &wait) == PROTO_ERR ||
	    proto_map_bool(opts, "force", &force) == PROTO_ERR ||
	    proto_map_int(opts, "timeout_ms", &timeout_ms) == PROTO_ERR ||
	    timeout_ms < CONFIG_MIN_STOP_TIMEOUT_MS || timeout_ms > CONFIG_MAX_STOP_TIMEOUT_MS) {
		*msg = "wait and force must be bools and timeout_ms 100..60000";
		return PROTO_EBADREQ;
	}
	selection_init(&sel);
	if ((rc = parse_selection(e, opts, &sel, &known, &ids_only, msg)) != 0) {
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
	/* Nobody waits for a notification's answer: the outcome goes to
	 * subscribers, and the connection holds nothing for it. */
	b->wait = wait && !call->notification;
	b->force = force;
	b->timeout_ms = timeout_ms;
	b->pending = 1; /* held until every stop and probe is started */
	for (i = 0; i < sel.n; i++)
		batch_take_tree(b, sel.roots[i], now);
	b->ids_only = ids_only;
	b->any_known = known;
	/* The ids move to the batch: every lookup exists before any probe can
	 * answer, and the selection's array is the same size. */
	for (i = 0; i < sel.n_unknown; i++)
		b->lookups[b->n_lookups++].id = sel.unknown[i];
	sel.n_unknown = 0;
	for (i = 0; i < b->n_lookups; i++)
		probe_unknown(b, &b->lookups[i]);
	selection_clear(&sel);
	batch_release(b);
	return 0;
}

const struct method_entry method_abort_entry = {
	.name = PROTO_M_ABORT,
	.how = METHOD_REQUEST | METHOD_NOTIFY,
	.exec = method_abort,
};
