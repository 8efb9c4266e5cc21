/*
 * Session table: event payloads in the shapes OpenCode 1.18.33 sends on
 * /global/event, replayed as scripts of steps, each with what the table must
 * say afterwards. Then the tree walks, lookups across servers and bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/session.h"

/* What one payload meant, as the engine sees it: the event as read, and
 * what applying it changed. */
struct session_event {
	enum oc_kind kind;
	const char *session_id;
	struct session *session;
	bool created;
	bool status_changed;
	enum session_status old_status;
};

/* The table's default bounds are the daemon's; the eviction test sets its own. */
#define TABLE_NEW() session_table_new(SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES)

/* struct server is opaque to the table: any distinct addresses will do. */
static char server_a_obj, server_b_obj;
#define SRV_A ((struct server *)&server_a_obj)
#define SRV_B ((struct server *)&server_b_obj)

#define IDLE SESSION_IDLE
#define BUSY SESSION_BUSY
#define RETRY SESSION_RETRY

/* Payloads, spelled as OpenCode sends them. */
#define STATUS(id, type) \
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"" id "\"," \
	"\"status\":{\"type\":\"" type "\"}}}"
#define STATUS_RETRY(id) \
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"" id "\"," \
	"\"status\":{\"type\":\"retry\",\"attempt\":1,\"message\":\"overloaded\",\"next\":123}}}"
#define SIDLE(id) "{\"type\":\"session.idle\",\"properties\":{\"sessionID\":\"" id "\"}}"
#define SERROR(id) \
	"{\"type\":\"session.error\",\"properties\":{\"sessionID\":\"" id "\"," \
	"\"error\":{\"name\":\"MessageAbortedError\",\"data\":{\"message\":\"Aborted\"}}}}"
#define PART_UPDATED(id) \
	"{\"type\":\"message.part.updated\",\"properties\":{\"part\":{\"id\":\"prt_1\"," \
	"\"sessionID\":\"" id "\",\"messageID\":\"msg_1\",\"type\":\"text\"}}}"
#define PART_DELTA(id) \
	"{\"type\":\"message.part.delta\",\"properties\":{\"sessionID\":\"" id "\"," \
	"\"messageID\":\"msg_1\",\"partID\":\"prt_1\",\"field\":\"text\",\"delta\":\"tick\"}}"
#define CREATED(id) \
	"{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"" id "\"," \
	"\"directory\":\"/p\",\"title\":\"t\"}}}"
#define UPDATED(id) \
	"{\"type\":\"session.updated\",\"properties\":{\"info\":{\"id\":\"" id "\"," \
	"\"directory\":\"/p\",\"title\":\"t\"}}}"
#define CHILD(id, parent) \
	"{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"" id "\"," \
	"\"parentID\":\"" parent "\",\"directory\":\"/p\",\"title\":\"" id "\"}}}"
#define DELETED(id) "{\"type\":\"session.deleted\",\"properties\":{\"info\":{\"id\":\"" id "\"}}}"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &err);

	if (j == NULL)
		fail_msg("bad test JSON %s: %s", text, err.text);
	return j;
}

/* Apply one payload on server; the caller owns the event's borrowed strings
 * only while *payload lives, so it is handed back to be freed. */
static int apply(struct session_table *t, struct server *srv, const char *dir, const char *text,
    int64_t now, struct session_event *ev, json_t **payload)
{
	struct session_change change;
	struct oc_event oc;
	int rc;

	(void)now; /* the table keeps activity by order, not by clock */
	*payload = parse(text);
	oc_event_read(*payload, &oc);
	rc = session_table_apply(t, srv, dir, &oc, &change);
	ev->kind = oc.kind;
	ev->session_id = oc.session_id;
	ev->session = change.session;
	ev->created = change.created;
	ev->status_changed = change.status_changed;
	ev->old_status = change.old_status;
	return rc;
}

/* A NULL payload reads as no event and changes nothing. */
static enum oc_kind apply_null(struct session_table *t)
{
	struct session_change change;
	struct oc_event oc;

	oc_event_read(NULL, &oc);
	assert_int_equal(session_table_apply(t, SRV_A, NULL, &oc, &change), 0);
	assert_null(change.session);
	return oc.kind;
}

/* A Session object from a listing, as the engine merges it. */
static struct session *merge(struct session_table *t, struct server *srv, json_t *info)
{
	struct oc_info oc;

	if (oc_info_read(info, &oc) < 0)
		return NULL;
	return session_table_merge_info(t, srv, &oc);
}

/* Apply and throw the event away: for building a table. */
static void feed(struct session_table *t, struct server *srv, const char *text, int64_t now)
{
	struct session_event ev;
	json_t *p;

	assert_int_equal(apply(t, srv, NULL, text, now, &ev, &p), 0);
	assert_int_not_equal(ev.kind, OC_NONE);
	json_decref(p);
}

