#include <stdlib.h>

#include <event2/event.h>

#include "core/clock.h"
#include "engine/engine.h"
#include "loop.h"

struct engine_loop {
	struct engine *e;
	struct event *timer;
	struct event *reaper;
};

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_loop *l = arg;

	(void)fd;
	(void)what;
	engine_tick(l->e, clock_now_ms());
}

static void wake_at(void *arg, int64_t at_ms)
{
	struct engine_loop *l = arg;
	int64_t delay = at_ms - clock_now_ms();
	struct timeval tv = { 0, 0 };

	if (at_ms < 0) {
		evtimer_del(l->timer);
		return;
	}
	if (delay > 0) {
		tv.tv_sec = delay / 1000;
		tv.tv_usec = (delay % 1000) * 1000;
	}
	evtimer_add(l->timer, &tv);
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
	struct engine_loop *l = arg;

	(void)fd;
	(void)what;
	engine_reap(l->e);
}

static void reap_soon(void *arg)
{
	struct engine_loop *l = arg;

	event_active(l->reaper, EV_TIMEOUT, 0);
}

struct engine_loop *engine_loop_new(struct event_base *base, struct engine_host *host)
{
	struct engine_loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->timer = evtimer_new(base, timer_cb, l);
	l->reaper = event_new(base, -1, 0, reap_cb, l);
	if (l->timer == NULL || l->reaper == NULL) {
		engine_loop_free(l);
		return NULL;
	}
	host->wake_at = wake_at;
	host->reap_soon = reap_soon;
	host->arg = l;
	return l;
}

void engine_loop_attach(struct engine_loop *l, struct engine *e)
{
	l->e = e;
}

void engine_loop_free(struct engine_loop *l)
{
	if (l == NULL)
		return;
	if (l->timer != NULL)
		event_free(l->timer);
	if (l->reaper != NULL)
		event_free(l->reaper);
	free(l);
}
