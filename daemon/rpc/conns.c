#include <stdio.h>

#include "core/log.h"
#include "engine/engine.h"
#include "engine/notify.h"
#include "io/peer.h"
#include "rpc/control.h"
#include "rpc/rpc-int.h"
#include "rpc/views.h"

struct conn *conns_find(const struct control *ctl, uint64_t id)
{
	struct conn *c = NULL;

	HASH_FIND(hh, ctl->by_id, &id, sizeof(id), c);
	return c;
}

int conns_add(struct control *ctl, struct conn *c)
{
	HASH_ADD(hh, ctl->by_id, id, sizeof(c->id), c);
	if (c->hh.tbl == NULL)
		return -1;
	ctl->n_conns++;
	return 0;
}

/* The news this control server asks of the engine: what any subscriber wants. */
static void update_sink(struct control *ctl)
{
	struct conn *c;
	unsigned mask = 0;

	TAILQ_FOREACH(c, &ctl->subscribers, sub_link)
		mask |= c->mask;
	notify_set_mask(ctl->sink, mask);
}

void conns_forget(struct control *ctl, struct conn *c)
{
	ctl->in_flight -= c->in_flight;
	c->in_flight = 0;
	if (c->mask != 0) {
		TAILQ_REMOVE(&ctl->subscribers, c, sub_link);
		update_sink(ctl);
	}
	HASH_DELETE(hh, ctl->by_id, c);
	ctl->n_conns--;
}

void conns_subscribe(struct control *ctl, struct conn *c, unsigned mask)
{
	if (c->mask == 0)
		TAILQ_INSERT_TAIL(&ctl->subscribers, c, sub_link);
	/* Subscribed with nothing it knows still counts as subscribed. */
	c->mask = mask | (1u << NOTIFY_TYPES);
	update_sink(ctl);
}

void conns_answered(struct control *ctl, struct conn *c)
{
	if (c->in_flight == 0)
		return;
	c->in_flight--;
	ctl->in_flight--;
}

/* One event, packed once, to every subscriber that wants it. A subscriber
 * that does not read is closed by its peer later, never here. */
static void news_cb(const struct notify_event *ev, void *arg)
{
	struct control *ctl = arg;
	unsigned bit = 1u << ev->type;
	struct conn *c;

	proto_buf_reset(&ctl->news);
	view_pack_event(&ctl->news.pk, ev);
	if (ctl->news.oom) {
		log_warnx("out of memory publishing %s", notify_type_name(ev->type));
		return;
	}
	TAILQ_FOREACH(c, &ctl->subscribers, sub_link)
		if ((c->mask & bit) != 0)
			peer_send(c->peer, ctl->news.data, ctl->news.size);
}

int conns_init(struct control *ctl)
{
	TAILQ_INIT(&ctl->subscribers);
	proto_buf_init(&ctl->reply);
	proto_buf_init(&ctl->news);
	proto_buf_init(&ctl->notice);
	ctl->sink = notify_add(engine_notify(ctl->e), 0, news_cb, ctl);
	return ctl->sink != NULL ? 0 : -1;
}

void conns_fini(struct control *ctl)
{
	if (ctl->sink != NULL)
		notify_remove(ctl->sink);
	proto_buf_destroy(&ctl->reply);
	proto_buf_destroy(&ctl->news);
	proto_buf_destroy(&ctl->notice);
}
