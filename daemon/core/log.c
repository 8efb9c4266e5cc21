/*
 * Logging, one line per call, after OpenBSD's log.c: to stderr, or to the
 * file --log names. Under journald (its stream is our stderr) a line starts
 * with its sd-daemon priority and journald adds the time; anywhere else with
 * the local time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

enum level { LVL_FATAL, LVL_WARN, LVL_INFO, LVL_DEBUG };

static const struct {
	const char *name;
	int priority; /* sd-daemon(3): LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
} levels[] = {
	[LVL_FATAL] = { "fatal", 3 },
	[LVL_WARN] = { "warn", 4 },
	[LVL_INFO] = { "info", 6 },
	[LVL_DEBUG] = { "debug", 7 },
};

/* Before log_init() (the unit tests): every level but debug, plain, on
 * stderr. */
static struct {
	int fd;
	int verbosity;
	enum level max;
	bool stamps;
	bool journal;
	bool file; /* fd is the --log file, not stderr */
	bool tty;  /* stderr is a terminal: quiet unless -v */
} out = { .fd = STDERR_FILENO, .max = LVL_INFO };

/* Is fd the stream journald gave us? It says so in JOURNAL_STREAM as
 * "DEVICE:INODE" (systemd.exec(5)); a child that inherited the variable but
 * not the stream must not take it for one. */
static bool is_journal(int fd)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(fd, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void set_max(int verbosity)
{
	out.verbosity = verbosity;
	/* Started by hand on a terminal, the daemon would print over the
	 * user's prompt: only what needs them. */
	if (verbosity >= 1)
		out.max = LVL_DEBUG;
	else
		out.max = out.tty && !out.file ? LVL_WARN : LVL_INFO;
}

void log_init(int verbosity)
{
	tzset();
	out.journal = is_journal(STDERR_FILENO);
	out.stamps = !out.journal;
	out.tty = isatty(STDERR_FILENO) == 1;
	set_max(verbosity);
}

void log_set_verbosity(int verbosity)
{
	set_max(verbosity);
}

int log_open_file(const char *path, char **cause)
{
	struct stat st;
	const char *why = NULL;
	int fd;

	*cause = NULL;
	/* O_NOFOLLOW: a symbolic link someone planted where the log goes
	 * would have us append to a file of their choosing. */
	/* O_NONBLOCK: a FIFO planted there must not hang the start; it is
	 * refused below, and a regular file ignores the flag. */
	fd = open(path,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600);
	if (fd < 0) {
		if (asprintf(cause, "--log %s: %s", path,
			errno == ELOOP       ? "is a symbolic link; give the file itself"
			    : errno == ENXIO ? "is a FIFO; give a regular file"
					     : strerror(errno)) < 0)
			*cause = NULL;
		return -1;
	}
	if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	else if (st.st_uid != geteuid())
		why = "belongs to another user; refusing to write to it";
	else if (st.st_nlink != 1)
		why = "has other hard links (another name could be any file of yours); refusing "
		      "to write to it";
	if (why != NULL) {
		close(fd);
		if (asprintf(cause, "--log %s: %s", path, why) < 0)
			*cause = NULL;
		return -1;
	}
	if (out.file)
		close(out.fd);
	out.fd = fd;
	out.file = true;
	out.journal = false;
	out.stamps = true;
	set_max(out.verbosity);
	return 0;
}

/* "2026-11-30T09:58:01.123+0100 " in the local time. */
static size_t stamp(char *buf, size_t size)
{
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	if (localtime_r(&tv.tv_sec, &tm) == NULL)
		return 0;
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, size - n, ".%03d", (int)(tv.tv_usec / 1000));
	n += strftime(buf + n, size - n, "%z ", &tm);
	return n;
}

/* Format one line and write it with a single write(), so concurrent writers
 * cannot interleave within it; control characters from peers (curl errors,
 * server text) become '?' so a message never spans lines. */
static void log_vline(enum level lvl, const char *err, const char *fmt, va_list ap)
{
	char line[1200], msg[1024];
	size_t n = 0;
	char *p;

	if (lvl > out.max)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	if (out.journal)
		n = (size_t)snprintf(line, sizeof line, "<%d>", levels[lvl].priority);
	else if (out.stamps)
		n = stamp(line, sizeof line);
	snprintf(line + n, sizeof line - n, "%s: %s%s%s\n", levels[lvl].name, msg,
	    err != NULL ? ": " : "", err != NULL ? err : "");
	n = strlen(line);
	if (line[n - 1] != '\n')
		line[n - 1] = '\n';
	(void)!write(out.fd, line, n);
	/* Whoever started the daemon sees why it could not go on, also when
	 * the lines go to a file. */
	if (lvl == LVL_FATAL && out.file)
		(void)!write(STDERR_FILENO, line, n);
}

void log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_WARN, err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_FATAL, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LVL_FATAL, NULL, fmt, ap);
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
