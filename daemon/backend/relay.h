/*
 * The relay backend, for OpenCode processes with no HTTP port (the TUI,
 * `opencode run`): the plugin shim runs aborts and listings in-process when
 * the daemon asks over the shim's own connection (the server's channel, a
 * struct peer). Events come up the same connection as opencode.event
 * notifications, which the control socket hands to the engine.
 */
#ifndef OCSTOP_BACKEND_RELAY_H
#define OCSTOP_BACKEND_RELAY_H

/* How long the shim may take to answer one relay request. */
#define RELAY_TIMEOUT_MS 3000
/* Listing requests in flight per shim. */
#define RELAY_MAX_LISTINGS 4

extern const struct backend_ops backend_relay_ops;

#endif
