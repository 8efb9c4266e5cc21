#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Bound on entries: past it the least recently active idle session goes. */
#define SESSION_TABLE_MAX 4096
/* Bound on tree depth when walking parents, against cycles in bad data. */
#define SESSION_MAX_DEPTH 64

struct session_table {
	struct session *head;
	size_t count;
};

struct session_table *session_table_new(void)
{
	return calloc(1, sizeof(struct session_table));
}

static void session_free(struct session *s)
{
	free(s->id);
	free(s->directory);
	free(s->parent);
	free(s->title);
	free(s);
}

void session_table_free(struct session_table *t)
{
	struct session *s, *next;

	if (t == NULL)
		return;
	for (s = t->head; s != NULL; s = next) {
		next = s->next;
		session_free(s);
	}
	free(t);
}

const char *session_status_name(enum session_status s)
{
	switch (s) {
	case SESSION_BUSY:
		return "busy";
	case SESSION_RETRY:
		return "retry";
	case SESSION_IDLE:
		break;
	}
	return "idle";
}

bool session_status_running(enum session_status s)
{
	return s == SESSION_BUSY || s == SESSION_RETRY;
}

struct session *session_table_first(struct session_table *t)
{
	return t->head;
}

size_t session_table_count(const struct session_table *t)
{
	return t->count;
}

struct session *session_table_find(struct session_table *t, struct server *server, const char *id)
{
	struct session *s;

