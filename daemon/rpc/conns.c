#include <stdio.h>

#include "core/log.h"
#include "core/util.h"
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
	free(c->news_head);
	c->news_head = NULL;
	HASH_DELETE(hh, ctl->by_id, c);
	ctl->n_conns--;
}

void conns_subscribe(struct control *ctl, struct conn *c, unsigned mask, char *head,
    size_t head_len)
{
	free(c->news_head);
	c->news_head = head;
	c->news_head_len = head_len;
	if (c->mask == 0)
		TAILQ_INSERT_TAIL(&ctl->subscribers, c, sub_link);
	/* Subscribed with nothing it knows still counts as subscribed. */
	c->mask = mask | (1u << NOTIFY_TYPES);
	update_sink(ctl);
}

bool conns_unheard(struct conn *c)
{
	return ++c->unheard <= CONTROL_MAX_UNHEARD_LOGGED || is_power_of_ten(c->unheard);
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
	proto_pack_notify_header(&ctl->news.pk, PROTO_N_EVENT);
	msgpack_pack_array(&ctl->news.pk, 1);
	ctl->news_event_at = ctl->news.size;
	view_pack_event(&ctl->news.pk, ev);
	if (ctl->news.oom) {
		log_warnx("out of memory publishing %s", notify_type_name(ev->type));
		return;
	}
	TAILQ_FOREACH(c, &ctl->subscribers, sub_link) {
		if ((c->mask & bit) == 0)
			continue;
		if (c->news_head == NULL) {
			peer_send(c->peer, ctl->news.data, ctl->news.size);
			continue;
		}
		proto_buf_reset(&ctl->news_nvim);
		proto_buf_append(&ctl->news_nvim, c->news_head, c->news_head_len);
		proto_buf_append(&ctl->news_nvim, ctl->news.data + ctl->news_event_at,
		    ctl->news.size - ctl->news_event_at);
		if (ctl->news_nvim.oom)
			log_warnx("client %llu: out of memory publishing %s",
			    (unsigned long long)c->id, notify_type_name(ev->type));
		else
			peer_send(c->peer, ctl->news_nvim.data, ctl->news_nvim.size);
	}
}

int conns_init(struct control *ctl)
{
	TAILQ_INIT(&ctl->subscribers);
	proto_buf_init(&ctl->reply);
	proto_buf_init(&ctl->news);
	proto_buf_init(&ctl->news_nvim);
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
	proto_buf_destroy(&ctl->news_nvim);
	proto_buf_destroy(&ctl->notice);
}