/* One event and what it must mean. */
struct step {
	const char *json;
	enum oc_kind kind;
	const char *id; /* ev.session_id; NULL for none */
	bool created;
	bool changed;
	enum session_status old_status; /* checked when the event has a session */
	enum session_status status;     /* the entry's status afterwards */
	size_t count;                   /* table size afterwards */
};

#define MAX_STEPS 8

struct script {
	const char *name;
	struct step steps[MAX_STEPS];
};

/* A table of scripts reads best as written. */
/* clang-format off */
static const struct script scripts[] = {
	{ "status creates an unknown session, then transitions", {
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", true, true, IDLE, BUSY, 1 },
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", false, false, BUSY, BUSY, 1 },
		{ STATUS_RETRY("ses_1"), OC_STATUS, "ses_1", false, true, BUSY, RETRY, 1 },
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", false, true, RETRY, BUSY, 1 },
		{ STATUS("ses_1", "idle"), OC_STATUS, "ses_1", false, true, BUSY, IDLE, 1 },
		{ SIDLE("ses_1"), OC_STATUS, "ses_1", false, false, IDLE, IDLE, 1 },
	} },
	{ "session.idle ends a busy session like an idle status", {
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", true, true, IDLE, BUSY, 1 },
		{ SIDLE("ses_1"), OC_STATUS, "ses_1", false, true, BUSY, IDLE, 1 },
		{ STATUS_RETRY("ses_1"), OC_STATUS, "ses_1", false, true, IDLE, RETRY, 1 },
		{ SIDLE("ses_1"), OC_STATUS, "ses_1", false, true, RETRY, IDLE, 1 },
	} },
	{ "idle news of an unknown session creates it without a change", {
		{ STATUS("ses_1", "idle"), OC_STATUS, "ses_1", true, false, IDLE, IDLE, 1 },
		{ SIDLE("ses_2"), OC_STATUS, "ses_2", true, false, IDLE, IDLE, 2 },
	} },
	{ "a delta for a new entry proves it runs", {
		{ PART_DELTA("ses_1"), OC_PART, "ses_1", true, true, IDLE, BUSY, 1 },
		{ PART_UPDATED("ses_1"), OC_PART, "ses_1", false, false, BUSY, BUSY, 1 },
		{ PART_DELTA("ses_1"), OC_PART, "ses_1", false, false, BUSY, BUSY, 1 },
	} },
	{ "a part update for a new entry (id inside part) proves it runs", {
		{ PART_UPDATED("ses_2"), OC_PART, "ses_2", true, true, IDLE, BUSY, 1 },
		{ SIDLE("ses_2"), OC_STATUS, "ses_2", false, true, BUSY, IDLE, 1 },
	} },
	{ "a part after idle is the aborted part closing: stays idle", {
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", true, true, IDLE, BUSY, 1 },
		{ STATUS("ses_1", "idle"), OC_STATUS, "ses_1", false, true, BUSY, IDLE, 1 },
		{ PART_UPDATED("ses_1"), OC_PART, "ses_1", false, false, IDLE, IDLE, 1 },
		{ PART_DELTA("ses_1"), OC_PART, "ses_1", false, false, IDLE, IDLE, 1 },
		{ SIDLE("ses_1"), OC_STATUS, "ses_1", false, false, IDLE, IDLE, 1 },
	} },
	{ "a part for a session known from info only does not mark it busy", {
		{ CREATED("ses_1"), OC_INFO, "ses_1", true, false, IDLE, IDLE, 1 },
		{ PART_UPDATED("ses_1"), OC_PART, "ses_1", false, false, IDLE, IDLE, 1 },
	} },
	{ "created then updated: one entry, status untouched", {
		{ CREATED("ses_1"), OC_INFO, "ses_1", true, false, IDLE, IDLE, 1 },
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", false, true, IDLE, BUSY, 1 },
		{ UPDATED("ses_1"), OC_INFO, "ses_1", false, false, BUSY, BUSY, 1 },
		{ UPDATED("ses_2"), OC_INFO, "ses_2", true, false, IDLE, IDLE, 2 },
	} },
	{ "deletion removes the entry; unknown deletion is harmless", {
		{ CREATED("ses_1"), OC_INFO, "ses_1", true, false, IDLE, IDLE, 1 },
		{ STATUS("ses_2", "busy"), OC_STATUS, "ses_2", true, true, IDLE, BUSY, 2 },
		{ DELETED("ses_1"), OC_DELETED, "ses_1", false, false, IDLE, IDLE, 1 },
		{ DELETED("ses_1"), OC_DELETED, "ses_1", false, false, IDLE, IDLE, 1 },
		{ DELETED("ses_2"), OC_DELETED, "ses_2", false, false, IDLE, IDLE, 0 },
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", true, true, IDLE, BUSY, 1 },
	} },
	{ "session.error names the session and does not end it by itself", {
		{ SERROR("ses_1"), OC_ERROR, "ses_1", true, false, IDLE, IDLE, 1 },
		{ STATUS("ses_1", "busy"), OC_STATUS, "ses_1", false, true, IDLE, BUSY, 1 },
		{ SERROR("ses_1"), OC_ERROR, "ses_1", false, false, BUSY, BUSY, 1 },
		{ SIDLE("ses_1"), OC_STATUS, "ses_1", false, true, BUSY, IDLE, 1 },
	} },
	{ "events not about a session leave the table alone", {
		{ "{\"type\":\"server.connected\",\"properties\":{}}", OC_NONE, NULL, false, false,
		  IDLE, IDLE, 0 },
		{ "{\"type\":\"message.updated\",\"properties\":{\"info\":{\"id\":\"msg_1\","
		  "\"sessionID\":\"ses_1\"}}}", OC_NONE, NULL, false, false, IDLE, IDLE, 0 },
	} },
};
/* clang-format on */

