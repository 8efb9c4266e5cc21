#include <sys/queue.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backend/relay.h"
#include "core/clock.h"
#include "core/log.h"
#include "engine/engine.h"
#include "engine/server.h"
#include "io/peer.h"
#include "proto.h"

struct relay {
	struct server *srv;
	struct engine *e;
	struct peer *peer; /* the shim's connection, referenced */
	size_t listings;
	TAILQ_HEAD(relay_reqs, relay_req) reqs;
};

/* A check a listing answers besides the one it was sent for. */
struct relay_waiter {
	check_done_cb done;
	void *arg;
	struct relay_waiter *next;
};

/* One request to the shim in flight; answered exactly once, by the shim,
 * by its connection's end, or by the relay's close. */
struct relay_req {
	struct relay *r;
	struct peer *peer; /* referenced: where it was sent */
	struct peer_req *handle;
	bool listing;
	abort_done_cb abort_done;
	check_done_cb listing_done; /* a listing for a check */
	void *arg;
	struct relay_waiter *waiters, **waiters_end; /* more checks it answers, in order */
	const char *directory;                       /* borrowed while packing an abort */
	int64_t deadline;                            /* an abort's: wall clock, ms */
	char *listing_directory;
	char session[PROTO_MAX_SESSION_ID + 1];
	TAILQ_ENTRY(relay_req) entry;
};

/* Tell every check a listing answers; each waiter is freed. */
static void listing_tell(struct relay_req *q, bool ok, int64_t now_ms)
{
	struct relay_waiter *wt;

	if (q->listing_done != NULL)
		q->listing_done(q->arg, ok, now_ms);
	while ((wt = q->waiters) != NULL) {
		q->waiters = wt->next;
		wt->done(wt->arg, ok, now_ms);
		free(wt);
	}
}

static void req_free(struct relay_req *q)
{
	TAILQ_REMOVE(&q->r->reqs, q, entry);
	if (q->listing)
		q->r->listings--;
	peer_unref(q->peer);
	free(q->listing_directory);
	free(q);
}

static void pack_abort(msgpack_packer *pk, const void *arg)
{
	const struct relay_req *q = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, q->directory != NULL ? 3 : 2);
	proto_pack_kv_str(pk, "session", q->session);
	proto_pack_kv_int(pk, "deadline", q->deadline);
	if (q->directory != NULL)
		proto_pack_kv_str(pk, "directory", q->directory);
}

static void pack_listing(msgpack_packer *pk, const void *arg)
{
	const struct relay_req *q = arg;

	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	proto_pack_kv_str(pk, "directory", q->listing_directory);
}

/* A JSON string field of a relay reply; NULL when absent or bad. */
static json_t *json_field(const msgpack_object *result, const char *key)
{
	const char *s = NULL;
	size_t len = 0;

	if (proto_map_str(result, key, &s, &len) != PROTO_OK)
		return NULL;
	return json_loadb(s, len, 0, NULL);
}

/* "what: name: message" from a shim's error reply, in the form of
 * protocol 6 or an older shim's [code, message]. */
static void shim_error(char *buf, size_t size, const char *what, const msgpack_object *error)
{
	const char *text = NULL;
	size_t len = 0;
	int code = proto_error_read(error, &text, &len);

	if (code == PROTO_ERR)
		snprintf(buf, size, "%s (a malformed error)", what);
	else
		snprintf(buf, size, "%s: %s: %.*s", what, proto_errcode_name(code), (int)len, text);
}

static void abort_reply(struct relay_req *q, const msgpack_object *error,
    const msgpack_object *result, const char *failure)
{
	const char *msg = NULL;
	size_t len = 0;
	bool ok = false;
	char err[256];

	if (result != NULL && error == NULL && proto_map_bool(result, "ok", &ok) == PROTO_OK &&
	    ok) {
		q->abort_done(q->arg, true, NULL, clock_now_ms());
		return;
	}
	if (failure != NULL)
		snprintf(err, sizeof(err), "the shim: %s", failure);
	else if (error != NULL)
		shim_error(err, sizeof(err), "the shim refused the abort", error);
	else if (result != NULL && proto_map_str(result, "error", &msg, &len) == PROTO_OK)
		snprintf(err, sizeof(err), "in-process abort failed: %.*s", (int)len, msg);
	else
		snprintf(err, sizeof(err), "the shim refused the abort");
	q->abort_done(q->arg, false, err, clock_now_ms());
}

static void listing_reply(struct relay_req *q, const msgpack_object *error,
    const msgpack_object *result, const char *failure)
{
	struct relay *r = q->r;
	bool ok = result != NULL && error == NULL;
	char err[256];
	json_t *j;

	if (!ok) {
		if (error != NULL)
			shim_error(err, sizeof(err), "the shim refused", error);
		log_debug("%s: listing failed: %s", server_url(r->srv),
		    failure != NULL     ? failure
			: error != NULL ? err
					: "no result");
	} else {
		if ((j = json_field(result, "sessions")) != NULL) {
			engine_observe_sessions(r->e, r->srv, j);
			json_decref(j);
		}
		if ((j = json_field(result, "statuses")) != NULL) {
			engine_observe_statuses(r->e, r->srv, q->listing_directory, j,
			    clock_now_ms());
			json_decref(j);
		}
	}
	listing_tell(q, ok, clock_now_ms());
}