	for (s = t->head; s != NULL; s = s->next)
		if (s->server == server && strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct session *session_table_find_any(struct session_table *t, const char *id)
{
	struct session *s, *found = NULL;

	for (s = t->head; s != NULL; s = s->next) {
		if (strcmp(s->id, id) != 0)
			continue;
		if (found == NULL || session_status_running(s->status))
			found = s;
	}
	return found;
}

static void unlink_session(struct session_table *t, struct session *victim)
{
	struct session **pp;

	for (pp = &t->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == victim) {
			*pp = victim->next;
			t->count--;
			session_free(victim);
			return;
		}
	}
}

static void evict_one(struct session_table *t)
{
	struct session *s, *oldest = NULL;

	for (s = t->head; s != NULL; s = s->next)
		if (!session_status_running(s->status) &&
		    (oldest == NULL || s->last_activity_ms < oldest->last_activity_ms))
			oldest = s;
	if (oldest != NULL)
		unlink_session(t, oldest);
}

static struct session *session_add(struct session_table *t, struct server *server, const char *id,
    const char *directory)
{
	struct session *s;

	if (t->count >= SESSION_TABLE_MAX)
		evict_one(t);
	if (t->count >= SESSION_TABLE_MAX)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->id = strdup(id);
	s->directory = directory != NULL ? strdup(directory) : NULL;
	if (s->id == NULL || (directory != NULL && s->directory == NULL)) {
		session_free(s);
		return NULL;
	}
	s->server = server;
	s->next = t->head;
	t->head = s;
	t->count++;
	return s;
}

/* Replace *field with a copy of value when they differ; -1 on allocation failure. */
static int set_str(char **field, const char *value)
{
	char *copy;

	if (value == NULL || (*field != NULL && strcmp(*field, value) == 0))
		return 0;
	copy = strdup(value);
	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

static const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

struct session *session_table_merge_info(struct session_table *t, struct server *server,
    json_t *info, int64_t now_ms)
{
	const char *id = json_str(info, "id");
	const char *parent = json_str(info, "parentID");
	struct session *s;

	if (id == NULL)
		return NULL;
	s = session_table_find(t, server, id);
	if (s == NULL) {
		s = session_add(t, server, id, json_str(info, "directory"));
		if (s == NULL)
			return NULL;
		s->last_activity_ms = now_ms;
	}
	if (set_str(&s->directory, json_str(info, "directory")) < 0 ||
	    set_str(&s->parent, parent) < 0 || set_str(&s->title, json_str(info, "title")) < 0)
		return NULL;
	s->info_known = true;
	return s;
}

struct session *session_table_set_status(struct session_table *t, struct server *server,
    const char *id, const char *directory, enum session_status status, bool *changed)
{
	struct session *s = session_table_find(t, server, id);

	*changed = false;
	if (s == NULL) {
		s = session_add(t, server, id, directory);
		if (s == NULL)
			return NULL;
		*changed = status != SESSION_IDLE;
	} else if (s->status != status) {
		*changed = true;
	}
	s->status = status;
	return s;
}

static int parse_status(json_t *status, enum session_status *out)
{
	const char *type = json_str(status, "type");

	if (type == NULL)
		return -1;
	if (strcmp(type, "busy") == 0)
		*out = SESSION_BUSY;
	else if (strcmp(type, "retry") == 0)
		*out = SESSION_RETRY;
	else if (strcmp(type, "idle") == 0)
		*out = SESSION_IDLE;
	else
		return -1;
	return 0;
}

/* The session an event is about, wherever OpenCode put its id. */
static const char *event_session_id(const char *type, json_t *props)
{
	json_t *info;

	if (strncmp(type, "session.", 8) == 0 &&
	    (info = json_object_get(props, "info")) != NULL && json_is_object(info))
		return json_str(info, "id");
	if (strcmp(type, "message.part.updated") == 0)
		return json_str(json_object_get(props, "part"), "sessionID");
	return json_str(props, "sessionID");
}

static enum session_event_kind classify(const char *type)
{
	if (strcmp(type, "session.status") == 0 || strcmp(type, "session.idle") == 0)
		return SEV_STATUS;
	if (strncmp(type, "message.part.", 13) == 0)
		return SEV_PART;
	if (strcmp(type, "session.created") == 0 || strcmp(type, "session.updated") == 0)
		return SEV_INFO;
	if (strcmp(type, "session.deleted") == 0)
		return SEV_DELETED;
	if (strcmp(type, "session.error") == 0)
		return SEV_ERROR;
	return SEV_NONE;
}

int session_table_apply(struct session_table *t, struct server *server, const char *directory,
    json_t *payload, int64_t now_ms, struct session_event *ev)
{
	json_t *props = json_object_get(payload, "properties");
	enum session_status status = SESSION_IDLE;
	struct session *s;

	memset(ev, 0, sizeof(*ev));
	ev->type = json_str(payload, "type");
	if (ev->type == NULL || !json_is_object(props))
		return 0;
	ev->kind = classify(ev->type);
	/* Info events carry the session in "info"; without it the payload is
	 * malformed, not a reason to report running out of memory. */
	if (ev->kind == SEV_INFO && !json_is_object(json_object_get(props, "info")))
		ev->kind = SEV_NONE;
	if (ev->kind == SEV_NONE)
		return 0;
	ev->session_id = event_session_id(ev->type, props);
	if (ev->session_id == NULL) {
		ev->kind = SEV_NONE;
		return 0;
	}
	if (ev->kind == SEV_STATUS && strcmp(ev->type, "session.status") == 0 &&
	    parse_status(json_object_get(props, "status"), &status) < 0) {
		ev->kind = SEV_NONE;
		return 0;
	}

	s = session_table_find(t, server, ev->session_id);
	if (ev->kind == SEV_DELETED) {
		if (s != NULL)
			unlink_session(t, s);
		return 0;
	}
	if (ev->kind == SEV_INFO) {
		ev->created = s == NULL;
		s = session_table_merge_info(t, server, json_object_get(props, "info"), now_ms);
		if (s == NULL)
			return -1;
	} else if (s == NULL) {
		s = session_add(t, server, ev->session_id, directory);
		if (s == NULL)
			return -1;
		ev->created = true;
	}
	ev->session = s;
	ev->old_status = s->status;
	if (ev->kind == SEV_STATUS) {
		s->status = status;
		ev->status_changed = ev->old_status != status;
	} else if (ev->kind == SEV_PART && !session_status_running(s->status)) {
		/* Output proves it runs even if we missed its busy status. A part
		 * event after an abort's idle is the aborted part being closed, so
		 * only a new entry is marked busy here. */
		if (ev->created) {
			s->status = SESSION_BUSY;
			ev->status_changed = true;
		}
	}
	if (ev->kind == SEV_PART || ev->kind == SEV_STATUS)
		s->last_activity_ms = now_ms;
	return 0;
}

struct session *session_table_root(struct session_table *t, struct session *s)
{
	struct session *parent;
	int depth;

	for (depth = 0; depth < SESSION_MAX_DEPTH && s->parent != NULL; depth++) {
		parent = session_table_find(t, s->server, s->parent);
		if (parent == NULL)
			break;
		s = parent;
	}
	return s;
}

static size_t collect(struct session_table *t, struct session *node, struct session **out,
    size_t max, size_t n, int depth)
{
	struct session *s;

	if (depth >= SESSION_MAX_DEPTH)
		return n;
	for (s = t->head; s != NULL; s = s->next) {
		if (s->server != node->server || s->parent == NULL || strcmp(s->parent, node->id) != 0)
			continue;
		if (n < max)
			out[n] = s;
		n = collect(t, s, out, max, n + 1, depth + 1);
	}
	return n;
}

size_t session_table_descendants(struct session_table *t, struct session *root,
    struct session **out, size_t max)
{
	return collect(t, root, out, max, 0, 0);
}

bool session_table_tree_running(struct session_table *t, struct session *root)
{
	struct session *kids[SESSION_TREE_MAX];
	size_t n, i;

	if (session_status_running(root->status))
		return true;
	n = session_table_descendants(t, root, kids, sizeof(kids) / sizeof(kids[0]));
	for (i = 0; i < n && i < sizeof(kids) / sizeof(kids[0]); i++)
		if (session_status_running(kids[i]->status))
			return true;
	return false;
}

void session_table_drop_server(struct session_table *t, struct server *server)
{
	struct session **pp = &t->head, *s;

	while ((s = *pp) != NULL) {
		if (s->server == server) {
			*pp = s->next;
			t->count--;
			session_free(s);
		} else {
			pp = &s->next;
		}
	}
}
