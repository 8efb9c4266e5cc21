/*
 * Which session trees a request means: the one the user typed x in, the ids
 * `ocstop abort` names, everything under a directory, or everything. Both
 * the message method (the x verdict) and the abort method select through
 * here, so they cannot disagree about what runs.
 */
#ifndef OCSTOP_CORE_SELECT_H
#define OCSTOP_CORE_SELECT_H

#include <stdbool.h>
#include <stddef.h>

struct server;
struct session;
struct session_table;

/* Most trees one request selects; more are cut (and said). */
#define SELECT_MAX_TREES 64
/* Most session ids one request names; the abort method refuses more. */
#define SELECT_MAX_IDS 64

/* What the table knows of one id. */
enum select_found {
	SELECT_RUNNING, /* its tree runs: the root was selected */
	SELECT_IDLE,    /* known, and nothing in its tree runs */
	SELECT_UNKNOWN, /* no entry: it may run where no event has told us */
};

struct selection {
	struct session *roots[SELECT_MAX_TREES]; /* borrowed from the table */
	size_t n;
	bool truncated;                  /* more than SELECT_MAX_TREES */
	char *unknown[SELECT_MAX_TREES]; /* ids no event has named */
	size_t n_unknown;
	/* Roots found idle, so that ids of one idle tree walk it once. */
	struct session *idle[SELECT_MAX_IDS];
	size_t n_idle;
};

/* An empty selection. */
void selection_init(struct selection *sel);
/* Frees the unknown ids; the roots are the table's. */
void selection_clear(struct selection *sel);

/* Select the tree of one id (length len, not NUL-terminated), looked up on
 * prefer first when given (the OpenCode process the request came from),
 * else on any server, preferring one where it runs. An unknown id is kept
 * in sel->unknown when keep_unknown is set. */
enum select_found selection_add_id(struct selection *sel, struct session_table *t,
    const struct server *prefer, const char *id, size_t len, bool keep_unknown);

/* Select every running tree with a session whose directory contains dir
 * (so that `ocstop` in a project's subfolder finds the project's sessions),
 * or every running tree when all is set. Walks only what runs. */
void selection_add_where(struct selection *sel, struct session_table *t, const char *dir, bool all);

#endif
