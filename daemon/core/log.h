/*
 * One line per event, with a level, on stderr or in the file --log names.
 * Every layer logs through here; main.c routes libevent's own messages here
 * too. A line is "TIME LEVEL: message" (TIME the local time to the
 * millisecond, ISO 8601), or "<N>LEVEL: message" (N its sd-daemon(3)
 * priority, no time) when stderr is journald's stream.
 */
#ifndef OCSTOP_CORE_LOG_H
#define OCSTOP_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Lines on stderr, stamped unless it is journald's stream (JOURNAL_STREAM
 * names its device and inode). Levels: info and above, debug too when
 * verbosity >= 1; on a terminal only warnings and errors unless
 * verbosity >= 1, so a daemon started by hand does not print over the
 * prompt. Before log_init(): info and above on stderr, unstamped. */
void log_init(int verbosity);
void log_set_verbosity(int verbosity);
/* From now on lines go to path instead, with stamps, every level the
 * verbosity allows (fatal ones to stderr too). It is opened to append, made
 * 0600 if new, close-on-exec; a symbolic link, a file of another user or one
 * with other hard links is refused. -1 with *cause (caller frees). */
int log_open_file(const char *path, char **cause);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/*
 * Repeated failures of one thing (a server that stays down, a full table):
 * the first failure is said, and the first of each kind after it; the rest
 * are counted, and said in a summary "(still failing: N times in the last
 * M s)" once LOG_REPEAT_FIRST_MS has passed since the last line, the gap then
 * doubling up to LOG_REPEAT_MAX_MS. The caller says when it works again. The
 * time comes from the caller, as everywhere in the core. Zeroed is ready.
 */
#define LOG_REPEAT_FIRST_MS 10000
#define LOG_REPEAT_MAX_MS 3600000
#define LOG_REPEAT_KINDS 8 /* kinds remembered in one trouble */

struct log_repeat {
	uint64_t kinds[LOG_REPEAT_KINDS]; /* said in this trouble, newest at next_kind - 1 */
	unsigned next_kind;
	uint64_t failures; /* in this trouble */
	uint64_t unsaid;   /* since the last line */
	int64_t said_ms;   /* the last line */
	int64_t gap_ms;    /* from it to the next summary */
};

/* One more failure, worded by fmt; logged as a warning when it is due. kind
 * tells failures apart (log_kind() makes one from a message). */
void log_repeat_fail(struct log_repeat *r, int64_t now_ms, uint64_t kind, const char *fmt, ...)
    LOG_PRINTF(4, 5);
/* It works again: how many failures there were (0 when none), and the count
 * starts afresh. The caller says so in its own line. */
uint64_t log_repeat_ok(struct log_repeat *r);

/* One kind for messages that differ only in their numbers, such as curl's
 * "Failed to connect to 127.0.0.1 port 4096 after 3 ms". */
uint64_t log_kind(const char *msg);

#endif
