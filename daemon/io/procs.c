#include <sys/queue.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/procs.h"

/* Bytes of /proc/<pid>/stat and cmdline read. */
#define STAT_MAX 1024
#define CMDLINE_MAX 4096

struct target {
	int pid;
	uint64_t starttime;
	bool gone;
};

struct request {
	struct procs *p;
	struct event *timer;
	proc_done_cb done;
	void *arg;
	int64_t term_ms; /* when TERM went */
	bool killed;
	size_t n, left;
	struct target *targets;
	struct wire_process *ends;
	LIST_ENTRY(request) link;
};

struct procs {
	struct event_base *base;
	char *env; /* PROCS_MAX_ENVIRON bytes, for every scan */
	LIST_HEAD(, request) requests;
};

/* Up to max bytes of a file under dirfd; -1 when it cannot be read. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t max)
{
	size_t got = 0;
	ssize_t n;
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got < max) {
		n = read(fd, buf + got, max - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

/* A running process's state and start time; false when it is gone or a
 * zombie (its end only waits for its parent). */
static bool alive_at(int dirfd, uint64_t *starttime)
{
	char stat[STAT_MAX], state;
	ssize_t n = read_at(dirfd, "stat", stat, sizeof(stat));

	if (n <= 0 || !proc_parse_stat(stat, (size_t)n, &state, starttime))
		return false;
	return state != 'Z' && state != 'X' && state != 'x';
}

/* One entry of /proc: a match is filled into *f. */
static bool match_one(int proc, const char *name, const char *const *ids, size_t n_ids, char *env,
    struct procs_found *f)
{
	char cmdline[CMDLINE_MAX];
	struct stat sb;
	ssize_t n;
	int dirfd, session;
	bool found = false;