static void reply_cb(const msgpack_object *error, const msgpack_object *result, const char *failure,
    void *arg)
{
	struct relay_req *q = arg;

	q->handle = NULL;
	if (q->listing)
		listing_reply(q, error, result, failure);
	else
		abort_reply(q, error, result, failure);
	req_free(q);
}

static struct relay_req *req_new(struct relay *r)
{
	struct relay_req *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->r = r;
	q->waiters_end = &q->waiters;
	q->peer = r->peer;
	peer_ref(q->peer);
	TAILQ_INSERT_TAIL(&r->reqs, q, entry);
	return q;
}

static int send_req(struct relay_req *q, const char *method, peer_pack_cb pack, int timeout_ms)
{
	q->handle = peer_request(q->peer, method, pack, q, timeout_ms, reply_cb, q);
	if (q->handle == NULL) {
		req_free(q);
		return -1;
	}
	return 0;
}

static int relay_abort(void *priv, const char *session_id, const char *directory,
    int64_t timeout_ms, abort_done_cb cb, void *arg)
{
	struct relay *r = priv;
	struct relay_req *q;

	if (strlen(session_id) > PROTO_MAX_SESSION_ID || (q = req_new(r)) == NULL)
		return -1;
	strcpy(q->session, session_id);
	q->abort_done = cb;
	q->arg = arg;
	q->directory = directory;
	if (timeout_ms > INT_MAX)
		timeout_ms = INT_MAX;
	/* Past its timeout the abort counts as failed and the stop may end:
	 * the shim, reading it later, leaves the user's next turn alone. */
	q->deadline = clock_wall_ms() + timeout_ms;
	if (send_req(q, PROTO_M_OPENCODE_ABORT, pack_abort, (int)timeout_ms) < 0)
		return -1;
	q->directory = NULL;
	return 0;
}

/* A listing of directory the shim has not been sent all of yet, or NULL:
 * the shim reads the statuses once it has the whole request, so that
 * listing says what runs after now, as well as a new one would. */
static struct relay_req *unsent_listing(struct relay *r, const char *directory)
{
	struct relay_req *q;

	/* Requests go out in order: past the newest one sent, none is unsent. */
	TAILQ_FOREACH_REVERSE(q, &r->reqs, relay_reqs, entry)
	{
		if (q->handle == NULL || peer_request_sent(q->handle))
			return NULL;
		if (q->listing && strcmp(q->listing_directory, directory) == 0)
			return q;
	}
	return NULL;
}

/* Have q answer one more check. */
static int listing_join(struct relay_req *q, check_done_cb done, void *arg)
{
	struct relay_waiter *wt;

	if (done == NULL)
		return 0;
	if (q->listing_done == NULL) {
		q->listing_done = done;
		q->arg = arg;
		return 0;
	}
	if ((wt = malloc(sizeof(*wt))) == NULL)
		return -1;
	*wt = (struct relay_waiter){ .done = done, .arg = arg };
	*q->waiters_end = wt;
	q->waiters_end = &wt->next;
	return 0;
}

static int relay_check(void *priv, const char *directory, check_done_cb done, void *arg)
{
	struct relay *r = priv;
	struct relay_req *q;

	/* The shim's listings are per directory: it has no default one. */
	if (directory == NULL)
		return -1;
	/* x's read in one turn (a burst, or a pipelining client) share one. */
	if ((q = unsent_listing(r, directory)) != NULL)
		return listing_join(q, done, arg);
	if (r->listings >= RELAY_MAX_LISTINGS || (q = req_new(r)) == NULL)
		return -1;
	q->listing = true;
	r->listings++;
	if ((q->listing_directory = strdup(directory)) == NULL) {
		req_free(q);
		return -1;
	}
	q->listing_done = done;
	q->arg = arg;
	return send_req(q, PROTO_M_OPENCODE_SESSIONS, pack_listing, RELAY_TIMEOUT_MS);
}

static void relay_resync(void *priv, const char *directory)
{
	relay_check(priv, directory, NULL, NULL);
}

static void relay_lookup(void *priv, const char *session_id, const char *directory)
{
	(void)session_id; /* a listing of its directory says who it is */
	relay_resync(priv, directory);
}

static void relay_rebind(void *priv, void *channel)
{
	struct relay *r = priv;

	/* Requests in flight stay with the connection they went to. */
	peer_ref(channel);
	peer_unref(r->peer);
	r->peer = channel;
}

static void relay_close(void *priv)
{
	struct relay *r = priv;
	struct relay_req *q;
	int64_t now = clock_now_ms();

	while ((q = TAILQ_FIRST(&r->reqs)) != NULL) {
		if (q->handle != NULL)
			peer_request_cancel(q->handle);
		if (!q->listing)
			q->abort_done(q->arg, false, "the server was removed", now);
		else
			listing_tell(q, false, now);
		req_free(q);
	}
	peer_unref(r->peer);
	free(r);
}

static int relay_open(struct server *s, void *ctx, void *channel, void **priv)
{
	struct relay *r;

	(void)ctx;
	if (channel == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->srv = s;
	r->e = server_engine(s);
	r->peer = channel;
	peer_ref(r->peer);
	TAILQ_INIT(&r->reqs);
	*priv = r;
	return 0;
}

const struct backend_ops backend_relay_ops = {
	.open = relay_open,
	.close = relay_close,
	.abort = relay_abort,
	.resync = relay_resync,
	.check = relay_check,
	.lookup = relay_lookup,
	.rebind = relay_rebind,
};