static void run_script(const struct script *sc)
{
	struct session_table *t = TABLE_NEW();
	const struct step *st;
	struct session_event ev;
	json_t *p;
	size_t i;

	assert_non_null(t);
	for (i = 0; i < MAX_STEPS && sc->steps[i].json != NULL; i++) {
		st = &sc->steps[i];
		print_message("# %s, step %zu\n", sc->name, i + 1);
		assert_int_equal(apply(t, SRV_A, "/srv", st->json, (int64_t)(1000 + i), &ev, &p),
		    0);
		assert_int_equal(ev.kind, st->kind);
		if (st->id == NULL)
			assert_null(ev.session_id);
		else
			assert_string_equal(ev.session_id, st->id);
		assert_int_equal(ev.created, st->created);
		assert_int_equal(ev.status_changed, st->changed);
		assert_int_equal(session_table_count(t), st->count);
		if (st->kind == OC_NONE || st->kind == OC_DELETED) {
			assert_null(ev.session);
			if (st->id != NULL)
				assert_null(session_table_find(t, SRV_A, st->id));
		} else {
			assert_non_null(ev.session);
			assert_string_equal(session_id(ev.session), st->id);
			assert_ptr_equal(session_server(ev.session), SRV_A);
			assert_ptr_equal(session_table_find(t, SRV_A, st->id), ev.session);
			assert_int_equal(ev.old_status, st->old_status);
			assert_int_equal(session_status(ev.session), st->status);
		}
		json_decref(p);
	}
	session_table_free(t);
}

/* The versions the shim and the health route say, and what is not one. */
static void test_versions(void **state)
{
	(void)state;
	assert_true(oc_version_at_least("1.18.33", 1, 16));
	assert_true(oc_version_at_least("1.16.0", 1, 16));
	assert_true(oc_version_at_least("v1.16.2-beta.1", 1, 16));
	assert_true(oc_version_at_least("2.0.1", 1, 16));
	assert_false(oc_version_at_least("1.15.13", 1, 16));
	assert_false(oc_version_at_least("1.2.27", 1, 16));
	assert_false(oc_version_at_least("0.16.0", 1, 16));
	assert_false(oc_version_at_least(NULL, 1, 16));
	assert_false(oc_version_at_least("", 1, 16));
	assert_false(oc_version_at_least("1", 1, 16));
	assert_false(oc_version_at_least("1.x", 1, 16));
	assert_false(oc_version_at_least("latest", 1, 16));
	assert_false(oc_version_at_least("1.99999999999999999999", 1, 16));
}

static void test_scripts(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
		run_script(&scripts[i]);
}

