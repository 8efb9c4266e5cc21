#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/session.h"
#include "core/util.h"

/* Which list an entry's state link is on. */
enum placement {
	ON_NONE,    /* pinned and idle: on neither list, so never evicted */
	ON_RUNNING, /* busy or retrying */
	ON_IDLE,    /* idle and evictable, least recently active first */
};

/* The children of one parent id, whether or not the parent is known yet:
 * OpenCode may report a child before its parent. */
struct family {
	UT_hash_handle hh; /* in families, keyed by parent */
	TAILQ_HEAD(, session) kids;
	char parent[];
};

struct session {
	UT_hash_handle hh;       /* in by_id when first of its id */
	struct session *same_id; /* the next entry of this id, on another server */
	struct server *server;
	char *id;
	char *directory;
	char *parent;
	char *title;
	enum session_status status;
	bool info_known; /* parent and title came from a Session object */
	bool background; /* a subagent its parent's task sent to the background */
	unsigned pins;
	uint32_t mark; /* last walk that visited it */
	enum placement on;
	struct family *family; /* its parent's family, NULL without a parent */
	TAILQ_ENTRY(session) sibling;
	TAILQ_ENTRY(session) all;
	TAILQ_ENTRY(session) state;
	size_t bytes; /* what it counts in the table's bytes */
};

TAILQ_HEAD(session_list, session);

struct session_table {
	struct session *by_id;
	struct family *families;
	struct session_list all;
	struct session_list running;
	struct session_list idle;
	size_t count;
	size_t n_running;
	size_t bytes;
	size_t max;
	size_t max_bytes;
	uint64_t evicted;
	uint32_t walk;
};

struct session_table *session_table_new(size_t max_sessions, size_t max_bytes)
{
	struct session_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	TAILQ_INIT(&t->all);
	TAILQ_INIT(&t->running);
	TAILQ_INIT(&t->idle);
	t->max = max_sessions;
	t->max_bytes = max_bytes;
	return t;
}

