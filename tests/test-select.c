/*
 * Selecting what a request means: one id (preferring the asking OpenCode
 * process), unknown and malformed ids, and everything running under a
 * directory or at all; each tree once, and the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/select.h"
#include "core/session.h"
#include "helpers.h"
#include "proto.h"

static char server_a_obj, server_b_obj;
#define SRV_A ((struct server *)&server_a_obj)
#define SRV_B ((struct server *)&server_b_obj)

static void feed(struct session_table *t, struct server *srv, const char *dir, json_t *j)
{
	struct session_change change;
	struct oc_event ev;

	assert_int_not_equal(oc_event_read(j, &ev), OC_NONE);
	assert_int_equal(session_table_apply(t, srv, dir, &ev, &change), 0);
	json_decref(j);
}

#define STATUS(t, srv, dir, id, st) \
	feed(t, srv, dir, \
	    jsonf("{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\"," \
		  "\"status\":{\"type\":\"%s\"}}}", \
		id, st))
#define CHILD(t, srv, id, parent, dir) \
	feed(t, srv, NULL, \
	    jsonf("{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"%s\"," \
		  "\"parentID\":\"%s\",\"directory\":\"%s\"}}}", \
		id, parent, dir))

/*
 * On A: r (busy, /proj) -> c (idle), r2 (idle, /proj) -> k (busy, /proj/sub)
 *       i (idle, /other)
 * On B: r (idle, /proj), b (busy, /elsewhere)
 */
static struct session_table *world(void)
{
	struct session_table *t = session_table_new(SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES);

	assert_non_null(t);
	STATUS(t, SRV_A, "/proj", "r", "busy");
	CHILD(t, SRV_A, "c", "r", "/proj");
	STATUS(t, SRV_A, "/proj", "r2", "idle");
	CHILD(t, SRV_A, "k", "r2", "/proj/sub");
	STATUS(t, SRV_A, "/proj/sub", "k", "busy");
	STATUS(t, SRV_A, "/other", "i", "idle");
	STATUS(t, SRV_B, "/proj", "r", "idle");
	STATUS(t, SRV_B, "/elsewhere", "b", "busy");
	return t;
}

static void test_by_id(void **state)
{
	static const struct {
		const char *id;
		struct server *prefer;
		enum select_found found;
		const char *root;      /* NULL: nothing selected */
		struct server *server; /* of the root */
	} cases[] = {
		{ "r", NULL, SELECT_RUNNING, "r", SRV_A },  /* the running one of two */
		{ "c", NULL, SELECT_RUNNING, "r", SRV_A },  /* its tree runs */
		{ "k", NULL, SELECT_RUNNING, "r2", SRV_A }, /* a running child makes its tree run */
		{ "r2", NULL, SELECT_RUNNING, "r2", SRV_A },
		{ "i", NULL, SELECT_IDLE, NULL, NULL },
		{ "r", SRV_B, SELECT_IDLE, NULL, NULL },    /* the asking process's own r is idle */
		{ "b", SRV_A, SELECT_RUNNING, "b", SRV_B }, /* not on A: any server */
		{ "ses_nobody", NULL, SELECT_UNKNOWN, NULL, NULL },
	};
	struct session_table *t = world();
	struct selection sel;
	enum select_found f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].id);
		selection_init(&sel);
		f = selection_add_id(&sel, t, cases[i].prefer, cases[i].id, strlen(cases[i].id),
		    true);
		assert_int_equal(f, cases[i].found);
		if (cases[i].root == NULL) {
			assert_int_equal(sel.n, 0);
		} else {
			assert_int_equal(sel.n, 1);
			assert_string_equal(session_id(sel.roots[0]), cases[i].root);
			assert_ptr_equal(session_server(sel.roots[0]), cases[i].server);
		}
		assert_int_equal(sel.n_unknown, f == SELECT_UNKNOWN ? 1 : 0);
		selection_clear(&sel);
	}
	session_table_free(t);
}

/* Ids OpenCode cannot have made select nothing and are not kept; the
 * length given is what counts, not a NUL. */
static void test_odd_ids(void **state)
{
	static const char *const odd[] = { "", "ses/../x", "ses x", "a\"b" };
	char longer[PROTO_MAX_SESSION_ID + 2];
	struct session_table *t = world();
	struct selection sel;
	size_t i;

	(void)state;
	selection_init(&sel);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		assert_int_equal(selection_add_id(&sel, t, NULL, odd[i], strlen(odd[i]), true),
		    SELECT_UNKNOWN);
	memset(longer, 'a', sizeof(longer));
	assert_int_equal(selection_add_id(&sel, t, NULL, longer, sizeof(longer), true),
	    SELECT_UNKNOWN);
	assert_int_equal(sel.n_unknown, 0);
	/* "rXYZ" cut to one byte is "r". */
	assert_int_equal(selection_add_id(&sel, t, NULL, "rXYZ", 1, true), SELECT_RUNNING);
	assert_int_equal(sel.n, 1);
	selection_clear(&sel);
	session_table_free(t);
}

