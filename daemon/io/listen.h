/*
 * The control socket: making it safely, or taking it from systemd, and
 * accepting only our own user. What a connection is for is the caller's
 * business.
 */
#ifndef OCSTOP_IO_LISTEN_H
#define OCSTOP_IO_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>

struct event_base;
struct listener;

/* A connection from our own user: a non-blocking socket now owned by the
 * callee, with the peer's credentials. */
typedef void (*listen_accept_cb)(int fd, uid_t uid, pid_t pid, void *arg);

/* Listen on path, or on the socket systemd passed. NULL with *cause (caller
 * frees) when another daemon answers there or the directory is unsafe. */
struct listener *listen_start(struct event_base *base, const char *path, listen_accept_cb cb,
    void *arg, char **cause);
/* Listening on the socket systemd passed: its file is systemd's, never
 * unlinked here. */
bool listen_activated(const struct listener *l);
/* Stop accepting; unlinks the socket we made (not one systemd passed). */
void listen_stop(struct listener *l);

#endif