static size_t str_bytes(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

/* Recount what s holds, after a string of it changed. */
static void account(struct session_table *t, struct session *s)
{
	t->bytes -= s->bytes;
	s->bytes = sizeof(*s) + str_bytes(s->id) + str_bytes(s->directory) + str_bytes(s->parent) +
	    str_bytes(s->title);
	t->bytes += s->bytes;
}

static struct session_list *list_of(struct session_table *t, enum placement on)
{
	return on == ON_RUNNING ? &t->running : on == ON_IDLE ? &t->idle : NULL;
}

/* Put s on the list its status and pins call for; a move to idle makes it
 * the most recently active. */
static void place(struct session_table *t, struct session *s)
{
	enum placement want = session_status_running(s->status) ? ON_RUNNING
	    : s->pins > 0                                       ? ON_NONE
								: ON_IDLE;

	if (want == s->on)
		return;
	if (s->on != ON_NONE)
		TAILQ_REMOVE(list_of(t, s->on), s, state);
	if (s->on == ON_RUNNING)
		t->n_running--;
	s->on = want;
	if (want != ON_NONE)
		TAILQ_INSERT_TAIL(list_of(t, want), s, state);
	if (want == ON_RUNNING)
		t->n_running++;
}

/* Activity: an idle entry becomes the most recently active. */
static void touch(struct session_table *t, struct session *s)
{
	if (s->on != ON_IDLE)
		return;
	TAILQ_REMOVE(&t->idle, s, state);
	TAILQ_INSERT_TAIL(&t->idle, s, state);
}

static struct session *name_find(struct session_table *t, const char *id)
{
	struct session *s = NULL;

	HASH_FIND(hh, t->by_id, id, strlen(id), s);
	return s;
}

static struct family *family_find(struct session_table *t, const char *parent)
{
	struct family *f = NULL;

	HASH_FIND(hh, t->families, parent, strlen(parent), f);
	return f;
}

static void family_leave(struct session_table *t, struct session *s)
{
	struct family *f = s->family;

	if (f == NULL)
		return;
	TAILQ_REMOVE(&f->kids, s, sibling);
	s->family = NULL;
	if (TAILQ_EMPTY(&f->kids)) {
		HASH_DELETE(hh, t->families, f);
		t->bytes -= sizeof(*f) + strlen(f->parent) + 1;
		free(f);
	}
}

/* Join the family of s->parent; -1 when memory runs out (s then has a
 * parent that does not list it, which only a walk from above misses). */
static int family_join(struct session_table *t, struct session *s)
{
	size_t len = strlen(s->parent);
	struct family *f = family_find(t, s->parent);

	if (f == NULL) {
		if ((f = malloc(sizeof(*f) + len + 1)) == NULL)
			return -1;
		memcpy(f->parent, s->parent, len + 1);
		TAILQ_INIT(&f->kids);
		HASH_ADD_KEYPTR(hh, t->families, f->parent, len, f);
		if (f->hh.tbl == NULL) {
			free(f);
			return -1;
		}
		t->bytes += sizeof(*f) + len + 1;
	}
	TAILQ_INSERT_TAIL(&f->kids, s, sibling);
	s->family = f;
	return 0;
}

static void session_free(struct session *s)
{
	free(s->id);
	free(s->directory);
	free(s->parent);
	free(s->title);
	free(s);
}

static void drop_unindexed(struct session_table *t, struct session *chain);

/* Take s out of the id index, keeping the others of its id findable. */
static void name_leave(struct session_table *t, struct session *s)
{
	struct session *head = name_find(t, s->id), *p, *next;

	if (head != s) {
		for (p = head; p != NULL && p->same_id != s; p = p->same_id)
			;
		if (p != NULL)
			p->same_id = s->same_id;
		s->same_id = NULL;
		return;
	}
	HASH_DELETE(hh, t->by_id, s);
	next = s->same_id;
	s->same_id = NULL;
	if (next == NULL)
		return;
	/* Deleting the last id frees the hash's table, so this may allocate. */
	HASH_ADD_KEYPTR(hh, t->by_id, next->id, strlen(next->id), next);
	if (next->hh.tbl == NULL) {
		log_warnx("out of memory re-indexing session %s; forgetting its entries", next->id);
		drop_unindexed(t, next);
	}
}

/* Everything of s but the id index. */
static void unlink_rest(struct session_table *t, struct session *s)
{
	family_leave(t, s);
	TAILQ_REMOVE(&t->all, s, all);
	if (s->on != ON_NONE)
		TAILQ_REMOVE(list_of(t, s->on), s, state);
	if (s->on == ON_RUNNING)
		t->n_running--;
	t->count--;
	t->bytes -= s->bytes;
	session_free(s);
}

/* Entries of one id that a failed re-index left unreachable. */
static void drop_unindexed(struct session_table *t, struct session *chain)
{
	struct session *next;

	for (; chain != NULL; chain = next) {
		next = chain->same_id;
		unlink_rest(t, chain);
	}
}

void session_table_remove(struct session_table *t, struct session *s)
{
	name_leave(t, s);
	unlink_rest(t, s);
}

void session_table_free(struct session_table *t)
{
	struct session *s;

	if (t == NULL)
		return;
	while ((s = TAILQ_FIRST(&t->all)) != NULL)
		session_table_remove(t, s);
	free(t);
}

/* Make room for one more entry of about need bytes, evicting the least
 * recently active idle ones; false with errno ENOSPC when nothing may go. */
static bool make_room(struct session_table *t, size_t need)
{
	struct session *victim;

	while (t->count >= t->max || t->bytes + need > t->max_bytes) {
		if ((victim = TAILQ_FIRST(&t->idle)) == NULL) {
			errno = ENOSPC;
			return false;
		}
		t->evicted++;
		log_debug("forgot idle session %s to make room", victim->id);
		if (is_power_of_ten(t->evicted))
			log_info("session table full (%zu sessions, %zu bytes): forgot %llu idle "
				 "sessions so far, least recently active first",
			    t->count, t->bytes, (unsigned long long)t->evicted);
		session_table_remove(t, victim);
	}
	return true;
}

/* A directory as kept: a path too long to be real is treated as unknown. */
static const char *kept_directory(const char *dir)
{
	return dir != NULL && strlen(dir) < SESSION_MAX_DIRECTORY ? dir : NULL;
}

static struct session *session_create(struct session_table *t, struct server *server,
    const char *id, const char *directory)
{
	struct session *s, *head;
	bool failed = false;

	directory = kept_directory(directory);
	if (!make_room(t, sizeof(*s) + str_bytes(id) + str_bytes(directory)))
		return NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->server = server;
	s->id = str_dup_or_null(id, &failed);
	s->directory = str_dup_or_null(directory, &failed);
	if (failed) {
		session_free(s);
		return NULL;
	}
	if ((head = name_find(t, id)) != NULL) {
		s->same_id = head->same_id;
		head->same_id = s;
	} else {
		HASH_ADD_KEYPTR(hh, t->by_id, s->id, strlen(s->id), s);
		if (s->hh.tbl == NULL) {
			session_free(s);
			return NULL;
		}
	}
	TAILQ_INSERT_TAIL(&t->all, s, all);
	t->count++;
	place(t, s);
	account(t, s);
	return s;
}

/* The title as kept: cut to SESSION_MAX_TITLE bytes at a character
 * boundary, marked as cut, so a huge title cannot blow up replies. NULL on
 * failure. */
static char *title_copy(const char *title)
{
	size_t len = strlen(title), mark = 0;
	char *copy;

	if (len > SESSION_MAX_TITLE) {
		mark = sizeof(SESSION_CUT_MARK) - 1;
		len = SESSION_MAX_TITLE - mark;
		while (len > 0 && ((unsigned char)title[len] & 0xc0) == 0x80)
			len--;
	}
	if ((copy = malloc(len + mark + 1)) == NULL)
		return NULL;
	memcpy(copy, title, len);
	memcpy(copy + len, SESSION_CUT_MARK, mark);
	copy[len + mark] = '\0';
	return copy;
}

static int set_title(struct session *s, const char *title)
{
	char *copy;

	if (title == NULL)
		return 0;
	if ((copy = title_copy(title)) == NULL)
		return -1;
	if (s->title != NULL && strcmp(s->title, copy) == 0) {
		free(copy);
		return 0;
	}
	free(s->title);
	s->title = copy;
	return 0;
}

/* Whether making parent the parent of s would make s its own ancestor. */
static bool closes_cycle(struct session_table *t, const struct session *s, const char *parent)
{
	const struct session *p;
	int depth;

	if (strcmp(parent, s->id) == 0)
		return true;
	p = session_table_find(t, s->server, parent);
	for (depth = 0; p != NULL && depth < SESSION_MAX_DEPTH; depth++) {
		if (p == s)
			return true;
		if (p->parent == NULL)
			break;
		p = session_table_find(t, s->server, p->parent);
	}
	return false;
}

static int set_parent(struct session_table *t, struct session *s, const char *parent)
{
	if (parent == NULL || (s->parent != NULL && strcmp(s->parent, parent) == 0))
		return 0;
	if (closes_cycle(t, s, parent)) {
		log_debug("session %s: parent %s ignored: it would close a cycle", s->id, parent);
		return 0;
	}
	family_leave(t, s);
	if (str_replace(&s->parent, parent) < 0)
		return -1;
	return family_join(t, s);
}

struct session *session_table_merge_info(struct session_table *t, struct server *server,
    const struct oc_info *info)
{
	struct session *s = session_table_find(t, server, info->id);
	int rc;

	if (s == NULL && (s = session_create(t, server, info->id, info->directory)) == NULL)
		return NULL;
	rc = str_replace(&s->directory, kept_directory(info->directory));
	rc |= set_parent(t, s, info->parent);
	rc |= set_title(s, info->title);
	account(t, s);
	if (rc != 0)
		return NULL;
	s->info_known = true;
	return s;
}

static void set_status(struct session_table *t, struct session *s, enum session_status status)
{
	s->status = status;
	place(t, s);
}

struct session *session_table_set_status(struct session_table *t, struct server *server,
    const char *id, const char *directory, enum session_status status, bool *changed)
{
	struct session *s = session_table_find(t, server, id);

	*changed = false;
	if (s == NULL) {
		if ((s = session_create(t, server, id, directory)) == NULL)
			return NULL;
		*changed = status != SESSION_IDLE;
	} else if (s->status != status) {
		*changed = true;
	}
	set_status(t, s, status);
	return s;
}

int session_table_apply(struct session_table *t, struct server *server, const char *directory,
    const struct oc_event *ev, struct session_change *out)
{
	struct session *s, *bg;

	memset(out, 0, sizeof(*out));
	if (ev->kind == OC_NONE)
		return 0;
	s = session_table_find(t, server, ev->session_id);
	if (ev->kind == OC_DELETED) {
		if (s != NULL)
			session_table_remove(t, s);
		return 0;
	}
	if (ev->kind == OC_INFO) {
		out->created = s == NULL;
		if ((s = session_table_merge_info(t, server, &ev->info)) == NULL)
			return -1;
	} else if (s == NULL) {
		if ((s = session_create(t, server, ev->session_id, directory)) == NULL)
			return -1;
		out->created = true;
	}
	out->session = s;
	out->old_status = s->status;
	if (ev->kind == OC_STATUS) {
		set_status(t, s, ev->status);
		out->status_changed = out->old_status != ev->status;
	} else if (ev->kind == OC_PART && !session_status_running(s->status) && out->created) {
		/* Output proves it runs even if we missed its busy status. A part
		 * event after an abort's idle is the aborted part being closed, so
		 * only a new entry is marked busy here. */
		set_status(t, s, SESSION_BUSY);
		out->status_changed = true;
	}
	if (ev->kind == OC_PART || ev->kind == OC_STATUS)
		touch(t, s);
	if (ev->background != NULL && (bg = session_table_find(t, server, ev->background)) != NULL)
		bg->background = true;
	return 0;
}

struct session *session_table_find(struct session_table *t, const struct server *server,
    const char *id)
{
	struct session *s;

	for (s = name_find(t, id); s != NULL; s = s->same_id)
		if (s->server == server)
			return s;
	return NULL;
}

struct session *session_table_find_any(struct session_table *t, const char *id)
{
	struct session *s, *found = NULL;

	for (s = name_find(t, id); s != NULL; s = s->same_id)
		if (found == NULL || session_status_running(s->status))
			found = s;
	return found;
}

struct session *session_table_root(struct session_table *t, struct session *s)
{
	struct session *parent;
	int depth;

	for (depth = 0; depth < SESSION_MAX_DEPTH && s->parent != NULL; depth++) {
		if ((parent = session_table_find(t, s->server, s->parent)) == NULL)
			break;
		s = parent;
	}
	return s;
}

/* One tree walk: each descendant of node on its server once, depth first.
 * visit returns false to end the walk. */
struct walk {
	struct session_table *t;
	uint32_t mark;
	bool (*visit)(struct walk *w, struct session *s);
	struct session **out;
	size_t max;
	size_t n;
	bool stopped;
};

static void walk_from(struct walk *w, const struct session *node, int depth)
{
	struct family *f;
	struct session *kid;

	if (depth >= SESSION_MAX_DEPTH || (f = family_find(w->t, node->id)) == NULL)
		return;
	TAILQ_FOREACH(kid, &f->kids, sibling) {
		if (w->stopped)
			return;
		if (kid->server != node->server || kid->mark == w->mark)
			continue;
		kid->mark = w->mark;
		if (!w->visit(w, kid)) {
			w->stopped = true;
			return;
		}
		walk_from(w, kid, depth + 1);
	}
}

static void walk(struct walk *w, struct session *root)
{
	/* 0 is every entry's mark at birth, so a walk's mark never is. */
	if (++w->t->walk == 0)
		w->t->walk = 1;
	w->mark = w->t->walk;
	/* The root too: it is never its own descendant, whatever the data. */
	root->mark = w->mark;
	walk_from(w, root, 0);
}

static bool collect(struct walk *w, struct session *s)
{
	if (w->n < w->max)
		w->out[w->n] = s;
	w->n++;
	return true;
}

size_t session_table_descendants(struct session_table *t, struct session *root,
    struct session **out, size_t max)
{
	struct walk w = { .t = t, .visit = collect, .out = out, .max = max };

	walk(&w, root);
	return w.n;
}

static bool not_running(struct walk *w, struct session *s)
{
	(void)w;
	return !session_status_running(s->status);
}

bool session_table_tree_running(struct session_table *t, struct session *root)
{
	struct walk w = { .t = t, .visit = not_running };

	if (session_status_running(root->status))
		return true;
	walk(&w, root);
	return w.stopped;
}

void session_table_drop_server(struct session_table *t, const struct server *server)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&t->all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, all);
		if (s->server == server)
			session_table_remove(t, s);
	}
}

