/*
 * The control socket: where it lives, making it safely, taking it from
 * systemd, and accepting only our own user.
 */
#ifndef OCSTOP_LISTEN_H
#define OCSTOP_LISTEN_H

#include <stddef.h>

struct daemon;
struct listener;

/* Listen on path, or on the socket systemd passed. NULL with *cause (caller
 * frees) when another daemon answers there or the directory is unsafe. */
struct listener *listen_start(struct daemon *d, const char *path, char **cause);
/* Stop accepting; unlinks the socket we made. */
void listen_stop(struct listener *l);

#endif
