/*
 * The daemon's one clock: monotonic milliseconds, so that a change of the
 * wall clock cannot stretch or cut a deadline. The engine never reads it
 * itself: callers pass the time in, so tests drive time by hand.
 */
#ifndef OCSTOP_CORE_CLOCK_H
#define OCSTOP_CORE_CLOCK_H

#include <stdint.h>

int64_t clock_now_ms(void);
/* Milliseconds since the epoch: only to compare with a deadline another
 * process on this machine set by its own wall clock. */
int64_t clock_wall_ms(void);

#endif
