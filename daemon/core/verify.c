#include <string.h>

#include "core/verify.h"

void verify_init(struct verify *v, int64_t quiet_ms, int64_t now_ms)
{
	memset(v, 0, sizeof(*v));
	v->quiet_ms = quiet_ms;
	v->armed_ms = now_ms;
	v->state = VERIFY_WAITING;
}

int verify_add(struct verify *v, const char *id)
{
	if (verify_find(v, id) >= 0)
		return 0;
	if (v->n >= VERIFY_MAX_TARGETS)
		return -1;
	v->ids[v->n] = id;
	v->idle[v->n] = false;
	v->n++;
	return 0;
}

int verify_find(const struct verify *v, const char *id)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->ids[i], id) == 0)
			return (int)i;
	return -1;
}

static bool all_idle(const struct verify *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!v->idle[i])
			return false;
	return true;
}

void verify_on_status(struct verify *v, const char *id, bool idle, int64_t now_ms)
{
	int i = verify_find(v, id);

	if (i < 0 || v->state == VERIFY_DONE)
		return;
	v->idle[i] = idle;
	if (!idle) {
		v->state = VERIFY_WAITING;
		v->all_idle_ms = 0;
		return;
	}
	if (all_idle(v)) {
		/* OpenCode repeats idle after closing the aborted part: the stop
		 * moment is the first time all were idle, the window restarts. */
		if (v->all_idle_ms == 0)
			v->all_idle_ms = now_ms;
		v->state = VERIFY_QUIET;
		v->quiet_since_ms = now_ms;
	}
}

void verify_on_part(struct verify *v, const char *id, int64_t now_ms)
{
	if (verify_find(v, id) < 0 || v->state != VERIFY_QUIET)
		return;
	v->quiet_since_ms = now_ms;
}

enum verify_state verify_poll(struct verify *v, int64_t now_ms, int64_t *wake_ms)
{
	if (v->state == VERIFY_QUIET) {
		if (now_ms - v->quiet_since_ms >= v->quiet_ms)
			v->state = VERIFY_DONE;
		else if (wake_ms != NULL)
			*wake_ms = v->quiet_since_ms + v->quiet_ms;
	}
	return v->state;
}

size_t verify_pending(const struct verify *v, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < v->n; i++) {
		if (v->idle[i])
			continue;
		if (n < max)
			out[n] = v->ids[i];
		n++;
	}
	return n;
}

void verify_reopen(struct verify *v)
{
	if (v->state != VERIFY_DONE)
		return;
	v->state = VERIFY_WAITING;
	v->all_idle_ms = 0;
}