void session_pin(struct session_table *t, struct session *s)
{
	s->pins++;
	place(t, s);
}

void session_unpin(struct session_table *t, struct session *s)
{
	if (s->pins == 0)
		return;
	s->pins--;
	place(t, s);
}

struct session *session_table_first(struct session_table *t)
{
	return TAILQ_FIRST(&t->all);
}

struct session *session_next(const struct session *s)
{
	return TAILQ_NEXT(s, all);
}

struct session *session_table_first_running(struct session_table *t)
{
	return TAILQ_FIRST(&t->running);
}

struct session *session_next_running(const struct session *s)
{
	return TAILQ_NEXT(s, state);
}

size_t session_table_count(const struct session_table *t)
{
	return t->count;
}

size_t session_table_running(const struct session_table *t)
{
	return t->n_running;
}

size_t session_table_bytes(const struct session_table *t)
{
	return t->bytes;
}

uint64_t session_table_evicted(const struct session_table *t)
{
	return t->evicted;
}

const char *session_id(const struct session *s)
{
	return s->id;
}

struct server *session_server(const struct session *s)
{
	return s->server;
}

const char *session_directory(const struct session *s)
{
	return s->directory;
}

const char *session_parent(const struct session *s)
{
	return s->parent;
}

const char *session_title(const struct session *s)
{
	return s->title;
}

enum session_status session_status(const struct session *s)
{
	return s->status;
}

bool session_info_known(const struct session *s)
{
	return s->info_known;
}

bool session_background(const struct session *s)
{
	return s->background;
}

bool session_pinned(const struct session *s)
{
	return s->pins > 0;
}
