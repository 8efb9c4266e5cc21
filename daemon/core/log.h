/*
 * One line per event on stderr, with a level; journald takes stderr under
 * systemd. Every layer logs through here; main.c routes libevent's own
 * messages here too.
 */
#ifndef OCSTOP_CORE_LOG_H
#define OCSTOP_CORE_LOG_H

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* 0 = info and above, 1 = debug. */
void log_init(int verbosity);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2); /* appends strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

#endif
