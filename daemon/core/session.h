/*
 * The table of OpenCode sessions the daemon knows, fed by what OpenCode says
 * (core/opencode.h reads it). Pure bookkeeping, no I/O: tests drive it with
 * JSON payloads.
 *
 * Every lookup the hot paths make is O(1) in the number of sessions: by
 * (server, id) and by id alone through one hash of ids, and children from
 * their parent through a hash of parent ids, so a tree is walked in O(tree).
 * Running sessions sit on one list (what `abort --all` and `--dir` walk),
 * idle ones on another in least-recently-active order: when the table is
 * full, the least recently active idle session makes room in O(1). A running
 * session, or one pinned by a stop in progress, is never evicted.
 */
#ifndef OCSTOP_CORE_SESSION_H
#define OCSTOP_CORE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/opencode.h"
#include "core/status.h"

/* The daemon's bounds on the table: this many sessions, this many bytes of
 * them (struct, strings and indexes, as session_table_bytes() counts). */
#define SESSION_TABLE_MAX 250000
#define SESSION_TABLE_MAX_BYTES (256u << 20)
/* Longest title kept, in bytes: a longer one is cut at a UTF-8 boundary and
 * ends in SESSION_CUT_MARK. Longest directory kept (a longer one is treated
 * as unknown rather than cut into another path). */
#define SESSION_MAX_TITLE 512
#define SESSION_CUT_MARK "\xe2\x80\xa6" /* U+2026, an ellipsis */
#define SESSION_MAX_DIRECTORY 4096
/* Most descendants one walk lists; a larger tree is cut at this bound. */
#define SESSION_TREE_MAX 256
/* Deepest walk, against absurd chains in bad data. A parent link that would
 * close a cycle is never made: bad data cannot make a tree its own child. */
#define SESSION_MAX_DEPTH 64

/* The OpenCode process a session runs in: opaque here, only compared. */
struct server;
struct session;
struct session_table;

/* What applying one event did. */
struct session_change {
	struct session *session; /* NULL when nothing was applied or it was deleted */
	bool created;            /* this event made a new entry */
	bool status_changed;
	enum session_status old_status;
};

/* NULL on allocation failure; caller frees with session_table_free(). */
struct session_table *session_table_new(size_t max_sessions, size_t max_bytes);
void session_table_free(struct session_table *t);

/* Apply one event seen on server for directory (may be NULL). -1 only when
 * the table cannot take a new entry: errno is ENOSPC when it is full of
 * sessions it may not evict, ENOMEM when memory ran out. */
int session_table_apply(struct session_table *t, struct server *server, const char *directory,
    const struct oc_event *ev, struct session_change *out);

/* Merge one Session object from a listing; NULL when memory ran out. */
struct session *session_table_merge_info(struct session_table *t, struct server *server,
    const struct oc_info *info);

/* Set a status learned from a resync, creating the entry when needed; NULL
 * with errno as session_table_apply() says. */
struct session *session_table_set_status(struct session_table *t, struct server *server,
    const char *id, const char *directory, enum session_status status, bool *changed);

struct session *session_table_find(struct session_table *t, const struct server *server,
    const char *id);
/* Any server; prefers a running entry when the id is known to several (two
 * OpenCode processes that share one database see the same sessions). */
struct session *session_table_find_any(struct session_table *t, const char *id);

/* Walk up the parent chain on the same server to the root. */
struct session *session_table_root(struct session_table *t, struct session *s);
/* True when s or any descendant on its server is running. */
bool session_table_tree_running(struct session_table *t, struct session *root);
/* Fill out[] with the descendants of root on its server, depth first, each
 * once, up to max; returns how many there are (may exceed max). */
size_t session_table_descendants(struct session_table *t, struct session *root,
    struct session **out, size_t max);

/* Remove one entry; every pointer to it is then invalid. */
void session_table_remove(struct session_table *t, struct session *s);
/* Remove every entry of server (it went away). */
void session_table_drop_server(struct session_table *t, const struct server *server);

/* A stop in progress holds its sessions: never evicted while pinned. */
void session_pin(struct session_table *t, struct session *s);
void session_unpin(struct session_table *t, struct session *s);

/* Every entry, oldest first; and the running ones. next is NULL at the end.
 * The table must not change while a walk goes on. */
struct session *session_table_first(struct session_table *t);
struct session *session_next(const struct session *s);
struct session *session_table_first_running(struct session_table *t);
struct session *session_next_running(const struct session *s);

size_t session_table_count(const struct session_table *t);
size_t session_table_running(const struct session_table *t);
/* Bytes the table holds for its sessions, and entries it evicted so far. */
size_t session_table_bytes(const struct session_table *t);
uint64_t session_table_evicted(const struct session_table *t);

/* Read-only views of an entry; strings are NULL when unknown. */
const char *session_id(const struct session *s);
struct server *session_server(const struct session *s);
const char *session_directory(const struct session *s);
const char *session_parent(const struct session *s);
const char *session_title(const struct session *s);
enum session_status session_status(const struct session *s);
bool session_info_known(const struct session *s);
bool session_pinned(const struct session *s);
/* Its parent's task tool said it was sent to the background: it runs on
 * after the tool call that started it returned, still the parent's child. */
bool session_background(const struct session *s);

#endif
