/*
 * The engine's objects as the wire shows them: the only place that fills
 * proto/wire.h's views, for status, events and replies alike.
 */
#ifndef OCSTOP_RPC_VIEWS_H
#define OCSTOP_RPC_VIEWS_H

#include <msgpack.h>

struct config;
struct notify_event;
struct server;
struct session;
struct stop_result;
struct wire_stop;

void view_pack_session(msgpack_packer *pk, const struct session *s);
/* A session known only by its id (a verdict for a session the daemon has
 * not seen): the same object, with nil where nothing is known. */
void view_pack_session_id(msgpack_packer *pk, const char *id);
void view_pack_server(msgpack_packer *pk, const struct server *s);
void view_pack_stop(msgpack_packer *pk, const struct stop_result *r);
/* The wire's view of a stop, borrowing r's strings. */
void view_stop(const struct stop_result *r, struct wire_stop *v);
/* The settings a shim acts on, as three key/value pairs of a map (register's
 * reply, the settings notification): stop_words, max_len, proof_ms. */
#define VIEW_SETTINGS_FIELDS 3
void view_pack_settings(msgpack_packer *pk, const struct config *c);
/* An event, {type, ...}: what a subscriber's notification carries. */
void view_pack_event(msgpack_packer *pk, const struct notify_event *ev);

#endif
