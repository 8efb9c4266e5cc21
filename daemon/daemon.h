/*
 * The daemon's shared state, handed to every module instead of globals.
 * Modules keep their own state opaque; this struct only ties them together.
 */
#ifndef OCSTOP_DAEMON_H
#define OCSTOP_DAEMON_H

#include <stdint.h>

struct event_base;
struct http;
struct config;
struct session_table;
struct server_list;
struct stop_list;
struct client_list;

struct counters {
	uint64_t aborts;        /* trees we sent aborts for */
	uint64_t verified;      /* stops proven by events */
	uint64_t not_stopped;   /* stops that failed or timed out */
	uint64_t verdicts_pass;
	uint64_t verdicts_clear;
	uint64_t verdicts_abort;
	uint64_t clients;       /* connections accepted since start */
};

struct daemon {
	struct event_base *base;
	struct http *http;
	struct config *config;
	struct session_table *sessions;
	struct server_list *servers;
	struct stop_list *stops;
	struct client_list *clients;
	struct counters counters;
	int shutting_down;
};

/* Monotonic milliseconds, for latencies and deadlines. */
int64_t daemon_now_ms(void);

#endif
