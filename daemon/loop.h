/*
 * The engine's host on a libevent loop: one timer for engine_tick() and one
 * event for the safe point (engine_reap()), which libevent runs from the top
 * of the loop. main.c wires the daemon with it; tests that run a real loop
 * use it too.
 */
#ifndef OCSTOP_LOOP_H
#define OCSTOP_LOOP_H

struct engine;
struct engine_host;
struct engine_loop;
struct event_base;

/* Fills *host for engine_new(); attach the engine once it exists. NULL
 * when memory runs out. Caller frees with engine_loop_free(), after the
 * engine. */
struct engine_loop *engine_loop_new(struct event_base *base, struct engine_host *host);
void engine_loop_attach(struct engine_loop *l, struct engine *e);
void engine_loop_free(struct engine_loop *l);

#endif
