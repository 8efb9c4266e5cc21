#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "engine/notify.h"

struct notify_sink {
	struct notify *n;
	unsigned mask;
	notify_cb cb;
	void *arg;
	bool removed; /* freed once no dispatch walks the list */
	TAILQ_ENTRY(notify_sink) link;
};

struct notify {
	TAILQ_HEAD(sink_list, notify_sink) sinks;
	unsigned wanted; /* union of the live sinks' masks */
	unsigned dispatching;
	bool has_removed;
};

static const char *const type_names[NOTIFY_TYPES] = {
	[NOTIFY_SESSION_CREATED] = "session.created",
	[NOTIFY_SESSION_STATUS] = "session.status",
	[NOTIFY_SESSION_DELETED] = "session.deleted",
	[NOTIFY_SERVER_CONNECTED] = "server.connected",
	[NOTIFY_SERVER_DISCONNECTED] = "server.disconnected",
	[NOTIFY_STOP] = "stop",
	[NOTIFY_VERDICT] = "verdict",
};

const char *notify_type_name(enum notify_type type)
{
	return (unsigned)type < NOTIFY_TYPES ? type_names[type] : "unknown";
}

int notify_type_from_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < nitems(type_names); i++)
		if (strlen(type_names[i]) == len && memcmp(type_names[i], name, len) == 0)
			return (int)i;
	return -1;
}

struct notify *notify_new(void)
{
	struct notify *n = calloc(1, sizeof(*n));

	if (n != NULL)
		TAILQ_INIT(&n->sinks);
	return n;
}

void notify_free(struct notify *n)
{
	struct notify_sink *s;

	if (n == NULL)
		return;
	while ((s = TAILQ_FIRST(&n->sinks)) != NULL) {
		TAILQ_REMOVE(&n->sinks, s, link);
		free(s);
	}
	free(n);
}

static void recompute(struct notify *n)
{
	struct notify_sink *s;

	n->wanted = 0;
	TAILQ_FOREACH(s, &n->sinks, link)
		if (!s->removed)
			n->wanted |= s->mask;
}

struct notify_sink *notify_add(struct notify *n, unsigned mask, notify_cb cb, void *arg)
{
	struct notify_sink *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->n = n;
	s->mask = mask & NOTIFY_ALL;
	s->cb = cb;
	s->arg = arg;
	TAILQ_INSERT_TAIL(&n->sinks, s, link);
	n->wanted |= s->mask;
	return s;
}

void notify_set_mask(struct notify_sink *s, unsigned mask)
{
	s->mask = mask & NOTIFY_ALL;
	recompute(s->n);
}

void notify_remove(struct notify_sink *s)
{
	struct notify *n = s->n;

	s->removed = true;
	if (n->dispatching > 0)
		n->has_removed = true;
	else {
		TAILQ_REMOVE(&n->sinks, s, link);
		free(s);
	}
	recompute(n);
}

bool notify_wanted(const struct notify *n, enum notify_type type)
{
	return (n->wanted & (1u << type)) != 0;
}

/* Free what was removed during the dispatch now that it is over. */
static void purge(struct notify *n)
{
	struct notify_sink *s, *next;

	n->has_removed = false;
	for (s = TAILQ_FIRST(&n->sinks); s != NULL; s = next) {
		next = TAILQ_NEXT(s, link);
		if (s->removed) {
			TAILQ_REMOVE(&n->sinks, s, link);
			free(s);
		}
	}
}

void notify_fire(struct notify *n, const struct notify_event *ev)
{
	struct notify_sink *s, *last;

	if (!notify_wanted(n, ev->type))
		return;
	n->dispatching++;
	/* Sinks added during the dispatch see the next event, not this one. */
	last = TAILQ_LAST(&n->sinks, sink_list);
	for (s = TAILQ_FIRST(&n->sinks); s != NULL; s = s == last ? NULL : TAILQ_NEXT(s, link))
		if (!s->removed && (s->mask & (1u << ev->type)) != 0)
			s->cb(ev, s->arg);
	if (--n->dispatching == 0 && n->has_removed)
		purge(n);
}
