/*
 * Ending the processes the tools of a stopped session tree left running.
 * OpenCode ends a stopped tool's process group, not what the tool moved out
 * of it (setsid, nohup ... &, a daemonizing server); every such process
 * still carries its session in its environment (core/proc.h). This finds
 * them in /proc, among this user's processes only, sends each TERM, then
 * KILL to those still there after PROC_GRACE_MS, and reports them. It
 * never blocks: the grace and the watching run on libevent timers.
 */
#ifndef OCSTOP_IO_PROCS_H
#define OCSTOP_IO_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/proc.h"

struct event_base;
struct procs;

/* /proc entries one scan looks at: a scan's time is bounded whatever runs. */
#define PROCS_MAX_SCANNED 32768
/* Bytes of one process's environment read; a marker past them is not seen.
 * The shim's marker comes last (OpenCode lays it over its own
 * environment), so this is room for a large environment. */
#define PROCS_MAX_ENVIRON (256 * 1024)
/* How often the processes of a request are looked at while they end. */
#define PROCS_POLL_MS 10
/* The newest pids at a scan's start are read again by the next scan even
 * when they carried no marker: one may be a fork of OpenCode about to exec
 * a tool's shell with the marker (Bun spawns with vfork: the parent waits
 * for that exec, so few pids can be given out meanwhile). */
#define PROCS_FRESH_PIDS 16
/* A warm-up waits this long, so that the replies and requests of the
 * callback that asked for it go first. */
#define PROCS_WARM_DELAY_MS 1

/* One process a scan found. */
struct procs_found {
	int pid;
	uint64_t starttime;
	int session; /* the index of its session in the ids asked about */
	char command[PROTO_MAX_COMMAND];
};

/* What a scan did. */
struct procs_scan_stats {
	size_t scanned; /* processes looked at */
	size_t read;    /* environments read: the rest were known to carry no marker */
};

/* A process never to end (an OpenCode process itself). */
typedef bool (*procs_spare_cb)(void *arg, int pid);

/* NULL when memory runs out. */
struct procs *procs_new(struct event_base *base);
/* Answers every request in flight at once (as procs_flush), then frees. */
void procs_free(struct procs *p);
/* Every request in flight: what is still there is sent KILL, and done is
 * called with what was sent; nothing of them is called after. */
void procs_flush(struct procs *p);

/* The processes of this uid whose environment marks one of ids, but not
 * this process nor those spare says (may be NULL), at most max into out.
 * Returns how many there are (more than max when some were left out); -1
 * when /proc cannot be read. A process of pid below those the last scan
 * began with, which carried no marker then, is not read again unless all
 * (exec keeps a pid; a process that execs with the marker is rare outside
 * the fork just started, PROCS_FRESH_PIDS). stats may be NULL. */
long procs_scan(struct procs *p, const char *const *ids, size_t n_ids, bool all,
    procs_spare_cb spare, void *spare_arg, struct procs_found *out, size_t max,
    struct procs_scan_stats *stats);

/* Scan soon (PROCS_WARM_DELAY_MS), with no one waiting, so that the scan
 * a stop waits for reads only the processes that started since. */
void procs_warm(struct procs *p);

/* End the processes procs_scan finds, at most max: TERM now, KILL to those
 * left after PROC_GRACE_MS, then done, once, from the event loop, when all
 * are gone or PROC_KILL_WAIT_MS after the KILL. Returns how many are being
 * ended: 0 when none (done is then not called); -1 when /proc cannot be
 * read or memory ran out (done not called). */
int procs_end(struct procs *p, const char *const *ids, size_t n_ids, bool all, procs_spare_cb spare,
    void *spare_arg, size_t max, proc_done_cb done, void *arg);

#endif
