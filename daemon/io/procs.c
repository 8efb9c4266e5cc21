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
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/clock.h"
#include "core/log.h"
#include "io/procs.h"

/* Bytes of /proc/<pid>/stat and cmdline read. */
#define STAT_MAX 1024
#define CMDLINE_MAX 4096
/* /proc/<pid>/status, whose Uid: line comes in its first few hundred bytes. */
#define STATUS_MAX 4096

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

/* A process a scan found carrying no marker. A process gets its environment
 * at its exec, so it stays so; a later process with its pid (the pids
 * wrapped) has another /proc/<pid> inode, which tells them apart. */
struct clean {
	int pid;
	ino_t ino;
};

struct procs {
	struct event_base *base;
	char *env; /* PROCS_MAX_ENVIRON bytes, for every scan */
	/* The processes below clean_below that carried no marker at the last
	 * scan (sorted by pid), and room for the next scan's. */
	struct clean *clean, *next;
	size_t n_clean;
	long clean_below; /* 0: no scan yet */
	long last_pid;    /* the kernel's last pid when the last scan began */
	struct event *warmer;
	LIST_HEAD(, request) requests;
};

/* Up to max bytes of fd; -1 when nothing could be read. */
static ssize_t read_fd(int fd, char *buf, size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max) {
		n = read(fd, buf + got, max - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && got == 0)
			return -1;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* Up to max bytes of a file under dirfd; -1 when it cannot be read. */
static ssize_t read_at(int dirfd, const char *path, char *buf, size_t max)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read_fd(fd, buf, max);
	close(fd);
	return n;
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

/* What a process of /proc is to a scan. */
enum look {
	LOOK_UNKNOWN, /* could not be read (it may be ending): read it again */
	LOOK_CLEAN,   /* another user's, or carries no marker */
	LOOK_MARKED,  /* carries the marker of a session not asked about */
	LOOK_MATCH,   /* carries the marker of one asked about: *f filled */
};

/* A failure of this daemon's (descriptors, memory), not the process's: a
 * kernel thread has no environment to read (ESRCH), another's refuses
 * (EACCES), one that ended is gone; none of those can carry a marker. */
static bool short_of(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM || err == EINTR;
}

static enum look look_at(int proc, const char *name, const char *const *ids, size_t n_ids,
    char *env, struct procs_found *f)
{
	char path[64], cmdline[CMDLINE_MAX], status[STATUS_MAX];
	struct stat sb;
	ssize_t n;
	int fd, session, err;
	bool marked;
	enum look what;

	snprintf(path, sizeof(path), "%s/environ", name);
	if ((fd = openat(proc, path, O_RDONLY | O_CLOEXEC)) < 0)
		return short_of(errno) ? LOOK_UNKNOWN : LOOK_CLEAN;
	/* Never another user's process: a file of /proc/<pid> belongs to its
	 * owner, but one made undumpable shows as root's, which a daemon run
	 * by root would take for its own: a match is checked by its uids
	 * (status) below. */
	if (fstat(fd, &sb) < 0 || sb.st_uid != getuid()) {
		close(fd);
		return LOOK_CLEAN;
	}
	n = read_fd(fd, env, PROCS_MAX_ENVIRON);
	err = errno;
	close(fd);
	if (n < 0)
		return short_of(err) ? LOOK_UNKNOWN : LOOK_CLEAN;
	session = proc_environ_session(env, (size_t)n, ids, n_ids, &marked);
	if (session < 0)
		return marked ? LOOK_MARKED : LOOK_CLEAN;
	if ((fd = openat(proc, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return LOOK_UNKNOWN;
	n = read_at(fd, "status", status, sizeof(status));
	if (n <= 0 || !proc_status_uid_is(status, (size_t)n, (unsigned long)getuid())) {
		close(fd);
		return n <= 0 ? LOOK_UNKNOWN : LOOK_CLEAN;
	}
	what = LOOK_UNKNOWN;
	if (alive_at(fd, &f->starttime)) {
		n = read_at(fd, "cmdline", cmdline, sizeof(cmdline));
		proc_render_command(cmdline, n > 0 ? (size_t)n : 0, f->command);
		f->session = session;
		what = LOOK_MATCH;
	}
	close(fd);
	return what;
}

/* The pid the kernel gave last, or -1: no later process has a lower pid
 * until the pids wrap. */
static long last_pid(void)
{
	char buf[32];
	ssize_t n = read_at(AT_FDCWD, "/proc/sys/kernel/ns_last_pid", buf, sizeof(buf) - 1);
	char *end;
	long v;

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	return end != buf && v > 0 ? v : -1;
}

static int cmp_pid(const void *a, const void *b)
{
	int x = ((const struct clean *)a)->pid, y = ((const struct clean *)b)->pid;

	return (x > y) - (x < y);
}

/* Found clean by the last scan: the same pid, and the same process. */
static bool known_clean(const struct procs *p, int pid, ino_t ino)
{
	const struct clean key = { .pid = pid }, *c;

	c = bsearch(&key, p->clean, p->n_clean, sizeof(*p->clean), cmp_pid);
	return c != NULL && c->ino == ino;
}

long procs_scan(struct procs *p, const char *const *ids, size_t n_ids, bool all,
    procs_spare_cb spare, void *spare_arg, struct procs_found *out, size_t max,
    struct procs_scan_stats *stats)
{
	struct procs_scan_stats st = { 0, 0 };
	struct procs_found f;
	struct dirent *e;
	long found = 0, pid, last = last_pid();
	/* What the last scan found clean holds for the same processes (pid and
	 * inode); a full look, or pids that wrapped since, read everything. */
	bool cached = !all && p->clean_below > 0 && last >= p->last_pid;
	size_t n_next = 0;
	int self = (int)getpid();
	struct clean *swap;
	enum look what;
	char *end;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while (st.scanned < PROCS_MAX_SCANNED && (e = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid > 0x3fffffff)
			continue;
		st.scanned++;
		if (cached && pid < p->clean_below && known_clean(p, (int)pid, e->d_ino)) {
			p->next[n_next++] = (struct clean){ (int)pid, e->d_ino };
			continue;
		}
		if (pid == self)
			continue;
		st.read++;
		what = look_at(dirfd(d), e->d_name, ids, n_ids, p->env, &f);
		if (what == LOOK_CLEAN)
			p->next[n_next++] = (struct clean){ (int)pid, e->d_ino };
		if (what != LOOK_MATCH || (spare != NULL && spare(spare_arg, (int)pid)))
			continue;
		f.pid = (int)pid;
		if ((size_t)found < max)
			out[found] = f;
		found++;
	}
	closedir(d);
	/* /proc lists pids in order; sorted either way for bsearch. */
	qsort(p->next, n_next, sizeof(*p->next), cmp_pid);
	swap = p->clean;
	p->clean = p->next;
	p->next = swap;
	p->n_clean = n_next;
	p->last_pid = last;
	p->clean_below = last > PROCS_FRESH_PIDS ? last - PROCS_FRESH_PIDS : 0;
	if (stats != NULL)
		*stats = st;
	return found;
}

static void warm_cb(evutil_socket_t fd, short what, void *arg)
{
	struct procs *p = arg;
	struct procs_scan_stats st;

	(void)fd;
	(void)what;
	if (procs_scan(p, NULL, 0, false, NULL, NULL, NULL, 0, &st) >= 0)
		log_debug("processes: %zu looked at, %zu read", st.scanned, st.read);
}

void procs_warm(struct procs *p)
{
	struct timeval tv = { 0, PROCS_WARM_DELAY_MS * 1000 };

	evtimer_add(p->warmer, &tv);
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
	if (r->left > 0 && !r->killed && now - r->term_ms >= PROC_GRACE_MS)
		send_kill(r);
	if (r->left == 0 || now - r->term_ms >= PROC_GRACE_MS + PROC_KILL_WAIT_MS) {
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
	p->env = malloc(PROCS_MAX_ENVIRON);
	p->clean = calloc(PROCS_MAX_SCANNED, sizeof(*p->clean));
	p->next = calloc(PROCS_MAX_SCANNED, sizeof(*p->next));
	p->warmer = evtimer_new(base, warm_cb, p);
	if (p->env == NULL || p->clean == NULL || p->next == NULL || p->warmer == NULL) {
		procs_free(p);
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
	if (p->warmer != NULL)
		event_free(p->warmer);
	free(p->env);
	free(p->clean);
	free(p->next);
	free(p);
}

int procs_end(struct procs *p, const char *const *ids, size_t n_ids, bool all, procs_spare_cb spare,
    void *spare_arg, size_t max, proc_done_cb done, void *arg)
{
	struct timeval tv = { 0, PROCS_POLL_MS * 1000 };
	struct procs_scan_stats st;
	struct procs_found *found;
	struct timespec t0, t1;
	struct request *r;
	long n;
	size_t i;

	if (max == 0)
		return 0;
	if ((found = calloc(max, sizeof(*found))) == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = procs_scan(p, ids, n_ids, all, spare, spare_arg, found, max, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* What a stop pays to look: said, since it is paid on every stop. */
	log_debug("processes: %ld of the stopped tree among %zu, %zu read, in %lld us", n,
	    st.scanned, st.read,
	    (long long)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000));
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