/* Payloads that are not usable events: nothing happens, nothing crashes. */
static const char *const malformed[] = {
	"{}",
	"[]",
	"\"session.status\"",
	"null",
	"{\"type\":\"session.status\"}",
	"{\"properties\":{\"sessionID\":\"ses_1\",\"status\":{\"type\":\"busy\"}}}",
	"{\"type\":7,\"properties\":{\"sessionID\":\"ses_1\",\"status\":{\"type\":\"busy\"}}}",
	"{\"type\":\"session.status\",\"properties\":\"ses_1\"}",
	"{\"type\":\"session.status\",\"properties\":[\"ses_1\"]}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_1\"}}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_1\",\"status\":\"busy\"}}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_1\",\"status\":{}}}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_1\","
	"\"status\":{\"type\":\"sleeping\"}}}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"ses_1\","
	"\"status\":{\"type\":1}}}",
	"{\"type\":\"session.status\",\"properties\":{\"status\":{\"type\":\"busy\"}}}",
	"{\"type\":\"session.status\",\"properties\":{\"sessionID\":42,"
	"\"status\":{\"type\":\"busy\"}}}",
	"{\"type\":\"session.idle\",\"properties\":{}}",
	"{\"type\":\"session.error\",\"properties\":{\"error\":{\"name\":\"X\"}}}",
	"{\"type\":\"message.part.updated\",\"properties\":{\"part\":{\"id\":\"prt_1\"}}}",
	"{\"type\":\"message.part.updated\",\"properties\":{\"part\":\"prt_1\"}}",
	"{\"type\":\"message.part.delta\",\"properties\":{\"partID\":\"prt_1\",\"delta\":\"x\"}}",
	"{\"type\":\"session.created\",\"properties\":{\"info\":{\"title\":\"t\"}}}",
	"{\"type\":\"session.updated\",\"properties\":{\"info\":{\"id\":5}}}",
	"{\"type\":\"session.deleted\",\"properties\":{\"info\":{}}}",
	"{\"type\":\"session.deleted\",\"properties\":{}}",
	/* An info event without its info object, even when a sessionID is about. */
	"{\"type\":\"session.updated\",\"properties\":{\"sessionID\":\"ses_1\"}}",
	"{\"type\":\"session.created\",\"properties\":{\"sessionID\":\"ses_1\",\"info\":\"ses_1\"}}",
};

static void test_malformed(void **state)
{
	struct session_table *t = TABLE_NEW();
	struct session_event ev;
	json_t *p;
	size_t i;

	(void)state;
	assert_non_null(t);
	/* One known busy session, which no malformed event may disturb. */
	feed(t, SRV_A, STATUS("ses_1", "busy"), 1);
	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		print_message("# %s\n", malformed[i]);
		assert_int_equal(apply(t, SRV_A, "/srv", malformed[i], 10, &ev, &p), 0);
		assert_int_equal(ev.kind, OC_NONE);
		assert_null(ev.session);
		assert_false(ev.created);
		assert_false(ev.status_changed);
		assert_int_equal(session_table_count(t), 1);
		assert_int_equal(session_status(session_table_find(t, SRV_A, "ses_1")), BUSY);
		json_decref(p);
	}
	assert_int_equal(apply_null(t), OC_NONE);
	session_table_free(t);
}

/* Info merges field by field; what a later event leaves out is kept. */
static void test_info_merge(void **state)
{
	struct session_table *t = TABLE_NEW();
	struct session_event ev;
	struct session *s;
	json_t *p, *info;

	(void)state;
	assert_non_null(t);

	/* First seen through its status: directory from the caller, no info. */
	assert_int_equal(apply(t, SRV_A, "/srv", STATUS("ses_2", "busy"), 1, &ev, &p), 0);
	json_decref(p);
	s = session_table_find(t, SRV_A, "ses_2");
	assert_non_null(s);
	assert_string_equal(session_directory(s), "/srv");
	assert_null(session_parent(s));
	assert_null(session_title(s));
	assert_false(session_info_known(s));

	assert_int_equal(
	    apply(t, SRV_A, "/srv",
		"{\"type\":\"session.updated\",\"properties\":{\"info\":{\"id\":\"ses_2\","
		"\"parentID\":\"ses_1\",\"directory\":\"/p\",\"title\":\"first\"}}}",
		2, &ev, &p),
	    0);
	assert_int_equal(ev.kind, OC_INFO);
	assert_false(ev.created);
	assert_ptr_equal(ev.session, s);
	assert_string_equal(session_directory(s), "/p");
	assert_string_equal(session_parent(s), "ses_1");
	assert_string_equal(session_title(s), "first");
	assert_true(session_info_known(s));
	assert_int_equal(session_status(s), BUSY);
	json_decref(p);

	/* A retitle that names neither parent nor directory keeps both. */
	assert_int_equal(
	    apply(t, SRV_A, "/other",
		"{\"type\":\"session.updated\",\"properties\":{\"info\":{\"id\":\"ses_2\","
		"\"title\":\"second\"}}}",
		3, &ev, &p),
	    0);
	assert_ptr_equal(ev.session, s);
	assert_string_equal(session_title(s), "second");
	assert_string_equal(session_parent(s), "ses_1");
	assert_string_equal(session_directory(s), "/p");
	json_decref(p);

	/* A listing goes through merge_info: new entry, then a move. */
	info = parse("{\"id\":\"ses_3\",\"directory\":\"/q\",\"title\":\"listed\"}");
	s = merge(t, SRV_A, info);
	json_decref(info);
	assert_non_null(s);
	assert_ptr_equal(session_table_find(t, SRV_A, "ses_3"), s);
	assert_string_equal(session_directory(s), "/q");
	assert_string_equal(session_title(s), "listed");
	assert_null(session_parent(s));
	assert_true(session_info_known(s));
	assert_int_equal(session_status(s), IDLE);
	info = parse("{\"id\":\"ses_3\",\"directory\":\"/q/sub\"}");
	assert_ptr_equal(merge(t, SRV_A, info), s);
	json_decref(info);
	assert_string_equal(session_directory(s), "/q/sub");
	assert_string_equal(session_title(s), "listed");

	/* No id, no entry. */
	info = parse("{\"directory\":\"/q\"}");
	assert_null(merge(t, SRV_A, info));
	json_decref(info);

	/* Created with no directory anywhere: none is made up. */
	assert_int_equal(
	    apply(t, SRV_B, NULL,
		"{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"ses_4\"}}}", 7,
		&ev, &p),
	    0);
	assert_true(ev.created);
	assert_null(session_directory(ev.session));
	assert_null(session_title(ev.session));
	json_decref(p);

	assert_int_equal(session_table_count(t), 3);
	session_table_free(t);
}

