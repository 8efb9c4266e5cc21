#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "proto.h"
#include "rpc.h"
#include "server.h"
#include "session.h"
#include "stop.h"
#include "util.h"

/* Bound on trees one request may stop. */
#define ABORT_MAX_TREES 64

/* One tree's outcome, copied out of the stop when it ends. */
struct tree_result {
	char *session;
	bool stopped;
	char **children;
	size_t n_children;
	int64_t ms;
	char *reason;
	bool done;
};

/* One abort request waiting for the stops it started and the probes that
 * may find more. pending counts both, plus one held while starting. */
struct batch {
	struct rpc_call call;
	bool wait;
	int64_t timeout_ms;
	size_t n, pending;
	char *roots[ABORT_MAX_TREES];  /* trees already taken, by root id */
	struct tree_result results[ABORT_MAX_TREES];
};

struct selection {
	struct session *roots[ABORT_MAX_TREES];
	size_t n;
	bool truncated;
	char *unknown[ABORT_MAX_TREES]; /* ids no event has told us about */
	size_t n_unknown;
};

static void select_root(struct daemon *d, struct selection *sel, struct session *s)
{
	struct session *root = session_table_root(d->sessions, s);
	size_t i;

	if (!session_table_tree_running(d->sessions, root))
		return;
	for (i = 0; i < sel->n; i++)
		if (sel->roots[i] == root)
			return;
	if (sel->n >= ABORT_MAX_TREES) {
		sel->truncated = true;
		return;
	}
	sel->roots[sel->n++] = root;
}

static void select_id(struct daemon *d, struct selection *sel, const msgpack_object *o)
{
	char *id = proto_strdup(o);
	struct session *s;

	if (id == NULL)
		return;
	s = session_table_find_any(d->sessions, id);
	if (s != NULL) {
		select_root(d, sel, s);
		free(id);
	} else if (sel->n_unknown < ABORT_MAX_TREES) {
		sel->unknown[sel->n_unknown++] = id;
	} else {
		free(id);
	}
}

static void selection_clear(struct selection *sel)
{
	size_t i;

	for (i = 0; i < sel->n_unknown; i++)
		free(sel->unknown[i]);
}

static void select_where(struct daemon *d, struct selection *sel, const char *dir, bool all)
{
	struct session *s;

	for (s = session_table_first(d->sessions); s != NULL; s = s->next) {
		if (!session_status_running(s->status))
			continue;
		/* The session's directory contains the caller's: `ocstop` run in a
		 * project's subfolder stops that project's sessions. */
		if (all || (s->directory != NULL && path_within(dir, s->directory)))
			select_root(d, sel, s);
	}
}

static void result_copy(struct tree_result *r, const struct stop_result *res)
{
	size_t i;

	r->session = strdup(res->session);
	r->stopped = res->stopped;
	r->ms = res->ms;
	r->reason = res->reason != NULL ? strdup(res->reason) : NULL;
	r->children = calloc(res->n_children ? res->n_children : 1, sizeof(char *));
	r->n_children = 0;
	for (i = 0; r->children != NULL && i < res->n_children; i++)
		if ((r->children[r->n_children] = strdup(res->children[i])) != NULL)
			r->n_children++;
	r->done = true;
}

static void result_clear(struct tree_result *r)
{
	size_t i;

	free(r->session);
	free(r->reason);
	for (i = 0; i < r->n_children; i++)
		free(r->children[i]);
	free(r->children);
}

static void pack_results(const struct rpc_call *call, struct tree_result *results, size_t n)
{
	msgpack_packer *pk = rpc_reply_begin(call);
	size_t i, j;

	if (pk == NULL)
		return;
	msgpack_pack_map(pk, 1);
	proto_pack_cstr(pk, "results");
	msgpack_pack_array(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		struct tree_result *r = &results[i];

		msgpack_pack_map(pk, r->reason != NULL ? 5 : 4);
		proto_pack_kv_str(pk, "session", r->session);
		proto_pack_kv_bool(pk, "stopped", r->stopped);
		proto_pack_cstr(pk, "children");
		msgpack_pack_array(pk, (uint32_t)r->n_children);
		for (j = 0; j < r->n_children; j++)
			proto_pack_cstr(pk, r->children[j]);
		proto_pack_kv_int(pk, "ms", r->ms);
		if (r->reason != NULL)
			proto_pack_kv_str(pk, "reason", r->reason);
	}
	rpc_reply_end(call);
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
	pack_results(&b->call, b->results, b->n);
	batch_free(b);
}

/* A stop's callback argument: its batch and its slot there. */
struct batch_slot {
	struct batch *b;
	size_t index;
};

static void batch_stop_done(struct daemon *d, const struct stop_result *res, void *arg)
{
	struct batch_slot *slot = arg;
	struct batch *b = slot->b;

	(void)d;
	result_copy(&b->results[slot->index], res);
	free(slot);
	batch_release(b);
}

/* Stop root's tree for this batch, once however often it was selected. */
static void batch_take_tree(struct daemon *d, struct batch *b, struct session *root)
{
	struct batch_slot *slot = NULL;
	struct stop_result pending;
	struct stop *st;
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->roots[i], root->id) == 0)
			return;
	if (b->n >= ABORT_MAX_TREES || (b->roots[b->n] = strdup(root->id)) == NULL)
		goto fail;
	if (b->wait) {
		if ((slot = malloc(sizeof(*slot))) == NULL)
			goto fail_root;
		slot->b = b;
		slot->index = b->n;
	}
	st = stop_start(d, root, "rpc", b->timeout_ms, b->wait ? batch_stop_done : NULL, slot);
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
	log_warnx("abort: cannot stop %s: out of memory or over %d trees", root->id, ABORT_MAX_TREES);
}

