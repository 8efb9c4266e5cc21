/*
 * Events published to subscribers: [2, "event", [{type, ...}]] to every
 * client that subscribed to that type.
 */
#ifndef OCSTOP_BUS_H
#define OCSTOP_BUS_H

#include <stdbool.h>

struct daemon;
struct server;
struct session;
struct stop_result;

void bus_session(struct daemon *d, const char *type, const struct session *s);
void bus_session_deleted(struct daemon *d, const struct server *srv, const char *id);
void bus_server(struct daemon *d, const struct server *srv);
void bus_stop(struct daemon *d, const struct stop_result *res);
void bus_verdict(struct daemon *d, const char *session, const char *verdict);

#endif