	if ((dirfd = openat(proc, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	/* Never another user's process (nor one made undumpable, which /proc
	 * shows as root's). */
	if (fstat(dirfd, &sb) < 0 || sb.st_uid != getuid())
		goto out;
	n = read_at(dirfd, "environ", env, PROCS_MAX_ENVIRON);
	if (n <= 0 || (session = proc_environ_session(env, (size_t)n, ids, n_ids)) < 0)
		goto out;
	if (!alive_at(dirfd, &f->starttime))
		goto out;
	n = read_at(dirfd, "cmdline", cmdline, sizeof(cmdline));
	proc_render_command(cmdline, n > 0 ? (size_t)n : 0, f->command);
	f->session = session;
	found = true;
out:
	close(dirfd);
	return found;
}

long procs_scan(const char *const *ids, size_t n_ids, procs_spare_cb spare, void *spare_arg,
    struct procs_found *out, size_t max, char *env, size_t *scanned)
{
	struct procs_found f;
	struct dirent *e;
	size_t looked = 0;
	long found = 0;
	char *end;
	long pid;
	int self = (int)getpid();
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (looked < PROCS_MAX_SCANNED && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > 0x3fffffff)
			continue;
		looked++;
		if (pid == self || !match_one(dirfd(d), e->d_name, ids, n_ids, env, &f) ||
		    (spare != NULL && spare(spare_arg, (int)pid)))
			continue;
		f.pid = (int)pid;
		if ((size_t)found < max)
			out[found] = f;
		found++;
	}
	closedir(d);
	if (scanned != NULL)
		*scanned = looked;
	return found;
}

/* Still the process that was found: alive, and not a later one with its
 * pid. */
static bool still_there(const struct target *t)
{
	char path[32];
	uint64_t starttime;
	bool alive;
	int dirfd;

	snprintf(path, sizeof(path), "/proc/%d", t->pid);
	if ((dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return false;
	alive = alive_at(dirfd, &starttime) && starttime == t->starttime;
	close(dirfd);
	return alive;
}

static void finish(struct request *r, int64_t now_ms)
{
	LIST_REMOVE(r, link);
	event_free(r->timer);
	r->done(r->arg, r->ends, r->n, now_ms);
	free(r->targets);
	free(r->ends);
	free(r);
}

/* Which are gone since the last look. */
static void look(struct request *r, int64_t now_ms)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (r->targets[i].gone || still_there(&r->targets[i]))
			continue;
		r->targets[i].gone = true;
		r->ends[i].ms = now_ms - r->term_ms;
		r->left--;
	}
}

/* To those still there, looked at just before. */
static void send_kill(struct request *r)
{
	size_t i;

	r->killed = true;
	for (i = 0; i < r->n; i++) {
		if (r->targets[i].gone)
			continue;
		log_info("process %d (%s) is still there after TERM; sending KILL",
		    r->targets[i].pid, r->ends[i].command);
		r->ends[i].signal = "KILL";
		if (kill(r->targets[i].pid, SIGKILL) < 0 && errno != ESRCH)
			log_warn("kill %d", r->targets[i].pid);
	}
}

/* Which are gone; KILL at the grace; done when all are gone or the KILL's
 * wait is over. */
static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct request *r = arg;
	struct timeval tv = { 0, PROCS_POLL_MS * 1000 };
	int64_t now = clock_now_ms();

	(void)fd;
	(void)what;
	look(r, now);
	if (r->left > 0 && !r->killed && now - r->term_ms >= PROCS_GRACE_MS)
		send_kill(r);
	if (r->left == 0 || now - r->term_ms >= PROCS_GRACE_MS + PROCS_KILL_WAIT_MS) {
		finish(r, now);
		return;
	}
	evtimer_add(r->timer, &tv);
}

struct procs *procs_new(struct event_base *base)
{
	struct procs *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if ((p->env = malloc(PROCS_MAX_ENVIRON)) == NULL) {
		free(p);
		return NULL;
	}
	p->base = base;
	LIST_INIT(&p->requests);
	return p;
}

void procs_flush(struct procs *p)
{
	struct request *r;
	int64_t now;

	while ((r = LIST_FIRST(&p->requests)) != NULL) {
		now = clock_now_ms();
		look(r, now);
		if (!r->killed && r->left > 0)
			send_kill(r);
		finish(r, now);
	}
}

void procs_free(struct procs *p)
{
	if (p == NULL)
		return;
	procs_flush(p);
	free(p->env);
	free(p);
}

int procs_end(struct procs *p, const char *const *ids, size_t n_ids, procs_spare_cb spare,
    void *spare_arg, size_t max, proc_done_cb done, void *arg)
{
	struct timeval tv = { 0, PROCS_POLL_MS * 1000 };
	struct procs_found *found;
	struct request *r;
	long n;
	size_t i;

	if (max == 0)
		return 0;
	if ((found = calloc(max, sizeof(*found))) == NULL)
		return -1;
	n = procs_scan(ids, n_ids, spare, spare_arg, found, max, p->env, NULL);
	if (n <= 0) {
		free(found);
		return n < 0 ? -1 : 0;
	}
	if ((size_t)n > max) {
		log_warnx("%ld processes carry %s of the stopped tree; only %zu are ended", n,
		    PROC_MARKER, max);
		n = (long)max;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->targets = calloc((size_t)n, sizeof(*r->targets))) == NULL ||
	    (r->ends = calloc((size_t)n, sizeof(*r->ends))) == NULL ||
	    (r->timer = evtimer_new(p->base, poll_cb, r)) == NULL) {
		if (r != NULL) {
			free(r->targets);
			free(r->ends);
		}
		free(r);
		free(found);
		return -1;
	}
	r->p = p;
	r->done = done;
	r->arg = arg;
	r->n = r->left = (size_t)n;
	r->term_ms = clock_now_ms();
	for (i = 0; i < r->n; i++) {
		r->targets[i] =
		    (struct target){ .pid = found[i].pid, .starttime = found[i].starttime };
		r->ends[i] =
		    (struct wire_process){ .pid = found[i].pid, .signal = "TERM", .ms = -1 };
		memcpy(r->ends[i].command, found[i].command, sizeof(r->ends[i].command));
		log_info("ending process %d (%s) left by session %s", found[i].pid,
		    found[i].command, ids[found[i].session]);
		if (kill(found[i].pid, SIGTERM) < 0 && errno != ESRCH)
			log_warn("kill %d", found[i].pid);
	}
	free(found);
	LIST_INSERT_HEAD(&p->requests, r, link);
	evtimer_add(r->timer, &tv);
	return (int)n;
}
