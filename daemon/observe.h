/*
 * Where transports deliver what OpenCode says: the session table is updated,
 * stops watching a session are told, and subscribers get the changes.
 */
#ifndef OCSTOP_OBSERVE_H
#define OCSTOP_OBSERVE_H

#include <stdbool.h>

#include <jansson.h>

struct daemon;
struct server;
struct session;

/* One event payload {type, properties} for directory (may be NULL). */
void observe_event(struct daemon *d, struct server *srv, const char *directory, json_t *payload);

/* A resync's view of one directory: statuses is OpenCode's map of non-idle
 * sessions {id: {type}}; running sessions of that directory missing from it
 * went idle while we were not looking. directory NULL: only set the listed. */
void observe_statuses(struct daemon *d, struct server *srv, const char *directory, json_t *statuses);

/* A session listing (array of Session objects). */
void observe_sessions(struct daemon *d, struct server *srv, json_t *list);

#endif
