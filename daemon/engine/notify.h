/*
 * News the engine publishes (a session changed, a server came or went, a
 * stop ended, a verdict was given) to whoever registered a sink for it: the
 * control socket's subscribers, tests. After tmux's events.c: firing walks
 * the sinks with a dispatch counter, and a sink removed meanwhile is only
 * marked, then freed when the outermost dispatch ends.
 *
 * A sink must not tear down anything synchronously (a connection, a server):
 * it may be called from deep inside the engine's own walks.
 */
#ifndef OCSTOP_ENGINE_NOTIFY_H
#define OCSTOP_ENGINE_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct session;
struct stop_result;

enum notify_type {
	NOTIFY_SESSION_CREATED,
	NOTIFY_SESSION_STATUS,
	NOTIFY_SESSION_DELETED,
	NOTIFY_SERVER_CONNECTED,
	NOTIFY_SERVER_DISCONNECTED,
	NOTIFY_STOP,
	NOTIFY_VERDICT,
	NOTIFY_TYPES,
};
#define NOTIFY_ALL ((1u << NOTIFY_TYPES) - 1)

/* One piece of news; every pointer is borrowed for the call. */
struct notify_event {
	enum notify_type type;
	const struct session *session;  /* session.*; verdict when the id is known */
	const struct server *server;    /* server.* */
	const struct stop_result *stop; /* stop */
	const char *session_id;         /* verdict: the session the word was typed in */
	const char *verdict;            /* verdict: "pass", "clear", "abort" */
	int64_t typed_at; /* verdict: the shim's wall clock at the x (ms); 0: unknown */
};

typedef void (*notify_cb)(const struct notify_event *ev, void *arg);

struct notify;
struct notify_sink;

/* NULL when memory runs out; notify_free() frees the sinks too. */
struct notify *notify_new(void);
void notify_free(struct notify *n);

/* A sink for the types in mask (bits 1 << type); NULL when memory runs out. */
struct notify_sink *notify_add(struct notify *n, unsigned mask, notify_cb cb, void *arg);
void notify_set_mask(struct notify_sink *s, unsigned mask);
/* Safe from inside a dispatch, including the sink's own callback. */
void notify_remove(struct notify_sink *s);

/* Whether any sink wants the type: publishers skip building news nobody reads. */
bool notify_wanted(const struct notify *n, enum notify_type type);
void notify_fire(struct notify *n, const struct notify_event *ev);

/* The wire name of a type ("session.status", "stop", ...), and back; -1
 * for a name that is none. */
const char *notify_type_name(enum notify_type type);
int notify_type_from_name(const char *name, size_t len);

#endif
