/* The stop an x started, and its outcome told to the shim it came from:
 * the person who typed x reads what the daemon proved, not a guess. */
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
#include "engine/notify.h"
#include "engine/server.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/control.h"
#include "rpc/rpc.h"
#include "rpc/views.h"
#include "wire.h"

/* One x waiting for its outcome: a stop, or first a check of a session the
 * daemon has not seen. Named by connection id: a shim gone by then is
 * simply not told. */
struct x_watch {
	struct control *ctl;
	struct engine *e;
	uint64_t conn;
	unsigned flags;   /* RPC_X_* */
	bool held;        /* counted against the connection's CONTROL_MAX_X_PENDING */
	int64_t typed_ms; /* when the x was typed, on the daemon's clock; 0: unknown */
	char session[PROTO_MAX_SESSION_ID + 1];
	char message_id[PROTO_MAX_SESSION_ID + 1]; /* "" when not given */
};

/* ms: from the x to the stop's proof, -1 when unknown. */
static void tell(const struct x_watch *w, const char *outcome, const struct wire_stop *stop,
    const char *reason, int64_t ms)
{
	struct wire_x_result x = {
		.session = w->session,
		.message_id = w->message_id[0] != '\0' ? w->message_id : NULL,
		.outcome = outcome,
		.ms = ms,
		.stop = stop,
		.reason = reason,
	};
	msgpack_packer *pk = rpc_notify_begin(w->ctl, w->conn, PROTO_M_X_RESULT);

	if (w->held)
		rpc_x_release(w->ctl, w->conn);
	if (pk == NULL)
		return;
	msgpack_pack_array(pk, 1);
	wire_pack_x_result(pk, &x);
	rpc_notify_end(w->ctl, w->conn);
}

static void stop_done(const struct stop_result *res, void *arg)
{
	struct x_watch *w = arg;
	struct wire_stop v;

	view_stop(res, &v);
	tell(w, res->stopped ? "stopped" : "not_stopped", &v, res->reason,
	    res->stopped && w->typed_ms > 0 && res->proven_at_ms >= w->typed_ms
		? res->proven_at_ms - w->typed_ms
		: -1);
	free(w);
}

/* The session the stop's first attempt leaves to the shim, which aborted it
 * in-process: over the relay the daemon's abort would go back to that same
 * shim for nothing; over HTTP one abort is enough from OpenCode 1.16 on, and
 * a second only delays the proof, which must wait for both to have landed.
 * Older (or unknown) versions get the daemon's too, by another way: 1.15
 * keeps a session whose synchronous prompt was blocked busy after one. */
static const char *left_to_shim(const struct x_watch *w, const struct session *root)
{
	const struct server *srv = session_server(root);

	if ((w->flags & RPC_X_SHIM_ABORTED) == 0)
		return NULL;
	if (server_transport(srv) != SERVER_RELAY &&
	    !oc_version_at_least(server_version(srv), OC_ONE_ABORT_MAJOR, OC_ONE_ABORT_MINOR))
		return NULL;
	return w->session;
}

static void check_done(void *arg, bool ok, int64_t now_ms);

/* Ask for the statuses where x's session runs: its server and directory as
 * the table knows them, else those of the shim's instance. */
static bool check(struct x_watch *w, struct server *shim_server, const struct rpc_x *x)
{
	struct session *s = session_table_find_any(engine_sessions(w->e), x->session);
	struct server *srv = s != NULL ? session_server(s) : shim_server;
	const char *dir =
	    s != NULL && session_directory(s) != NULL ? session_directory(s) : x->directory;

	return srv != NULL && dir[0] != '\0' && server_check(srv, dir, check_done, w) == 0;
}

/* Stop the tree of w's session as the table knows it now. first: the x as
 * it came, when OpenCode may still be asked first; NULL once it was, and
 * checked then says whether the statuses came. Takes w. */
static void start(struct x_watch *w, const struct rpc_x *first, bool checked)
{
	const struct config *cfg = engine_config(w->e);
	struct server *srv = server_of_shim(w->e, w->conn);
	struct selection sel;
	enum select_found found;
	struct stop *st;

	selection_init(&sel);
	/* Cleared on the table's word just now (a busy status may be on its
	 * way): only OpenCode can say more, so the table is not asked again.
	 * Or no event named it yet (it may run silently inside a long tool,
	 * or the daemon came up meanwhile): ask OpenCode too. */
	if (first != NULL && (w->flags & RPC_X_CLEARED) != 0) {
		found = SELECT_IDLE;
		if (check(w, srv, first))
			return;
	} else {
		found = selection_add_id(&sel, engine_sessions(w->e), srv, w->session,
		    strlen(w->session), false);
		if (first != NULL && found == SELECT_UNKNOWN && check(w, srv, first)) {
			selection_clear(&sel);
			return;
		}
	}
	if (found == SELECT_RUNNING && sel.n > 0) {
		st = stop_start(w->e, sel.roots[0], STOP_ORIGIN_X, left_to_shim(w, sel.roots[0]),
		    cfg->stop_timeout_ms, clock_now_ms(), stop_done, w);
		if (st == NULL) {
			log_warnx("x in %s: could not start the stop: out of memory", w->session);
			tell(w, "unverified", NULL, "ocstopd ran out of memory", -1);
			free(w);
		} else {
			if (cfg->x_force)
				stop_force(st);
			/* The shim's abort and the daemon's both go (HTTP, before
			 * 1.16): the proof waits for the shim's to have returned. */
			if ((w->flags & (RPC_X_SHIM_ABORTED | RPC_X_ALONE)) == RPC_X_SHIM_ABORTED &&
			    left_to_shim(w, sel.roots[0]) == NULL &&
			    server_fenced(session_server(sel.roots[0])))
				stop_await_caller(st, w->session);
		}
	} else if (found == SELECT_IDLE || checked) {
		/* Known idle, or not among the sessions OpenCode says run. After
		 * the shim's own stop, idle may be that stop's doing: only now is
		 * known. */
		tell(w, "idle", NULL,
		    (w->flags & RPC_X_ALONE) != 0 ? "nothing is running now"
						  : "nothing was running",
		    -1);
		free(w);
	} else {
		tell(w, "unverified", NULL,
		    srv == NULL ? "ocstopd does not reach this OpenCode process yet"
				: "OpenCode could not be asked about this session",
		    -1);
		free(w);
	}
	selection_clear(&sel);
}

