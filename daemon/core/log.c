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

/* Is kind said already in this trouble? If not, remember it. */
static bool kind_said(struct log_repeat *r, uint64_t kind)
{
	unsigned i;

	for (i = 0; i < LOG_REPEAT_KINDS && i < r->next_kind; i++)
		if (r->kinds[i] == kind)
			return true;
	r->kinds[r->next_kind++ % LOG_REPEAT_KINDS] = kind;
	return false;
}

void log_repeat_fail(struct log_repeat *r, int64_t now_ms, uint64_t kind, const char *fmt, ...)
{
	char msg[1024];
	bool first = r->failures++ == 0, new_kind = !kind_said(r, kind);
	va_list ap;

	r->unsaid++;
	if (!first && !new_kind && now_ms - r->said_ms < r->gap_ms)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (first)
		log_warnx("%s", msg);
	else
		log_warnx("%s (still failing: %llu times in the last %lld s)", msg,
		    (unsigned long long)r->unsaid, (long long)((now_ms - r->said_ms + 999) / 1000));
	r->gap_ms = first                        ? LOG_REPEAT_FIRST_MS
	    : r->gap_ms >= LOG_REPEAT_MAX_MS / 2 ? LOG_REPEAT_MAX_MS
						 : r->gap_ms * 2;
	r->said_ms = now_ms;
	r->unsaid = 0;
}

uint64_t log_repeat_ok(struct log_repeat *r)
{
	uint64_t n = r->failures;

	memset(r, 0, sizeof(*r));
	return n;
}

/* FNV-1a over the message with each run of digits as one '#'. */
uint64_t log_kind(const char *msg)
{
	uint64_t h = 14695981039346656037ull;
	bool digits = false;

	for (; *msg != '\0'; msg++) {
		bool digit = *msg >= '0' && *msg <= '9';

		if (digit && digits)
			continue;
		digits = digit;
		h = (h ^ (unsigned char)(digit ? '#' : *msg)) * 1099511628211ull;
	}
	return h;
}