/* Statuses learned from a resync. */
static void test_set_status(void **state)
{
	static const struct {
		const char *id;
		enum session_status status;
		bool changed;
		size_t count;
	} steps[] = {
		{ "ses_1", IDLE, false, 1 }, /* new and idle: nothing to announce */
		{ "ses_2", BUSY, true, 2 },  /* new and running */
		{ "ses_2", BUSY, false, 2 },
		{ "ses_2", RETRY, true, 2 },
		{ "ses_2", IDLE, true, 2 },
		{ "ses_1", IDLE, false, 2 },
	};
	struct session_table *t = TABLE_NEW();
	struct session *s;
	bool changed;
	size_t i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		changed = !steps[i].changed;
		s = session_table_set_status(t, SRV_A, steps[i].id, "/d", steps[i].status,
		    &changed);
		assert_non_null(s);
		assert_string_equal(session_id(s), steps[i].id);
		assert_string_equal(session_directory(s), "/d");
		assert_int_equal(session_status(s), steps[i].status);
		assert_int_equal(changed, steps[i].changed);
		assert_int_equal(session_table_count(t), steps[i].count);
	}
	session_table_free(t);
}

/*
 * On A:  r -> c1 -> g1 -> gg1, r -> c2, u (unrelated), o -> missing
 * On B:  r -> bc (same root id, other server)
 */
static struct session_table *make_tree(void)
{
	struct session_table *t = TABLE_NEW();

	assert_non_null(t);
	feed(t, SRV_A, CREATED("r"), 1);
	feed(t, SRV_A, CHILD("c1", "r"), 2);
	feed(t, SRV_A, CHILD("u", "nobody-here"), 3);
	feed(t, SRV_A, CHILD("g1", "c1"), 4);
	feed(t, SRV_A, CHILD("c2", "r"), 5);
	feed(t, SRV_A, CHILD("gg1", "g1"), 6);
	feed(t, SRV_B, CREATED("r"), 7);
	feed(t, SRV_B, CHILD("bc", "r"), 8);
	feed(t, SRV_A, CREATED("lone"), 9);
	return t;
}

static struct session *get(struct session_table *t, struct server *srv, const char *id)
{
	struct session *s = session_table_find(t, srv, id);

	if (s == NULL)
		fail_msg("no session %s", id);
	return s;
}

/* Is a an ancestor of (or equal to) b? */
static bool ancestor_or_self(struct session_table *t, struct session *a, struct session *b)
{
	int depth;

	for (depth = 0; b != NULL && depth < 100; depth++) {
		if (a == b)
			return true;
		b = session_parent(b) != NULL
		    ? session_table_find(t, session_server(b), session_parent(b))
		    : NULL;
	}
	return false;
}

static void test_root(void **state)
{
	static const struct {
		struct server *srv;
		const char *id, *root;
	} cases[] = {
		{ SRV_A, "r", "r" },
		{ SRV_A, "c1", "r" },
		{ SRV_A, "c2", "r" },
		{ SRV_A, "g1", "r" },
		{ SRV_A, "gg1", "r" },
		{ SRV_A, "u", "u" }, /* parent unknown: the walk stops at u */
		{ SRV_A, "lone", "lone" },
		{ SRV_B, "bc", "r" },
	};
	struct session_table *t = make_tree();
	struct session *root;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		root = session_table_root(t, get(t, cases[i].srv, cases[i].id));
		assert_string_equal(session_id(root), cases[i].root);
		/* The walk stays on the session's own server. */
		assert_ptr_equal(session_server(root), cases[i].srv);
	}
	session_table_free(t);
}