static void check_done(void *arg, bool ok, int64_t now_ms)
{
	struct x_watch *w = arg;

	(void)now_ms;
	if (ok || (w->flags & RPC_X_CLEARED) != 0) {
		/* A failed check of a cleared x leaves the table's word. */
		start(w, NULL, ok);
		return;
	}
	/* Also when the server is being removed: the engine is not called. */
	tell(w, "unverified", NULL, "OpenCode could not be asked about this session", -1);
	free(w);
}

void rpc_x_stop(const struct rpc_call *call, const struct rpc_x *x, unsigned flags)
{
	struct x_watch *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		log_warnx("x in %s: out of memory: its stop is not proven", x->session);
		return;
	}
	*w = (struct x_watch){ .ctl = call->ctl,
		.e = rpc_engine(call),
		.conn = call->conn,
		.flags = flags };
	memcpy(w->session, x->session, sizeof(w->session));
	memcpy(w->message_id, x->message_id, sizeof(w->message_id));
	/* The shim's wall clock and ours are the machine's: its moment on our
	 * monotonic clock, which the stop's times are on. */
	if (x->typed_at > 0)
		w->typed_ms = clock_now_ms() - (clock_wall_ms() - x->typed_at);
	if (!(w->held = rpc_x_hold(call->ctl, call->conn))) {
		log_debug("client %llu: x in %s: %d outcomes awaited already",
		    (unsigned long long)call->conn, x->session, CONTROL_MAX_X_PENDING);
		tell(w, "unverified", NULL,
		    "this connection waits for too many outcomes (limit " NUM_STR(
			CONTROL_MAX_X_PENDING) ")",
		    -1);
		free(w);
		return;
	}
	/* The connection's server, taken over for it if its process had
	 * another (rpc_shim_server): start() finds it by connection. */
	rpc_shim_server(call);
	start(w, x, false);
}

/* Copy an optional string option into out; -1 when it is neither absent,
 * nil, nor a string that fits. */
static int optional_str(const msgpack_object *opts, const char *key, char *out, size_t size)
{
	const char *s = NULL;
	size_t len = 0;

	switch (proto_map_str(opts, key, &s, &len)) {
	case PROTO_OK:
		if (len >= size || !proto_utf8_valid(s, len) || memchr(s, '\0', len) != NULL)
			return -1;
		memcpy(out, s, len);
		out[len] = '\0';
		return 0;
	case PROTO_ERR:
		return -1;
	default:
		return 0;
	}
}

int rpc_x_read(const msgpack_object *opts, struct rpc_x *x, const char **msg)
{
	const msgpack_object *sid = opts != NULL ? proto_map_get(opts, "session") : NULL;
	int64_t wall;

	/* Field by field: the directory's room is kilobytes, and this runs
	 * for every message. */
	x->message_id[0] = x->directory[0] = '\0';
	x->typed_at = 0;
	if (sid == NULL || sid->type != MSGPACK_OBJECT_STR ||
	    !proto_session_id_valid(sid->via.str.ptr, sid->via.str.size) ||
	    optional_str(opts, "message_id", x->message_id, sizeof(x->message_id)) < 0 ||
	    optional_str(opts, "directory", x->directory, sizeof(x->directory)) < 0 ||
	    proto_map_int(opts, "typed_at", &x->typed_at) == PROTO_ERR) {
		*msg = "needs session (a session id); message_id (up to " NUM_STR(
		    PROTO_MAX_SESSION_ID) " bytes) and directory are UTF-8 strings, typed_at an integer";
		return PROTO_EBADREQ;
	}
	memcpy(x->session, sid->via.str.ptr, sid->via.str.size);
	x->session[sid->via.str.size] = '\0';
	wall = clock_wall_ms();
	if (x->typed_at <= 0 || x->typed_at > wall || wall - x->typed_at > RPC_X_TYPED_MAX_AGE_MS)
		x->typed_at = 0;
	return 0;
}

void rpc_x_verdict(const struct rpc_call *call, const struct rpc_x *x, const char *verdict)
{
	struct engine *e = rpc_engine(call);
	struct rpc_counters *k = rpc_counters(call);
	const char *session = x->session;
	struct notify_event ev = { .type = NOTIFY_VERDICT,
		.session_id = session,
		.verdict = verdict,
		.typed_at = x->typed_at };

	if (strcmp(verdict, "clear") == 0) {
		k->verdicts_clear++;
		log_debug("stop word in %s with nothing running: cleared", session);
	} else if (strcmp(verdict, "abort") == 0) {
		k->verdicts_abort++;
	} else {
		k->verdicts_pass++;
		return;
	}
	/* A verdict costs nothing more when nobody listens. */
	if (!notify_wanted(engine_notify(e), NOTIFY_VERDICT))
		return;
	ev.session = session_table_find_any(engine_sessions(e), session);
	notify_fire(engine_notify(e), &ev);
}
