/*
 * The processes a tool of a session started, as the kernel shows them: the
 * plugin shim puts PROC_MARKER=<session id> into the environment of every
 * shell a tool starts (client/opencode-plugin/src/marker.js), and every
 * process that shell starts inherits it, also across setsid, nohup and a
 * double fork, which leave the tool's process group. These are the pure
 * parts: reading what /proc/<pid>/{environ,cmdline,stat} hold. io/procs.c
 * reads the files and sends the signals.
 */
#ifndef OCSTOP_CORE_PROC_H
#define OCSTOP_CORE_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

/* The environment variable that names a tool's session. */
#define PROC_MARKER "OCSTOP_SESSION"
/* From TERM to KILL. */
#define PROC_GRACE_MS 1000
/* How long a process sent KILL is watched for before it is reported as not
 * seen gone (one in uninterruptible sleep). */
#define PROC_KILL_WAIT_MS 1000
/* The processes of one request were ended; ends is borrowed for the call.
 * now_ms is the monotonic clock (core/clock.h) when it was seen. */
typedef void (*proc_done_cb)(void *arg, const struct wire_process *ends, size_t n, int64_t now_ms);

/* The index in ids of the session the environment (environ's NUL-separated
 * "KEY=value" strings, len bytes, possibly cut short) marks; -1 when none.
 * *marked says whether it carries a marker at all (of any session), or
 * may: a cut string is not known not to be one. */
int proc_environ_session(const char *env, size_t len, const char *const *ids, size_t n_ids,
    bool *marked);

/* A command line (cmdline's NUL-separated arguments, len bytes) as one
 * printable line into out (PROTO_MAX_COMMAND bytes): arguments joined by
 * spaces, a byte that is not printable ASCII shown as '?'. Empty when len
 * is 0 (a zombie, or a process that cleared its arguments). */
void proc_render_command(const char *cmdline, size_t len, char *out);

/* From /proc/<pid>/stat (len bytes): the state letter and the start time
 * (clock ticks after boot), which tells a process from a later one that
 * got its pid. false when it does not parse. */
bool proc_parse_stat(const char *stat, size_t len, char *state, uint64_t *starttime);

/* Whether /proc/<pid>/status (len bytes) says the process runs as uid and
 * only as uid: its real, effective, saved and file-system uids all. The
 * owner of /proc/<pid>'s files does not tell it: a process that is not
 * dumpable (setuid, or PR_SET_DUMPABLE 0) shows them as root's whoever
 * runs it. */
bool proc_status_uid_is(const char *status, size_t len, unsigned long uid);

#endif
