#include <stdlib.h>
#include <string.h>

#include "core/select.h"
#include "core/session.h"
#include "core/util.h"
#include "proto.h"

void selection_init(struct selection *sel)
{
	/* Only the counts: the arrays are large and read only below them. */
	sel->n = 0;
	sel->truncated = false;
	sel->n_unknown = 0;
	sel->n_idle = 0;
}

void selection_clear(struct selection *sel)
{
	size_t i;

	for (i = 0; i < sel->n_unknown; i++)
		free(sel->unknown[i]);
	selection_init(sel);
}

/* Add root's tree once; false when it does not run. Each tree is walked
 * once per selection however many of its ids are named. */
static bool add_root(struct selection *sel, struct session_table *t, struct session *s)
{
	struct session *root = session_table_root(t, s);
	size_t i;

	for (i = 0; i < sel->n; i++)
		if (sel->roots[i] == root)
			return true;
	for (i = 0; i < sel->n_idle; i++)
		if (sel->idle[i] == root)
			return false;
	if (!session_table_tree_running(t, root)) {
		if (sel->n_idle < SELECT_MAX_IDS)
			sel->idle[sel->n_idle++] = root;
		return false;
	}
	if (sel->n >= SELECT_MAX_TREES) {
		sel->truncated = true;
		return true;
	}
	sel->roots[sel->n++] = root;
	return true;
}

enum select_found selection_add_id(struct selection *sel, struct session_table *t,
    const struct server *prefer, const char *id, size_t len, bool keep_unknown)
{
	char buf[PROTO_MAX_SESSION_ID + 1];
	struct session *s = NULL;

	/* Longer or odd ids are no session OpenCode made. */
	if (!proto_session_id_valid(id, len))
		return SELECT_UNKNOWN;
	memcpy(buf, id, len);
	buf[len] = '\0';
	if (prefer != NULL)
		s = session_table_find(t, prefer, buf);
	if (s == NULL)
		s = session_table_find_any(t, buf);
	if (s != NULL)
		return add_root(sel, t, s) ? SELECT_RUNNING : SELECT_IDLE;
	if (!keep_unknown)
		return SELECT_UNKNOWN;
	if (sel->n_unknown >= SELECT_MAX_TREES) {
		sel->truncated = true;
		return SELECT_UNKNOWN;
	}
	for (size_t i = 0; i < sel->n_unknown; i++)
		if (strcmp(sel->unknown[i], buf) == 0)
			return SELECT_UNKNOWN;
	if ((sel->unknown[sel->n_unknown] = strdup(buf)) != NULL)
		sel->n_unknown++;
	return SELECT_UNKNOWN;
}

void selection_add_where(struct selection *sel, struct session_table *t, const char *dir, bool all)
{
	struct session *s;
	const char *sdir;

	for (s = session_table_first_running(t); s != NULL; s = session_next_running(s)) {
		sdir = session_directory(s);
		/* The session's directory contains the caller's: `ocstop` run in a
		 * project's subfolder stops that project's sessions. */
		if (all || (dir != NULL && sdir != NULL && path_within(dir, sdir)))
			add_root(sel, t, s);
	}
}
