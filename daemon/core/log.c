/*
 * Logging to stderr, one line per call, after OpenBSD's log.c. journald
 * stamps each line with the time, so we add only the level.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static int verbose;

/* Format one line and write it with a single fprintf, so concurrent writers
 * cannot interleave within it; control characters from peers (curl errors,
 * server text) become '?' so a message never spans lines. */
static void log_vline(const char *level, const char *err, const char *fmt, va_list ap)
{
	char msg[1024];
	char *p;

	vsnprintf(msg, sizeof msg, fmt, ap);
	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (err != NULL)
		fprintf(stderr, "%s: %s: %s\n", level, msg, err);
	else
		fprintf(stderr, "%s: %s\n", level, msg);
}

void log_init(int verbosity)
{
	verbose = verbosity;
}

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vline("warn", err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("warn", NULL, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("info", NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (verbose < 1)
		return;
	va_start(ap, fmt);
	log_vline("debug", NULL, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal", err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline("fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
