/*
 * Is this OpenCode process the one behind that URL? A TUI reports a
 * placeholder URL that another process may well answer, so a shim's claim is
 * checked against the kernel's table of listening sockets.
 */
#ifndef OCSTOP_IO_PROCNET_H
#define OCSTOP_IO_PROCNET_H

#include <stdbool.h>

/* True when process pid holds a TCP socket listening on port. */
bool procnet_pid_listens(int pid, int port);

/* The port of an http:// URL (default 80), or -1. */
int procnet_url_port(const char *url);

#endif