/* One tree however often it is named; unknown ids once each, and kept only
 * when asked. */
static void test_once(void **state)
{
	struct session_table *t = world();
	struct selection sel;

	(void)state;
	selection_init(&sel);
	selection_add_id(&sel, t, NULL, "r", 1, true);
	selection_add_id(&sel, t, NULL, "c", 1, true);
	selection_add_id(&sel, t, NULL, "r", 1, true);
	selection_add_id(&sel, t, NULL, "ses_x", 5, true);
	selection_add_id(&sel, t, NULL, "ses_x", 5, true);
	selection_add_id(&sel, t, NULL, "ses_y", 5, false);
	assert_int_equal(sel.n, 1);
	assert_int_equal(sel.n_unknown, 1);
	assert_string_equal(sel.unknown[0], "ses_x");
	selection_clear(&sel);
	assert_int_equal(sel.n, 0);
	assert_int_equal(sel.n_unknown, 0);
	session_table_free(t);
}

/* Parents reported in a cycle: one tree, selected once from any member,
 * each session in it once. */
static void test_cycle(void **state)
{
	struct session_table *t = session_table_new(SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES);
	struct session *kids[SESSION_TREE_MAX];
	struct selection sel;

	(void)state;
	assert_non_null(t);
	CHILD(t, SRV_A, "ses_z", "ses_y", "/c");
	CHILD(t, SRV_A, "ses_y", "ses_z", "/c");
	STATUS(t, SRV_A, "/c", "ses_z", "busy");
	STATUS(t, SRV_A, "/c", "ses_y", "busy");
	selection_init(&sel);
	assert_int_equal(selection_add_id(&sel, t, NULL, "ses_z", 5, true), SELECT_RUNNING);
	assert_int_equal(selection_add_id(&sel, t, NULL, "ses_y", 5, true), SELECT_RUNNING);
	selection_add_where(&sel, t, "/c", false);
	assert_int_equal(sel.n, 1);
	assert_int_equal(session_table_descendants(t, sel.roots[0], kids, SESSION_TREE_MAX), 1);
	assert_ptr_not_equal(kids[0], sel.roots[0]);
	selection_clear(&sel);
	session_table_free(t);
}

static void test_where(void **state)
{
	static const struct {
		const char *dir;
		bool all;
		size_t n;
		const char *roots[3]; /* as a set */
	} cases[] = {
		/* k runs in /proj/sub, which does not contain /proj. */
		{ "/proj", false, 1, { "r" } },
		{ "/proj/sub/deeper", false, 2,
		    { "r", "r2" } },                   /* /proj and /proj/sub contain it */
		{ "/proj/subway", false, 1, { "r" } }, /* not /proj/sub */
		{ "/other", false, 0, { NULL } },      /* only idle there */
		{ "/nowhere", false, 0, { NULL } },
		{ NULL, true, 3, { "r", "r2", "b" } },
	};
	struct session_table *t = world();
	struct selection sel;
	size_t i, j, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].dir != NULL ? cases[i].dir : "(all)");
		selection_init(&sel);
		selection_add_where(&sel, t, cases[i].dir, cases[i].all);
		assert_int_equal(sel.n, cases[i].n);
		for (j = 0; j < sel.n; j++) {
			for (k = 0;
			     k < cases[i].n && strcmp(session_id(sel.roots[j]), cases[i].roots[k]);
			     k++)
				;
			assert_true(k < cases[i].n);
		}
		selection_clear(&sel);
	}
	session_table_free(t);
}

/* More trees than one request may stop: the rest are cut, and it says so. */
static void test_bound(void **state)
{
	struct session_table *t = session_table_new(SESSION_TABLE_MAX, SESSION_TABLE_MAX_BYTES);
	struct selection sel;
	char id[32];
	int i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < SELECT_MAX_TREES + 5; i++) {
		snprintf(id, sizeof(id), "ses_%d", i);
		STATUS(t, SRV_A, "/p", id, "busy");
	}
	selection_init(&sel);
	selection_add_where(&sel, t, NULL, true);
	assert_int_equal(sel.n, SELECT_MAX_TREES);
	assert_true(sel.truncated);
	selection_clear(&sel);
	selection_init(&sel);
	for (i = 0; i < SELECT_MAX_TREES + 5; i++) {
		snprintf(id, sizeof(id), "ses_unknown_%d", i);
		selection_add_id(&sel, t, NULL, id, strlen(id), true);
	}
	assert_int_equal(sel.n_unknown, SELECT_MAX_TREES);
	assert_true(sel.truncated);
	selection_clear(&sel);
	session_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_id),
		cmocka_unit_test(test_odd_ids),
		cmocka_unit_test(test_once),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
