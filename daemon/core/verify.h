/*
 * Proof that a stop happened, from events alone (OpenCode's abort route
 * answers true whatever it did). Every target must report idle, and then no
 * part event and no busy status may arrive for any target during the quiet
 * window. Pure logic: the caller feeds events and the clock.
 *
 *   armed --all targets idle--> quiet --window passes--> verified
 *     ^                           |
 *     +---busy status or part-----+
 */
#ifndef OCSTOP_CORE_VERIFY_H
#define OCSTOP_CORE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERIFY_MAX_TARGETS 257

enum verify_state {
	VERIFY_WAITING, /* some target has not reported idle */
	VERIFY_QUIET,   /* all idle; waiting out the quiet window */
	VERIFY_DONE,    /* proven */
};

struct verify {
	size_t n;
	const char *ids[VERIFY_MAX_TARGETS]; /* borrowed from the caller */
	bool idle[VERIFY_MAX_TARGETS];
	int64_t quiet_ms;
	int64_t armed_ms;
	int64_t all_idle_ms; /* when the last target went idle */
	int64_t quiet_since_ms;
	enum verify_state state;
};

void verify_init(struct verify *v, int64_t quiet_ms, int64_t now_ms);
/* -1 when full. */
int verify_add(struct verify *v, const char *id);
/* Index of id among targets, or -1. */
int verify_find(const struct verify *v, const char *id);

void verify_on_status(struct verify *v, const char *id, bool idle, int64_t now_ms);
void verify_on_part(struct verify *v, const char *id, int64_t now_ms);

/* Advance with the clock; returns the state. *wake_ms gets when to call
 * again while VERIFY_QUIET. */
enum verify_state verify_poll(struct verify *v, int64_t now_ms, int64_t *wake_ms);

/* Targets that have not reported idle yet, for retries and reasons. */
size_t verify_pending(const struct verify *v, const char **out, size_t max);
/* A target joined after the proof (while the stop ended what its tools
 * left): the proof waits again for every target to be idle. */
void verify_reopen(struct verify *v);

#endif