static void test_descendants(void **state)
{
	static const struct {
		struct server *srv;
		const char *root;
		size_t n;
		const char *want[4]; /* as a set */
	} cases[] = {
		{ SRV_A, "r", 4, { "c1", "c2", "g1", "gg1" } },
		{ SRV_A, "c1", 2, { "g1", "gg1" } },
		{ SRV_A, "g1", 1, { "gg1" } },
		{ SRV_A, "gg1", 0, { NULL } },
		{ SRV_A, "c2", 0, { NULL } },
		{ SRV_A, "lone", 0, { NULL } },
		{ SRV_B, "r", 1, { "bc" } },
	};
	struct session_table *t = make_tree();
	struct session *out[8], *root, *sentinel = (struct session *)&server_b_obj;
	size_t i, j, k, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		root = get(t, cases[i].srv, cases[i].root);
		for (j = 0; j < 8; j++)
			out[j] = sentinel;
		n = session_table_descendants(t, root, out, 8);
		assert_int_equal(n, cases[i].n);
		assert_ptr_equal(out[n], sentinel);
		for (j = 0; j < n; j++) {
			/* Each listed once, from the wanted set, on the root's server. */
			for (k = 0; k < n && strcmp(session_id(out[j]), cases[i].want[k]) != 0; k++)
				;
			assert_true(k < n);
			for (k = 0; k < j; k++)
				assert_ptr_not_equal(out[k], out[j]);
			assert_ptr_equal(session_server(out[j]), cases[i].srv);
			/* Depth first: each entry's parent is the root or an ancestor-or-self
			 * of the entry just before it. */
			if (strcmp(session_parent(out[j]), session_id(root)) != 0) {
				assert_true(j > 0);
				assert_true(ancestor_or_self(t,
				    get(t, cases[i].srv, session_parent(out[j])), out[j - 1]));
			}
		}
	}

	/* A short buffer: the full count, and nothing written past max. */
	for (j = 0; j < 8; j++)
		out[j] = sentinel;
	assert_int_equal(session_table_descendants(t, get(t, SRV_A, "r"), out, 2), 4);
	assert_ptr_not_equal(out[0], sentinel);
	assert_ptr_not_equal(out[1], sentinel);
	assert_ptr_equal(out[2], sentinel);
	assert_int_equal(session_table_descendants(t, get(t, SRV_A, "r"), NULL, 0), 4);
	session_table_free(t);
}

static void test_tree_running(void **state)
{
	static const struct {
		struct server *busy_srv;
		const char *busy; /* the one running session, or NULL */
		const char *status;
		const char *root;
		bool running;
	} cases[] = {
		{ NULL, NULL, NULL, "r", false },
		{ SRV_A, "gg1", "busy", "r", true },
		{ SRV_A, "gg1", "busy", "c1", true },
		{ SRV_A, "gg1", "busy", "g1", true },
		{ SRV_A, "gg1", "busy", "gg1", true },
		{ SRV_A, "gg1", "busy", "c2", false },
		{ SRV_A, "gg1", "busy", "u", false },
		{ SRV_A, "c2", "retry", "r", true },
		{ SRV_A, "c2", "retry", "c1", false },
		{ SRV_A, "r", "busy", "r", true },
		{ SRV_A, "r", "busy", "c1", false },
		/* B's child of its own "r" says nothing about A's "r". */
		{ SRV_B, "bc", "busy", "r", false },
	};
	struct session_table *t;
	char json[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = make_tree();
		if (cases[i].busy != NULL) {
			snprintf(json, sizeof(json),
			    "{\"type\":\"session.status\",\"properties\":"
			    "{\"sessionID\":\"%s\",\"status\":{\"type\":\"%s\"}}}",
			    cases[i].busy, cases[i].status);
			feed(t, cases[i].busy_srv, json, 100);
		}
		assert_int_equal(session_table_tree_running(t, get(t, SRV_A, cases[i].root)),
		    cases[i].running);
		session_table_free(t);
	}
}

/* Bad data with parent cycles: the link that would close one is not made, so
 * the members form one tree, each in it once, none its own descendant. */
