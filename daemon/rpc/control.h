/*
 * The control socket's server: every accepted connection becomes a peer
 * (io/peer.h) whose requests and notifications go through one method table;
 * subscribers get the engine's news through one sink. Plain clients (the
 * CLI, editors), subscribers and OpenCode plugin shims (which also carry
 * the relay) are all connections here.
 */
#ifndef OCSTOP_RPC_CONTROL_H
#define OCSTOP_RPC_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct control;
struct engine;
struct event_base;

/* Connections open at once: this many, or fewer when the descriptor limit
 * (RLIMIT_NOFILE) leaves less after CONTROL_FD_RESERVE for the daemon's own
 * (OpenCode links, the listener, the log). One more is accepted and closed
 * at once, so the listener never stalls on a lack of descriptors. */
#define CONTROL_MAX_CONNS 4096
#define CONTROL_FD_RESERVE 256
/* Requests one connection has in flight (asked, not yet answered), and all
 * connections together; a request past either is answered at once with
 * the limit error, so no client can make the daemon hold memory for
 * requests faster than it answers them. */
#define CONTROL_MAX_IN_FLIGHT 64
#define CONTROL_MAX_IN_FLIGHT_ALL 1024
/* register calls one connection may make: one OpenCode process, one call
 * per plugin instance (directory) of it. */
#define CONTROL_MAX_REGISTER 64
/* Stops of an x whose outcome (x.result) one connection waits for: a person
 * types x now and then; a peer that sends x after x must not make the
 * daemon hold memory for each until its stop ends. */
#define CONTROL_MAX_X_PENDING 64
/* x's the daemon answered abort, by message_id, kept per connection to know
 * the shim's x.done of one of them when its verdict came too late. */
#define CONTROL_X_ANSWERED 8
/* Notifications of one connection that were ignored or failed, each logged
 * at info; past it only the 100th, 1000th...: a client in a loop does not
 * flood the log. */
#define CONTROL_MAX_UNHEARD_LOGGED 10
/* The most of a Neovim's error (nvim_error_event: a Lua traceback can be
 * long) logged, in bytes once escaped; the rest is cut, "..." saying so.
 * Such errors count among the connection's ignored notifications
 * (CONTROL_MAX_UNHEARD_LOGGED). */
#define CONTROL_NVIM_ERROR_LOGGED 200

/* NULL when memory runs out. The engine outlives the control server. */
struct control *control_new(struct event_base *base, struct engine *e);
/* Closes every connection at once (no callback of theirs runs later). */
void control_free(struct control *ctl);

/* Listen on path (or systemd's socket); -1 with *cause (caller frees). */
int control_listen(struct control *ctl, const char *path, char **cause);
/* Stop accepting, for a shutdown; connections stay until control_free(). */
void control_stop_listening(struct control *ctl);

/* Listening on the socket systemd passed (socket activation). */
bool control_activated(const struct control *ctl);
/* Connections open now, and accepted since the start: a client that came
 * and went between two looks still counts as one. */
size_t control_connections(const struct control *ctl);
uint64_t control_accepted(const struct control *ctl);

/* pid is an OpenCode process a shim registered: the connection's peer (the
 * kernel's word) or the pid it registered. */
bool control_is_opencode_pid(const struct control *ctl, int pid);

/* The settings shims act on (stop words, proof time) may have changed: tell
 * every registered shim (the settings notification). */
void control_settings_changed(struct control *ctl);

/* Bytes queued to connections and not yet written, for a clean shutdown. */
size_t control_output_bytes(const struct control *ctl);

#endif