/* A probe for a session no event told us about. */
struct probe {
	struct batch *b;
	char *id;
};

static void probe_done(struct daemon *d, void *arg)
{
	struct probe *p = arg;
	struct session *s = session_table_find_any(d->sessions, p->id);

	if (s != NULL) {
		s = session_table_root(d->sessions, s);
		if (session_table_tree_running(d->sessions, s))
			batch_take_tree(d, p->b, s);
	}
	batch_release(p->b);
	free(p->id);
	free(p);
}

/* Ask every server that can look a session up; returns how many were asked. */
static size_t probe_unknown(struct daemon *d, struct batch *b, const char *id)
{
	struct server *srv;
	struct probe *p;
	size_t n = 0;

	for (srv = server_list_first(d->servers); srv != NULL; srv = srv->next) {
		if (srv->ops->probe == NULL || !srv->connected)
			continue;
		if ((p = calloc(1, sizeof(*p))) == NULL || (p->id = strdup(id)) == NULL) {
			free(p);
			break;
		}
		p->b = b;
		b->pending++;
		if (srv->ops->probe(srv, id, probe_done, p) < 0) {
			b->pending--;
			free(p->id);
			free(p);
			continue;
		}
		n++;
	}
	return n;
}

static int parse_selection(struct daemon *d, const msgpack_object *opts, struct selection *sel,
    const char **msg)
{
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
	if ((one == NULL || one->type == MSGPACK_OBJECT_NIL) && many == NULL && dir == NULL && !all) {
		*msg = "say what to abort: session, sessions, directory or all";
		return PROTO_EBADREQ;
	}
	if (one != NULL && one->type == MSGPACK_OBJECT_STR)
		select_id(d, sel, one);
	for (i = 0; many != NULL && i < many->size; i++) {
		if (many->ptr[i].type != MSGPACK_OBJECT_STR) {
			*msg = "sessions must be an array of strings";
			return PROTO_EBADREQ;
		}
		select_id(d, sel, &many->ptr[i]);
	}
	if (dir != NULL || all) {
		dir_copy = dir != NULL ? strndup(dir, dir_len) : NULL;
		if (dir != NULL && (dir_copy == NULL || dir_copy[0] != '/')) {
			free(dir_copy);
			*msg = "directory must be an absolute path";
			return PROTO_EBADREQ;
		}
		select_where(d, sel, dir_copy, all);
		free(dir_copy);
	}
	return 0;
}

/* With nothing selected, "nothing to stop" would be a lie when no OpenCode
 * could be reached to know what runs: say why instead. */
static const char *unreachable_reason(struct daemon *d, char *buf, size_t size)
{
	struct server *s, *down = NULL;

	for (s = server_list_first(d->servers); s != NULL; s = s->next) {
		if (s->connected)
			return NULL;
		down = s;
	}
	if (down == NULL)
		return NULL;
	snprintf(buf, size, "cannot reach OpenCode at %s: %s", down->url,
	    down->last_error != NULL ? down->last_error : "not connected yet");
	return buf;
}

/* Stop session trees and, unless wait is false, answer once each is proven
 * stopped or given up on. Ids no event has told us about are looked up
 * first: such a session may be running silently inside a long tool. */
static int method_abort(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	struct daemon *d = call->d;
	struct selection sel = { .n = 0 };
	struct batch *b;
	int64_t timeout_ms = d->config->stop_timeout_ms;
	bool wait = true;
	char why[512];
	size_t i;
	int rc;

	if (proto_map_bool(opts, "wait", &wait) == PROTO_ERR ||
	    proto_map_int(opts, "timeout_ms", &timeout_ms) == PROTO_ERR ||
	    timeout_ms < 100 || timeout_ms > 60000) {
		*msg = "wait must be a bool and timeout_ms 100..60000";
		return PROTO_EBADREQ;
	}
	if ((rc = parse_selection(d, opts, &sel, msg)) != 0) {
		selection_clear(&sel);
		return rc;
	}
	/* No server connected also means no unknown id can be looked up. */
	if (sel.n == 0 && unreachable_reason(d, why, sizeof(why)) != NULL) {
		selection_clear(&sel);
		rpc_reply_error(call, PROTO_EUNREACHABLE, why);
		return 0;
	}
	if (sel.truncated)
		log_warnx("abort: more than %d trees selected; stopping the first %d", ABORT_MAX_TREES,
		    ABORT_MAX_TREES);
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		selection_clear(&sel);
		*msg = "out of memory";
		return PROTO_EINTERNAL;
	}
	b->call = *call;
	b->wait = wait;
	b->timeout_ms = timeout_ms;
	b->pending = 1; /* held until every stop and probe is started */
	for (i = 0; i < sel.n; i++)
		batch_take_tree(d, b, sel.roots[i]);
	for (i = 0; i < sel.n_unknown; i++)
		if (probe_unknown(d, b, sel.unknown[i]) == 0)
			log_debug("abort: %s is not a known session", sel.unknown[i]);
	selection_clear(&sel);
	batch_release(b);
	return 0;
}

const struct method_entry method_abort_entry = { .name = PROTO_M_ABORT, .exec = method_abort };