static void test_cycles(void **state)
{
	static const char *const cycles[][3] = {
		{ CHILD("a", "a"), NULL, NULL },
		{ CHILD("a", "b"), CHILD("b", "a"), NULL },
		{ CHILD("a", "c"), CHILD("b", "a"), CHILD("c", "b") },
	};
	static const char *const names[] = { "a", "b", "c" };
	struct session *out[SESSION_TREE_MAX], *s, *root;
	struct session_table *t;
	size_t i, j, k, n, members;

	(void)state;
	for (i = 0; i < sizeof(cycles) / sizeof(cycles[0]); i++) {
		t = TABLE_NEW();
		assert_non_null(t);
		for (members = 0; members < 3 && cycles[i][members] != NULL; members++)
			feed(t, SRV_A, cycles[i][members], 1);
		feed(t, SRV_A, CREATED("outside"), 1);
		for (s = session_table_first(t); s != NULL; s = session_next(s)) {
			if (strcmp(session_id(s), "outside") == 0)
				continue;
			root = session_table_root(t, s);
			assert_non_null(root);
			assert_string_not_equal(session_id(root), "outside");
			assert_ptr_equal(session_table_root(t, root), root);
			n = session_table_descendants(t, root, out, SESSION_TREE_MAX);
			assert_int_equal(n, members - 1);
			for (j = 0; j < n; j++) {
				assert_ptr_not_equal(out[j], root);
				for (k = 0;
				     k < members && strcmp(session_id(out[j]), names[k]) != 0; k++)
					;
				assert_true(k < members);
				for (k = 0; k < j; k++)
					assert_ptr_not_equal(out[k], out[j]);
			}
			n = session_table_descendants(t, s, out, SESSION_TREE_MAX);
			for (j = 0; j < n; j++)
				assert_ptr_not_equal(out[j], s);
			assert_false(session_table_tree_running(t, s));
		}
		feed(t, SRV_A, STATUS("a", "busy"), 2);
		for (s = session_table_first(t); s != NULL; s = session_next(s))
			assert_int_equal(session_table_tree_running(t, session_table_root(t, s)),
			    strcmp(session_id(s), "outside") != 0);
		session_table_free(t);
	}
}

/* A title past the bound is kept cut at a character boundary, marked. */
static void test_title_cut(void **state)
{
	struct session_table *t = TABLE_NEW();
	char title[3 * SESSION_MAX_TITLE + 1];
	const char *kept;
	size_t i, len;
	json_t *info;
	struct session *s;

	(void)state;
	assert_non_null(t);
	/* Two-byte characters, so that a cut in the middle of one is possible. */
	for (i = 0; i + 2 < sizeof(title); i += 2)
		memcpy(title + i, "\xc3\xa9", 2);
	title[i] = '\0';
	info = json_pack("{s:s, s:s, s:s}", "id", "ses_t", "directory", "/p", "title", title);
	assert_non_null(s = merge(t, SRV_A, info));
	json_decref(info);
	kept = session_title(s);
	len = strlen(kept);
	assert_true(len <= SESSION_MAX_TITLE);
	assert_true(len > SESSION_MAX_TITLE - 8);
	assert_string_equal(kept + len - strlen(SESSION_CUT_MARK), SESSION_CUT_MARK);
	assert_memory_equal(kept, title, len - strlen(SESSION_CUT_MARK));
	assert_int_equal((len - strlen(SESSION_CUT_MARK)) % 2, 0);
	/* One that fits is kept whole. */
	info = json_pack("{s:s, s:s}", "id", "ses_t", "title", "short");
	assert_ptr_equal(merge(t, SRV_A, info), s);
	json_decref(info);
	assert_string_equal(session_title(s), "short");
	session_table_free(t);
}

/* The same id on two servers: a lookup by id alone prefers the running one. */
static void test_find_any(void **state)
{
	static const struct {
		const char *first, *second; /* statuses on A (fed first) and B */
		bool a_first;               /* feed A's entry before B's */
		struct server *want;        /* NULL: either will do */
	} cases[] = {
		{ "busy", "idle", true, SRV_A },
		{ "busy", "idle", false, SRV_A },
		{ "idle", "busy", true, SRV_B },
		{ "idle", "busy", false, SRV_B },
		{ "idle", "retry", true, SRV_B },
		{ "retry", "idle", false, SRV_A },
		{ "idle", "idle", true, NULL },
		{ "busy", "busy", true, NULL },
	};
	struct session_table *t;
	struct session *s;
	char a[256], b[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = TABLE_NEW();
		assert_non_null(t);
		snprintf(a, sizeof(a),
		    "{\"type\":\"session.status\",\"properties\":"
		    "{\"sessionID\":\"ses_1\",\"status\":{\"type\":\"%s\"}}}",
		    cases[i].first);
		snprintf(b, sizeof(b),
		    "{\"type\":\"session.status\",\"properties\":"
		    "{\"sessionID\":\"ses_1\",\"status\":{\"type\":\"%s\"}}}",
		    cases[i].second);
		if (cases[i].a_first) {
			feed(t, SRV_A, a, 1);
			feed(t, SRV_B, b, 2);
		} else {
			feed(t, SRV_B, b, 1);
			feed(t, SRV_A, a, 2);
		}
		feed(t, SRV_A, SIDLE("ses_9"), 3);
		assert_int_equal(session_table_count(t), 3);
		s = session_table_find_any(t, "ses_1");
		assert_non_null(s);
		assert_string_equal(session_id(s), "ses_1");
		if (cases[i].want != NULL)
			assert_ptr_equal(session_server(s), cases[i].want);
		assert_null(session_table_find_any(t, "ses_2"));
		assert_null(session_table_find(t, SRV_B, "ses_9"));
		assert_non_null(session_table_find_any(t, "ses_9"));
		session_table_free(t);
	}
}

static void test_drop_server(void **state)
{
	struct session_table *t = TABLE_NEW();
	struct session *s;

	(void)state;
	assert_non_null(t);
	feed(t, SRV_A, STATUS("a1", "busy"), 1);
	feed(t, SRV_B, STATUS("b1", "busy"), 2);
	feed(t, SRV_A, CREATED("a2"), 3);
	feed(t, SRV_B, CREATED("a1"), 4);
	feed(t, SRV_A, SIDLE("a3"), 5);
	assert_int_equal(session_table_count(t), 5);

	session_table_drop_server(t, SRV_A);
	assert_int_equal(session_table_count(t), 2);
	assert_null(session_table_find(t, SRV_A, "a1"));
	assert_null(session_table_find(t, SRV_A, "a2"));
	assert_null(session_table_find(t, SRV_A, "a3"));
	assert_non_null(session_table_find(t, SRV_B, "b1"));
	assert_ptr_equal(session_table_find_any(t, "a1"), session_table_find(t, SRV_B, "a1"));
	for (s = session_table_first(t); s != NULL; s = session_next(s))
		assert_ptr_equal(session_server(s), SRV_B);

	/* Again, or for a server with nothing: no change. */
	session_table_drop_server(t, SRV_A);
	assert_int_equal(session_table_count(t), 2);
	session_table_drop_server(t, SRV_B);
	assert_int_equal(session_table_count(t), 0);
	assert_null(session_table_first(t));
	session_table_free(t);
}

/* The table is bounded at 4096 entries; idle ones make room, oldest first. */
#define TABLE_MAX 4096
#define SMALL_TABLE() session_table_new(TABLE_MAX, SESSION_TABLE_MAX_BYTES)

static void test_eviction(void **state)
{
	struct session_table *t = SMALL_TABLE();
	struct session_event ev;
	char json[256];
	json_t *p;
	int i;

	(void)state;
	assert_non_null(t);
	/* Three running sessions, seen before any idle one. */
	for (i = 0; i < 3; i++) {
		snprintf(json, sizeof(json), STATUS("run_%d", "busy"), i);
		feed(t, SRV_A, json, 1 + i);
	}
	for (i = 0; i < TABLE_MAX - 3; i++) {
		snprintf(json, sizeof(json), SIDLE("idle_%d"), i);
		feed(t, SRV_A, json, 100 + i);
	}
	assert_int_equal(session_table_count(t), TABLE_MAX);

	/* Refresh the oldest idle one: idle_1 is now the least recently active. */
	feed(t, SRV_A, SIDLE("idle_0"), 100000);
	assert_int_equal(session_table_count(t), TABLE_MAX);

	snprintf(json, sizeof(json), SIDLE("new_%d"), 0);
	feed(t, SRV_A, json, 100001);
	assert_int_equal(session_table_count(t), TABLE_MAX);
	assert_non_null(session_table_find(t, SRV_A, "new_0"));
	assert_null(session_table_find(t, SRV_A, "idle_1"));
	assert_non_null(session_table_find(t, SRV_A, "idle_0"));
	assert_non_null(session_table_find(t, SRV_A, "idle_2"));
	for (i = 0; i < 3; i++) {
		snprintf(json, sizeof(json), "run_%d", i);
		assert_non_null(session_table_find(t, SRV_A, json));
	}
	session_table_free(t);

	/* All running: none is evicted, and the newcomer does not get in. */
	t = SMALL_TABLE();
	assert_non_null(t);
	for (i = 0; i < TABLE_MAX; i++) {
		snprintf(json, sizeof(json), STATUS("run_%d", "busy"), i);
		feed(t, SRV_A, json, 1 + i);
	}
	(void)apply(t, SRV_A, NULL, SIDLE("late"), 1000000, &ev, &p);
	json_decref(p);
	assert_int_equal(session_table_count(t), TABLE_MAX);
	assert_null(session_table_find(t, SRV_A, "late"));
	for (i = 0; i < TABLE_MAX; i++) {
		snprintf(json, sizeof(json), "run_%d", i);
		assert_non_null(session_table_find(t, SRV_A, json));
	}
	session_table_free(t);
}

static void test_status_names(void **state)
{
	static const struct {
		enum session_status s;
		const char *name;
		bool running;
	} cases[] = {
		{ IDLE, "idle", false },
		{ BUSY, "busy", true },
		{ RETRY, "retry", true },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(session_status_name(cases[i].s), cases[i].name);
		assert_int_equal(session_status_running(cases[i].s), cases[i].running);
	}
	session_table_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_info_merge),
		cmocka_unit_test(test_set_status),
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_descendants),
		cmocka_unit_test(test_tree_running),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_title_cut),
		cmocka_unit_test(test_find_any),
		cmocka_unit_test(test_drop_server),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
