/*
 * loadgen: drives one or more ocstopd daemons and bench/echo (the floor) in
 * the same run, interleaved, and prints every figure against the echo's.
 *
 *   loadgen --echo SOCK --daemon NAME=SOCK [--daemon NAME=SOCK]... [options]
 *
 * For each session level (cumulative: 10, 10,000, 100,000 by default) it
 *  1. connects the most idle clients of the matrix to every target (so that
 *     the memory a level's sessions take is not memory freed by clients);
 *  2. feeds the sessions into every daemon as a relay plugin shim would
 *     (session.created + session.status idle), batch by batch, a ping after
 *     each batch as a barrier, the daemons' batches interleaved; timed and
 *     capped by --feed-budget;
 *  3. reads the daemon's memory, asks `status` how many sessions it holds and
 *     samples ids with `x` verdicts (a known idle session answers "clear");
 *  4. for each idle-client count (descending) measures the verdict round trip
 *     on the shim's connection ("x" → clear, "y" → pass), one request at a
 *     time, rounds alternating the targets; the echo gets the same bytes;
 *  5. measures pipelined throughput (a window of requests in flight) and
 *     counts the system calls per request (perf stat, else strace).
 * Every socket wait is bounded by --timeout-ms: a target that stops answering
 * is reported as failed and dropped from the rest of the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#define MAX_DAEMONS 8
#define MAX_TARGETS (MAX_DAEMONS + 1)
#define MAX_LEVELS 6
#define MAX_KS 6
#define N_VARIANTS 3
#define N_PROBES 16 /* session ids sampled with an x verdict per level */
#define BENCH_DIR "/bench/proj"
#define SHIM_URL "http://127.0.0.1:1" /* nothing of ours listens there: relay */
#define TOUCH_EVERY 256               /* keep the measured session recently active */

/* x on the oldest session (kept active, so never evicted: the far end of a
 * list), x on the newest one, y (not a stop word) on the oldest. */
static const char *const variant_name[N_VARIANTS] = { "clear", "clear-new", "pass" };
static const char *const variant_text[N_VARIANTS] = { "x", "x", "y" };
static const char *const variant_verdict[N_VARIANTS] = { "clear", "clear", "pass" };

static struct {
	const char *echo_path;
	const char *work;
	unsigned long levels[MAX_LEVELS];
	int n_levels;
	unsigned long ks[MAX_KS];
	int n_ks;
	int rounds, samples, warmup, window, tput_rounds, syscall_requests, timeout_ms;
	unsigned long batch;
	double tput_seconds, feed_budget, row_seconds;
	const char *syscalls; /* perf, strace, none, auto */
	const char *tsv;
} opt = {
	.levels = { 10, 100, 1000, 10000, 100000 },
	.n_levels = 5,
	.ks = { 0, 100, 1000 },
	.n_ks = 3,
	.rounds = 10,
	.samples = 300,
	.warmup = 200,
	.window = 128,
	.tput_rounds = 3,
	.syscall_requests = 2000,
	.timeout_ms = 5000,
	.batch = 1000,
	.tput_seconds = 0.5,
	.feed_budget = 20.0,
	.row_seconds = 1.2,
	.syscalls = "auto",
};

struct stats {
	double min, p50, p90, p99, max;
	size_t n;
};

struct mem {
	long rss_kb, anon_kb; /* anon: what it allocated, not the libraries' pages */
	long pss_kb;          /* RSS with each shared page split among its users */
};

struct conn {
	int fd;
	msgpack_unpacker up;
	msgpack_unpacked msg;
};

/* A template request whose msgid is a fixed 4-byte uint at offset 3. */
struct req {
	msgpack_sbuffer sb;
};

struct level_res {
	unsigned long sent;
	long held;           /* from status; -1 when status failed */
	char held_note[320]; /* why held is unknown */
	int probes, known;   /* sampled ids answered "clear" */
	double feed_s, first_ms_1k, last_ms_1k;
	struct mem mem_before, mem_after;
	double tput[16];
	int n_tput;
	double sys_per_req, log_bytes_per_req;
	char sys_detail[512];
	bool sys_done, tput_done;
};

struct target {
	char name[32];
	const char *path;
	const char *mem_path; /* a fresh instance of the same daemon, for the memory pass */
	bool echo;
	pid_t pid;
	struct conn main; /* daemon: the registered shim's connection; echo: a client */
	int *idle;
	size_t n_idle;
	bool dead;
	char why[256];
	uint32_t msgid;
	unsigned long errors, daemon_requests, notes;
	char first_error[256];
	/* feeding */
	unsigned long sent;
	double *batch_s;        /* per batch: seconds */
	unsigned long *batch_n; /* per batch: sessions */
	size_t n_batches, cap_batches;
	struct mem mem0, mem_clients; /* memory pass: registered; + the most idle clients */
	struct level_res lv[MAX_LEVELS];
	struct level_res mlv[MAX_LEVELS]; /* memory pass */
	bool mem_done;
	pid_t mem_pid;
	char mem_why[256];
	struct req req[N_VARIANTS];
	double *samples;
	size_t n_samples;
};

struct cell {
	bool done;
	struct stats st[MAX_TARGETS];
	unsigned long errors[MAX_TARGETS];
};

static struct target targets[MAX_TARGETS];
static int n_targets;
static struct cell cells[MAX_LEVELS][MAX_KS][N_VARIANTS];
static char session0[64]; /* the known idle session the verdicts are asked about */
static FILE *tsv;

/* ---- small helpers ---- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void vsay(const char *fmt, va_list ap)
{
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn)) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	exit(1);
}

static void target_fail(struct target *t, const char *fmt, ...)
{
	va_list ap;

	if (t->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	t->dead = true;
	progress("%s: FAILED: %s", t->name, t->why);
}

static void target_error(struct target *t, const char *fmt, ...)
{
	va_list ap;

	t->errors++;
	if (t->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
	va_end(ap);
}

/* "1,234,567" */
static const char *grouped(unsigned long v, char *buf, size_t size)
{
	char raw[32];
	size_t n, i, o = 0;

	snprintf(raw, sizeof(raw), "%lu", v);
	n = strlen(raw);
	for (i = 0; i < n && o + 2 < size; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
	return buf;
}

static int parse_list(const char *s, unsigned long *out, int max)
{
	char *copy = strdup(s), *tok, *save = NULL, *end;
	int n = 0;

	if (copy == NULL)
		die("out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		unsigned long v = strtoul(tok, &end, 10);

		if (end == tok || *end != '\0' || n >= max)
			die("bad list %s (at most %d numbers)", s, max);
		out[n++] = v;
	}
	free(copy);
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct stats stats_of(double *v, size_t n)
{
	struct stats s = { 0 };

	if (n == 0)
		return s;
	qsort(v, n, sizeof(*v), cmp_double);
	s.n = n;
	s.min = v[0];
	s.max = v[n - 1];
	s.p50 = v[(n - 1) * 50 / 100];
	s.p90 = v[(n - 1) * 90 / 100];
	s.p99 = v[(n - 1) * 99 / 100];
	return s;
}

static double median(const double *v, int n)
{
	double c[16];

	if (n <= 0)
		return 0;
	memcpy(c, v, sizeof(double) * (size_t)n);
	qsort(c, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

/* ---- /proc ---- */

static struct mem mem_of(pid_t pid)
{
	struct mem m = { -1, -1, -1 };
	char path[64], line[256];
	long v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return m;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Rss: %ld", &v) == 1)
			m.rss_kb = v;
		else if (sscanf(line, "Anonymous: %ld", &v) == 1)
			m.anon_kb = v;
		else if (sscanf(line, "Pss: %ld", &v) == 1)
			m.pss_kb = v;
	}
	fclose(f);
	return m;
}

static const char *cpus_of(pid_t pid, char *buf, size_t size)
{
	cpu_set_t set;
	size_t o = 0;
	int i;

	buf[0] = '\0';
	if (sched_getaffinity(pid, sizeof(set), &set) < 0)
		return "?";
	for (i = 0; i < CPU_SETSIZE && o + 8 < size; i++)
		if (CPU_ISSET(i, &set))
			o += (size_t)snprintf(buf + o, size - o, "%s%d", o ? "," : "", i);
	return buf;
}

/* Size of what the process writes to its stderr (its log), or -1. */
static long long log_size(pid_t pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)pid);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return -1;
	return (long long)st.st_size;
}

/* ---- msgpack ---- */

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

static void pack_kv(msgpack_packer *pk, const char *k, const char *v)
{
	pack_str(pk, k);
	pack_str(pk, v);
}

static void req_begin(struct req *r, msgpack_packer *pk, const char *method)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(pk, &r->sb, msgpack_sbuffer_write);
	msgpack_pack_array(pk, 4);
	msgpack_pack_int(pk, 0);
	msgpack_pack_fix_uint32(pk, 0); /* bytes 2..6: 0xce and the id */
	pack_str(pk, method);
}

static void set_msgid(char *frame, uint32_t id)
{
	uint32_t be = htonl(id);

	memcpy(frame + 3, &be, 4);
}

static void req_empty(struct req *r, const char *method)
{
	msgpack_packer pk;

	req_begin(r, &pk, method);
	msgpack_pack_array(&pk, 0);
}

static void req_message(struct req *r, const char *session, const char *text)
{
	msgpack_packer pk;

	req_begin(r, &pk, "message");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	pack_kv(&pk, "session", session);
	pack_kv(&pk, "directory", BENCH_DIR);
	pack_str(&pk, "parts");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	pack_kv(&pk, "type", "text");
	pack_kv(&pk, "text", text);
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
	size_t n = strlen(key);
	uint32_t i;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;

		if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
		    memcmp(k->via.str.ptr, key, n) == 0)
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

static bool obj_is_str(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
	    memcmp(o->via.str.ptr, s, n) == 0;
}

/* ---- connections ---- */

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { opt.timeout_ms / 1000, (opt.timeout_ms % 1000) * 1000 };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* SO_SNDTIMEO also bounds a connect() waiting for the listen backlog. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e == EAGAIN ? ETIMEDOUT : e;
		return -1;
	}
	return fd;
}

static int conn_open(struct conn *c, const char *path)
{
	if ((c->fd = connect_unix(path)) < 0)
		return -1;
	if (!msgpack_unpacker_init(&c->up, 1 << 16)) {
		close(c->fd);
		errno = ENOMEM;
		return -1;
	}
	msgpack_unpacked_init(&c->msg);
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	msgpack_unpacked_destroy(&c->msg);
	msgpack_unpacker_destroy(&c->up);
}

static int send_all(int fd, const char *p, size_t n, const char **why)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			*why = errno == EAGAIN ? "send timed out (the peer does not read)"
					       : strerror(errno);
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read into the unpacker: >0 bytes, 0 would block (nonblocking only),
 * -1 with why on close, timeout or error. */
static ssize_t conn_fill(struct conn *c, int flags, const char **why)
{
	ssize_t n;

	if (msgpack_unpacker_buffer_capacity(&c->up) < (1 << 15) &&
	    !msgpack_unpacker_reserve_buffer(&c->up, 1 << 16)) {
		*why = "out of memory";
		return -1;
	}
	do
		n = recv(c->fd, msgpack_unpacker_buffer(&c->up),
		    msgpack_unpacker_buffer_capacity(&c->up), flags);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		msgpack_unpacker_buffer_consumed(&c->up, (size_t)n);
		return n;
	}
	if (n < 0 && errno == EAGAIN && (flags & MSG_DONTWAIT))
		return 0;
	*why = n == 0         ? "the peer closed the connection"
	    : errno == EAGAIN ? "no answer in time"
			      : strerror(errno);
	return -1;
}

/* The next whole message on c, reading as needed; NULL with why. */
static msgpack_object *conn_next(struct conn *c, int64_t deadline, const char **why)
{
	for (;;) {
		msgpack_unpack_return r = msgpack_unpacker_next(&c->up, &c->msg);

		if (r == MSGPACK_UNPACK_SUCCESS)
			return &c->msg.data;
		if (r != MSGPACK_UNPACK_CONTINUE) {
			*why = "bytes that are not msgpack";
			return NULL;
		}
		if (now_ns() > deadline) {
			*why = "no answer in time";
			return NULL;
		}
		if (conn_fill(c, 0, why) < 0)
			return NULL;
	}
}

/* The daemon asks the shim things (the relay): answer as an idle OpenCode. */
static void answer_daemon(struct target *t, struct conn *c, const msgpack_object *o)
{
	const msgpack_object *a = o->via.array.ptr;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	const char *why;

	t->daemon_requests++;
	if (o->via.array.size != 4 || a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		target_error(t, "malformed request from the daemon");
		return;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_uint64(&pk, a[1].via.u64);
	if (obj_is_str(&a[2], "opencode.sessions")) {
		msgpack_pack_nil(&pk);
		msgpack_pack_map(&pk, 2);
		pack_kv(&pk, "statuses", "{}");
		pack_kv(&pk, "sessions", "[]");
	} else if (obj_is_str(&a[2], "opencode.abort")) {
		msgpack_pack_nil(&pk);
		msgpack_pack_map(&pk, 2);
		pack_str(&pk, "ok");
		msgpack_pack_true(&pk);
		pack_str(&pk, "ms");
		msgpack_pack_int(&pk, 0);
	} else {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_int(&pk, 2);
		pack_str(&pk, "unknown method");
		msgpack_pack_nil(&pk);
	}
	if (send_all(c->fd, sb.data, sb.size, &why) < 0)
		target_fail(t, "answering the daemon's request: %s", why);
	msgpack_sbuffer_destroy(&sb);
}

/* Sort one incoming message: 1 when it is the answer to a request of ours
 * (*id set), 0 when it was something else and is dealt with, -1 when the
 * target failed. An echo answers with our own request. */
static int classify(struct target *t, struct conn *c, const msgpack_object *o, uint32_t *id)
{
	const msgpack_object *a;

	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3 ||
	    o->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		target_fail(t, "a frame that is not a msgpack-rpc message");
		return -1;
	}
	a = o->via.array.ptr;
	if (t->echo || a[0].via.u64 == 1) {
		if (o->via.array.size != 4 || a[0].via.u64 != (t->echo ? 0u : 1u) ||
		    a[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || a[1].via.u64 > UINT32_MAX) {
			target_fail(t, "a reply of the wrong shape");
			return -1;
		}
		*id = (uint32_t)a[1].via.u64;
		return 1;
	}
	if (a[0].via.u64 == 0)
		answer_daemon(t, c, o);
	else
		t->notes++;
	return t->dead ? -1 : 0;
}

/* Check a reply's error slot; true when it is nil. */
static bool reply_ok(struct target *t, const msgpack_object *o, const char *what)
{
	const msgpack_object *err = &o->via.array.ptr[2];

	if (t->echo || err->type == MSGPACK_OBJECT_NIL)
		return true;
	if (err->type == MSGPACK_OBJECT_ARRAY && err->via.array.size == 2 &&
	    err->via.array.ptr[1].type == MSGPACK_OBJECT_STR)
		target_error(t, "%s: error %.*s", what, (int)err->via.array.ptr[1].via.str.size,
		    err->via.array.ptr[1].via.str.ptr);
	else
		target_error(t, "%s: an error reply", what);
	return false;
}

/* Wait for the answer to msgid, answering the daemon's requests meanwhile. */
static msgpack_object *wait_reply(struct target *t, struct conn *c, uint32_t msgid,
    const char *what)
{
	int64_t deadline = now_ns() + (int64_t)opt.timeout_ms * 1000000;
	const char *why = NULL;
	uint32_t id;

	for (;;) {
		msgpack_object *o = conn_next(c, deadline, &why);
		int k;

		if (o == NULL) {
			target_fail(t, "%s: %s", what, why);
			return NULL;
		}
		if ((k = classify(t, c, o, &id)) < 0)
			return NULL;
		if (k == 0)
			continue;
		if (id == msgid)
			return o;
		target_error(t, "%s: answer to msgid %u while waiting for %u", what, id, msgid);
	}
}

/* Send a template request with a fresh msgid and wait for its answer. */
static msgpack_object *call(struct target *t, struct conn *c, struct req *r, const char *what)
{
	uint32_t id = ++t->msgid;
	const char *why;

	set_msgid(r->sb.data, id);
	if (send_all(c->fd, r->sb.data, r->sb.size, &why) < 0) {
		target_fail(t, "%s: %s", what, why);
		return NULL;
	}
	return wait_reply(t, c, id, what);
}

/* ---- set-up ---- */

static void register_shim(struct target *t)
{
	struct req r, ping;
	msgpack_packer pk;
	msgpack_object *o;
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	req_begin(&r, &pk, "register");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 5);
	pack_kv(&pk, "server_url", SHIM_URL);
	pack_kv(&pk, "directory", BENCH_DIR);
	pack_kv(&pk, "worktree", BENCH_DIR);
	pack_kv(&pk, "opencode_version", "bench");
	pack_str(&pk, "pid");
	msgpack_pack_int(&pk, getpid());
	if ((o = call(t, &t->main, &r, "register")) != NULL && reply_ok(t, o, "register")) {
		const msgpack_object *relay = map_get(&o->via.array.ptr[3], "relay");

		if (relay == NULL || relay->type != MSGPACK_OBJECT_BOOLEAN || !relay->via.boolean)
			target_fail(t, "register: the daemon did not take us as a relay shim");
	}
	msgpack_sbuffer_destroy(&r.sb);
	/* A barrier: the daemon's listing request (resync) is answered on the way. */
	req_empty(&ping, "ping");
	if (!t->dead)
		call(t, &t->main, &ping, "ping after register");
	msgpack_sbuffer_destroy(&ping.sb);
}

static void open_target(struct target *t)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (conn_open(&t->main, t->path) < 0) {
		t->main.fd = -1;
		target_fail(t, "connect %s: %s", t->path, strerror(errno));
		return;
	}
	if (getsockopt(t->main.fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.pid <= 0) {
		target_fail(t, "cannot tell the pid behind %s", t->path);
		return;
	}
	t->pid = cred.pid;
	if (!t->echo)
		register_shim(t);
}

/* Bring a target to k idle clients. Each new one sends a ping and reads the
 * answer, which proves the target accepted it; then it stays silent. */
static void set_idle(struct target *t, size_t k)
{
	struct req ping;
	size_t first = t->n_idle, i;

	if (t->dead)
		return;
	while (t->n_idle > k)
		close(t->idle[--t->n_idle]);
	if (t->n_idle == k)
		return;
	req_empty(&ping, "ping");
	t->idle = realloc(t->idle, k * sizeof(int));
	if (t->idle == NULL)
		die("out of memory");
	while (t->n_idle < k) {
		const char *why;
		int fd = connect_unix(t->path);

		if (fd < 0) {
			target_fail(t, "idle client %zu: connect: %s", t->n_idle + 1,
			    strerror(errno));
			break;
		}
		t->idle[t->n_idle++] = fd;
		set_msgid(ping.sb.data, 1);
		if (send_all(fd, ping.sb.data, ping.sb.size, &why) < 0) {
			target_fail(t, "idle client %zu: %s", t->n_idle, why);
			break;
		}
	}
	for (i = first; i < t->n_idle && !t->dead; i++) {
		char buf[512];
		size_t have = 0, off;
		msgpack_unpacked m;
		int rc = MSGPACK_UNPACK_CONTINUE;

		msgpack_unpacked_init(&m);
		while (rc == MSGPACK_UNPACK_CONTINUE && have < sizeof(buf)) {
			ssize_t n = recv(t->idle[i], buf + have, sizeof(buf) - have, 0);

			if (n <= 0) {
				target_fail(t, "idle client %zu: %s", i + 1,
				    n == 0                ? "closed by the target"
					: errno == EAGAIN ? "no answer to ping in time"
							  : strerror(errno));
				break;
			}
			have += (size_t)n;
			off = 0;
			rc = msgpack_unpack_next(&m, buf, have, &off);
		}
		msgpack_unpacked_destroy(&m);
	}
	msgpack_sbuffer_destroy(&ping.sb);
}

static void set_idle_all(size_t k)
{
	int i;

	for (i = 0; i < n_targets; i++)
		set_idle(&targets[i], k);
}

/* ---- feeding sessions ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* OpenCode-like ids: "ses_", 12 hex digits that grow with time, 14 base62. */
static void session_id(unsigned long i, char *out, size_t size)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t seed = i, r = splitmix(&seed);
	char tail[15];
	int k;

	for (k = 0; k < 14; k++, r /= 62)
		tail[k] = b62[r % 62];
	tail[14] = '\0';
	snprintf(out, size, "ses_%012" PRIx64 "%s", (uint64_t)0x9a1b2c00000ULL + i * 7, tail);
}

static void pack_event(msgpack_packer *pk, const char *json)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_int(pk, 2);
	pack_str(pk, "opencode.event");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 2);
	pack_kv(pk, "directory", BENCH_DIR);
	pack_kv(pk, "event", json);
}

static void pack_status_event(msgpack_packer *pk, const char *id)
{
	char json[256];

	snprintf(json, sizeof(json),
	    "{\"type\":\"session.status\",\"properties\":{\"sessionID\":\"%s\",\"status\":{\"type\":\"idle\"}}}",
	    id);
	pack_event(pk, json);
}

static void pack_session(msgpack_packer *pk, unsigned long i)
{
	long long t = 1700000000000LL + (long long)i;
	char id[64], json[512];

	session_id(i, id, sizeof(id));
	snprintf(json, sizeof(json),
	    "{\"type\":\"session.created\",\"properties\":{\"info\":{\"id\":\"%s\",\"slug\":\"bench-%lu\","
	    "\"projectID\":\"bench\",\"directory\":\"%s\",\"title\":\"bench session %lu\",\"version\":\"bench\","
	    "\"time\":{\"created\":%lld,\"updated\":%lld}}}}",
	    id, i, BENCH_DIR, i, t, t);
	pack_event(pk, json);
	pack_status_event(pk, id);
	if (i > 0 && i % TOUCH_EVERY == 0)
		pack_status_event(pk, session0);
}

static void batch_record(struct target *t, unsigned long n, double s)
{
	if (t->n_batches == t->cap_batches) {
		t->cap_batches = t->cap_batches ? t->cap_batches * 2 : 256;
		t->batch_s = realloc(t->batch_s, t->cap_batches * sizeof(double));
		t->batch_n = realloc(t->batch_n, t->cap_batches * sizeof(unsigned long));
		if (t->batch_s == NULL || t->batch_n == NULL)
			die("out of memory");
	}
	t->batch_s[t->n_batches] = s;
	t->batch_n[t->n_batches++] = n;
}

/* ms per 1,000 sessions over the first (from_end false) or last 1,000 fed. */
static double ms_per_1k(const struct target *t, bool from_end)
{
	unsigned long n = 0;
	double s = 0;
	size_t i;

	for (i = 0; i < t->n_batches && n < 1000; i++) {
		size_t j = from_end ? t->n_batches - 1 - i : i;

		n += t->batch_n[j];
		s += t->batch_s[j];
	}
	return n > 0 ? s * 1e3 * 1000.0 / (double)n : 0;
}

/* One batch into one daemon: sessions [t->sent, end), then a ping. */
static void feed_batch(struct target *t, unsigned long end, msgpack_sbuffer *sb, struct req *ping)
{
	msgpack_packer pk;
	unsigned long i, n = end - t->sent;
	const char *why;
	int64_t t0;

	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	for (i = t->sent; i < end; i++)
		pack_session(&pk, i);
	t0 = now_ns();
	if (send_all(t->main.fd, sb->data, sb->size, &why) < 0) {
		target_fail(t, "feeding sessions %lu..%lu: %s", t->sent, end, why);
		return;
	}
	if (call(t, &t->main, ping, "ping after a batch of sessions") == NULL)
		return;
	batch_record(t, n, (double)(now_ns() - t0) / 1e9);
	t->sent = end;
}

/* Feed level L into every daemon of ts[0..n), a batch each in turn. */
static void feed_level(int L, struct target *ts, int n)
{
	unsigned long want = opt.levels[L];
	msgpack_sbuffer sb;
	struct req ping;
	bool more = true;
	int i;

	msgpack_sbuffer_init(&sb);
	req_empty(&ping, "ping");
	while (more) {
		more = false;
		for (i = 0; i < n; i++) {
			struct target *t = &ts[i];
			struct level_res *lr = &t->lv[L];
			unsigned long end;
			size_t nb = t->n_batches;

			if (t->echo || t->dead || t->sent >= want || lr->feed_s >= opt.feed_budget)
				continue;
			end = (t->sent / opt.batch + 1) * opt.batch;
			if (end > want)
				end = want;
			feed_batch(t, end, &sb, &ping);
			if (t->n_batches > nb)
				lr->feed_s += t->batch_s[t->n_batches - 1];
			more = more || (!t->dead && t->sent < want && lr->feed_s < opt.feed_budget);
		}
	}
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&ping.sb);
}

/* How many sessions the daemon holds, from status on a connection of its
 * own (a status too large for the daemon's output bound must not take the
 * shim's connection, and its sessions, with it). */
static void count_held(struct target *t, struct level_res *lr)
{
	struct target probe = *t;
	struct req r;
	msgpack_object *o;

	lr->held = -1;
	probe.dead = false;
	snprintf(probe.name, sizeof(probe.name), "%.20s/status", t->name);
	if (conn_open(&probe.main, t->path) < 0) {
		snprintf(lr->held_note, sizeof(lr->held_note), "status: connect: %s",
		    strerror(errno));
		return;
	}
	req_empty(&r, "status");
	if ((o = call(&probe, &probe.main, &r, "status")) != NULL &&
	    reply_ok(&probe, o, "status")) {
		const msgpack_object *s = map_get(&o->via.array.ptr[3], "sessions");
		const msgpack_object *k = map_get(&o->via.array.ptr[3], "counters");
		const msgpack_object *n = k != NULL ? map_get(k, "sessions") : NULL;

		/* The count, where the daemon gives one: its list may be cut to
		 * fit a frame. Older daemons list every session. */
		if (n != NULL && n->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
			lr->held = (long)n->via.u64;
		else if (s != NULL && s->type == MSGPACK_OBJECT_ARRAY)
			lr->held = s->via.array.size;
		else
			snprintf(lr->held_note, sizeof(lr->held_note), "status: no sessions array");
	} else {
		snprintf(lr->held_note, sizeof(lr->held_note), "status failed: %s",
		    probe.dead ? probe.why : probe.first_error);
	}
	msgpack_sbuffer_destroy(&r.sb);
	conn_close(&probe.main);
}

/* Ask for an x verdict about ids spread over all that were fed. */
static void probe_known(struct target *t, struct level_res *lr)
{
	int k;

	lr->probes = lr->known = 0;
	for (k = 0; k < N_PROBES && !t->dead && t->sent > 0; k++) {
		unsigned long i = (unsigned long)((double)(t->sent - 1) * k / (N_PROBES - 1));
		char id[64];
		struct req r;
		msgpack_object *o;

		session_id(i, id, sizeof(id));
		req_message(&r, id, "x");
		o = call(t, &t->main, &r, "probe verdict");
		if (o != NULL && reply_ok(t, o, "probe verdict")) {
			lr->probes++;
			lr->known += obj_is_str(map_get(&o->via.array.ptr[3], "verdict"), "clear");
		}
		msgpack_sbuffer_destroy(&r.sb);
		if (i == t->sent - 1)
			break;
	}
}

static void tsv_memory_row(const struct target *t, const char *state, unsigned long sessions,
    unsigned long clients, const struct mem *m)
{
	fprintf(tsv, "memory\t%s\t%lu\t%lu\t%s\t%ld\t%ld\t%ld\n", state, sessions, clients, t->name,
	    m->rss_kb, m->pss_kb, m->anon_kb);
}

/* The memory pass's states: registered, each level fed, the most idle
 * clients on top of the last. */
static void tsv_memory(const struct target *t, unsigned long kmax)
{
	unsigned long h = 0;
	int L;

	if (tsv == NULL)
		return;
	tsv_memory_row(t, "registered", 0, 0, &t->mem0);
	for (L = 0; L < opt.n_levels; L++) {
		h = t->mlv[L].held >= 0 ? (unsigned long)t->mlv[L].held : t->mlv[L].sent;
		tsv_memory_row(t, "sessions", h, 0, &t->mlv[L].mem_after);
	}
	if (kmax > 0 && t->mem_clients.anon_kb >= 0)
		tsv_memory_row(t, "clients", h, kmax, &t->mem_clients);
}

/* After a level's feed: memory, counts, and the requests the cells send. */
static void finish_level(struct target *t, int L)
{
	struct level_res *lr = &t->lv[L];

	if (t->dead)
		return;
	lr->mem_after = mem_of(t->pid);
	lr->sent = t->sent;
	lr->first_ms_1k = ms_per_1k(t, false);
	lr->last_ms_1k = ms_per_1k(t, true);
	count_held(t, lr);
	probe_known(t, lr);
	if (tsv != NULL)
		fprintf(tsv, "feed\t%lu\t%s\t%lu\t%ld\t%d/%d\t%.3f\t%.2f\t%.2f\t%ld\t%ld\n",
		    opt.levels[L], t->name, lr->sent, lr->held, lr->known, lr->probes, lr->feed_s,
		    lr->first_ms_1k, lr->last_ms_1k, lr->mem_before.anon_kb, lr->mem_after.anon_kb);
	progress("%s: sent %lu, held %ld, %d/%d probed ids known, %.2f s", t->name, lr->sent,
	    lr->held, lr->known, lr->probes, lr->feed_s);
}

/* The requests a target is timed with at level L. The echo gets bytes of the
 * same size (ids are all as long). */
static void build_reqs(struct target *t, int L)
{
	char newest[64];
	int v;

	session_id(t->echo || t->sent == 0 ? opt.levels[L] - 1 : t->sent - 1, newest,
	    sizeof(newest));
	for (v = 0; v < N_VARIANTS; v++) {
		if (t->req[v].sb.data != NULL)
			msgpack_sbuffer_destroy(&t->req[v].sb);
		req_message(&t->req[v], v == 1 ? newest : session0, variant_text[v]);
	}
}

/* Memory per session and per client on a fresh instance of each daemon that
 * has one: the sessions fed with no client ever closed, so that no freed
 * memory is there to hide what sessions take. */
static void memory_pass(void)
{
	struct target *ms = calloc(MAX_TARGETS, sizeof(*ms));
	unsigned long kmax = opt.ks[opt.n_ks - 1];
	int n = 0, i, L;

	if (ms == NULL)
		die("out of memory");
	for (i = 1; i < n_targets; i++) {
		struct target *m = &ms[n];

		if (targets[i].mem_path == NULL)
			continue;
		snprintf(m->name, sizeof(m->name), "%.24s/mem", targets[i].name);
		m->path = targets[i].mem_path;
		m->main.fd = -1;
		for (L = 0; L < MAX_LEVELS; L++)
			m->lv[L].held = -1;
		open_target(m);
		m->mem0 = mem_of(m->pid);
		n++;
	}
	if (n == 0) {
		free(ms);
		return;
	}
	for (L = 0; L < opt.n_levels; L++) {
		progress("memory pass: feeding sessions up to %lu", opt.levels[L]);
		for (i = 0; i < n; i++)
			ms[i].lv[L].mem_before = mem_of(ms[i].pid);
		feed_level(L, ms, n);
		for (i = 0; i < n; i++)
			finish_level(&ms[i], L);
	}
	if (kmax > 0) {
		progress("memory pass: %lu idle clients", kmax);
		for (i = 0; i < n; i++) {
			set_idle(&ms[i], kmax);
			if (!ms[i].dead)
				ms[i].mem_clients = mem_of(ms[i].pid);
		}
	}
	for (i = 0, n = 0; i < n_targets; i++) {
		struct target *t = &targets[i], *m;

		if (t->mem_path == NULL)
			continue;
		m = &ms[n++];
		memcpy(t->mlv, m->lv, sizeof(t->mlv));
		t->mem0 = m->mem0;
		t->mem_clients = m->mem_clients;
		t->mem_done = !m->dead;
		if (t->mem_done)
			tsv_memory(t, kmax);
		t->mem_pid = m->pid;
		snprintf(t->mem_why, sizeof(t->mem_why), "%s", m->dead ? m->why : "");
		set_idle(m, 0);
		conn_close(&m->main);
		free(m->batch_s);
		free(m->batch_n);
		free(m->idle);
	}
	free(ms);
}

/* ---- measuring ---- */

/* One request, timed from before the send to the whole answer; -1 on failure. */
/* What came with an answer (the daemon's check of an x, sent with its
 * verdict) is answered now, as a shim does between two x's, not inside the
 * next one's round trip. */
static void answer_buffered(struct target *t, struct conn *c)
{
	uint32_t id;

	while (!t->dead && msgpack_unpacker_next(&c->up, &c->msg) == MSGPACK_UNPACK_SUCCESS)
		if (classify(t, c, &c->msg.data, &id) == 1)
			target_error(t, "verdict: an answer to msgid %u nobody waits for", id);
}

static double rtt_once(struct target *t, struct req *r, const char *verdict)
{
	uint32_t id = ++t->msgid;
	const char *why;
	msgpack_object *o;
	int64_t t0;
	double us;

	set_msgid(r->sb.data, id);
	t0 = now_ns();
	if (send_all(t->main.fd, r->sb.data, r->sb.size, &why) < 0) {
		target_fail(t, "verdict: %s", why);
		return -1;
	}
	if ((o = wait_reply(t, &t->main, id, "verdict")) == NULL)
		return -1;
	if (!t->echo && reply_ok(t, o, "verdict") &&
	    !obj_is_str(map_get(&o->via.array.ptr[3], "verdict"), verdict))
		target_error(t, "verdict: not %s", verdict);
	us = (double)(now_ns() - t0) / 1e3;
	answer_buffered(t, &t->main);
	return us;
}

static void latency_cell(int L, int K, int v)
{
	struct cell *cell = &cells[L][K][v];
	size_t per = (size_t)opt.rounds * (size_t)opt.samples;
	int r, j, s, i;

	/* A slow or stalled target gets fewer samples, not a longer run: each
	 * target's turn in a round ends after its share of --row-seconds. */
	int64_t slice = (int64_t)(opt.row_seconds * 1e9 / (opt.rounds * n_targets)), until;

	for (i = 0; i < n_targets; i++) {
		struct target *t = &targets[i];

		t->samples = realloc(t->samples, per * sizeof(double));
		if (t->samples == NULL)
			die("out of memory");
		t->n_samples = 0;
		cell->errors[i] = t->errors;
		until = now_ns() + slice;
		for (s = 0; s < opt.warmup && !t->dead && now_ns() < until; s++)
			rtt_once(t, &t->req[v], variant_verdict[v]);
	}
	for (r = 0; r < opt.rounds; r++) {
		for (j = 0; j < n_targets; j++) {
			struct target *t = &targets[(r + j) % n_targets];

			until = now_ns() + slice;
			for (s = 0; s < opt.samples && !t->dead && now_ns() < until; s++) {
				double us = rtt_once(t, &t->req[v], variant_verdict[v]);

				if (us >= 0)
					t->samples[t->n_samples++] = us;
			}
		}
	}
	for (i = 0; i < n_targets; i++) {
		struct target *t = &targets[i];

		cell->st[i] = stats_of(t->samples, t->n_samples);
		cell->errors[i] = t->errors - cell->errors[i];
		if (tsv != NULL && !t->dead)
			fprintf(tsv,
			    "latency\t%lu\t%lu\t%s\t%s\t%zu\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%lu\n",
			    opt.levels[L], opt.ks[K], variant_name[v], t->name, cell->st[i].n,
			    cell->st[i].min, cell->st[i].p50, cell->st[i].p90, cell->st[i].p99,
			    cell->st[i].max, cell->errors[i]);
	}
	cell->done = true;
}

/* Pipelined: keep opt.window requests in flight for `seconds`; replies/s. */
static double tput_run(struct target *t, struct req *r, const char *verdict, double seconds)
{
	size_t fsz = r->sb.size, W = (size_t)opt.window, slots = W * 4;
	char *out = malloc(W * fsz);
	uint32_t *busy = calloc(slots, sizeof(uint32_t));
	size_t olen = 0, ooff = 0, inflight = 0;
	unsigned long done = 0;
	int64_t t0 = now_ns(), end = t0 + (int64_t)(seconds * 1e9), last = t0, stop_at = 0;
	int64_t patience = (int64_t)opt.timeout_ms * 1000000;
	double rate = -1;

	if (out == NULL || busy == NULL)
		die("out of memory");
	for (;;) {
		int64_t now = now_ns();
		struct pollfd pfd = { .fd = t->main.fd, .events = POLLIN };
		const char *why = NULL;
		msgpack_object *o;
		uint32_t id;
		int k;

		if (stop_at == 0 && now >= end) {
			stop_at = now;
			rate = (double)done / ((double)(now - t0) / 1e9);
		}
		if (stop_at != 0 && inflight == 0 && ooff == olen)
			break;
		if (now - last > patience) {
			target_fail(t, "pipelined: no answer for %d ms (%zu in flight)",
			    opt.timeout_ms, inflight);
			break;
		}
		if (stop_at == 0 && ooff == olen && inflight < W) {
			olen = ooff = 0;
			while (inflight < W) {
				id = ++t->msgid;
				set_msgid(r->sb.data, id);
				memcpy(out + olen, r->sb.data, fsz);
				olen += fsz;
				busy[id % slots] = id;
				inflight++;
			}
		}
		if (ooff < olen) {
			ssize_t w =
			    send(t->main.fd, out + ooff, olen - ooff, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				target_fail(t, "pipelined: send: %s", strerror(errno));
				break;
			}
			if (w > 0)
				ooff += (size_t)w;
			if (ooff < olen)
				pfd.events |= POLLOUT;
		}
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
			target_fail(t, "pipelined: poll: %s", strerror(errno));
			break;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (conn_fill(&t->main, MSG_DONTWAIT, &why) < 0) {
			target_fail(t, "pipelined: %s", why);
			break;
		}
		while (msgpack_unpacker_next(&t->main.up, &t->main.msg) == MSGPACK_UNPACK_SUCCESS) {
			o = &t->main.msg.data;
			if ((k = classify(t, &t->main, o, &id)) < 0)
				break;
			if (k == 0)
				continue;
			if (busy[id % slots] != id || id == 0) {
				target_error(t, "pipelined: answer to msgid %u not in flight", id);
				continue;
			}
			busy[id % slots] = 0;
			inflight--;
			last = now_ns();
			if (stop_at == 0)
				done++;
			if (!t->echo && reply_ok(t, o, "pipelined verdict") &&
			    !obj_is_str(map_get(&o->via.array.ptr[3], "verdict"), verdict))
				target_error(t, "pipelined verdict: not %s", verdict);
		}
		if (t->dead)
			break;
	}
	free(out);
	free(busy);
	return t->dead ? -1 : rate;
}

static void tput_level(int L)
{
	int r, j;

	for (r = 0; r < opt.tput_rounds; r++) {
		for (j = 0; j < n_targets; j++) {
			struct target *t = &targets[(r + j) % n_targets];
			struct level_res *lr = &t->lv[L];
			double rate;

			if (t->dead || lr->n_tput >= 16)
				continue;
			rate = tput_run(t, &t->req[0], variant_verdict[0], opt.tput_seconds);
			if (rate < 0)
				continue;
			lr->tput[lr->n_tput++] = rate;
			if (tsv != NULL)
				fprintf(tsv, "throughput\t%lu\t%s\t%.0f\n", opt.levels[L], t->name,
				    rate);
		}
	}
	for (j = 0; j < n_targets; j++)
		targets[j].lv[L].tput_done = !targets[j].dead;
}

/* ---- system calls per request ---- */

/* Run argv with its output and errors in errpath. */
static pid_t spawn(char *const argv[], const char *errpath)
{
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_RDWR),
		    err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (null >= 0)
			dup2(null, 0);
		if (err >= 0) {
			dup2(err, 1);
			dup2(err, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Wait for pid, up to ms; then kill it. Its exit status, or -1. */
static int reap(pid_t pid, int ms)
{
	int64_t deadline = now_ns() + (int64_t)ms * 1000000;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0)
			return -1;
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
}

static bool have_program(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Write a perf control command and wait for its ack. */
static int perf_ctl(int ctl, int ack, const char *cmd)
{
	struct pollfd p = { .fd = ack, .events = POLLIN };
	char buf[16];

	if (write(ctl, cmd, strlen(cmd)) < 0 || poll(&p, 1, opt.timeout_ms) <= 0 ||
	    read(ack, buf, sizeof(buf)) <= 0)
		return -1;
	return 0;
}

/* Open a fifo's write end once its reader (perf) is there. */
static int open_fifo_writer(const char *path, pid_t child)
{
	int64_t deadline = now_ns() + (int64_t)opt.timeout_ms * 1000000;
	int fd;

	while ((fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0 && errno == ENXIO) {
		if (now_ns() > deadline || waitpid(child, NULL, WNOHANG) == child)
			return -1;
		usleep(5000);
	}
	return fd;
}

struct counted {
	char name[40];
	unsigned long calls;
};

static int cmp_counted(const void *a, const void *b)
{
	const struct counted *x = a, *y = b;

	return x->calls < y->calls ? 1 : x->calls > y->calls ? -1 : strcmp(x->name, y->name);
}

/* Read perf's CSV or strace -c's table into per-syscall counts. */
static size_t parse_counts(const char *path, bool perf, struct counted *out, size_t max)
{
	char line[512];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL && n < max) {
		char *tok[8], *save = NULL, *p;
		int nt = 0;

		if (perf) {
			char *ev;
			unsigned long v;

			/* count,,syscalls:sys_enter_NAME,... */
			if (sscanf(line, "%lu,", &v) != 1 || v == 0 ||
			    (ev = strstr(line, "sys_enter_")) == NULL)
				continue;
			ev += strlen("sys_enter_");
			if ((p = strchr(ev, ',')) != NULL)
				*p = '\0';
			snprintf(out[n].name, sizeof(out[n].name), "%s", ev);
			out[n++].calls = v;
			continue;
		}
		/* % time  seconds  usecs/call  calls  [errors]  syscall */
		for (p = strtok_r(line, " \t\n", &save); p != NULL && nt < 8;
		     p = strtok_r(NULL, " \t\n", &save))
			tok[nt++] = p;
		if ((nt != 5 && nt != 6) || strchr(tok[0], '.') == NULL ||
		    strcmp(tok[nt - 1], "total") == 0)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", tok[nt - 1]);
		out[n++].calls = strtoul(tok[3], NULL, 10);
	}
	fclose(f);
	qsort(out, n, sizeof(*out), cmp_counted);
	return n;
}

static const char *sys_tool; /* what counted them, for the report */
/* perf stat closing its syscalls:sys_enter_* events: 13 s measured. */
#define PERF_TEARDOWN_MS 60000

/* A file in the work directory. */
static void work_path(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = (size_t)snprintf(buf, size, "%s/", opt.work);
	va_list ap;
	int m;

	va_start(ap, fmt);
	m = n < size ? vsnprintf(buf + n, size - n, fmt, ap) : -1;
	va_end(ap);
	if (m < 0 || (size_t)m >= size - n)
		die("%s: path too long", opt.work);
}

static void syscalls_level(int L)
{
	/* strace first: perf needs seconds per event to tear down its few
	 * hundred tracepoints, and the counts are the same. */
	bool strace = strcmp(opt.syscalls, "strace") == 0 ||
	    (strcmp(opt.syscalls, "auto") == 0 && have_program("strace"));
	bool perf = !strace &&
	    (strcmp(opt.syscalls, "perf") == 0 ||
		(strcmp(opt.syscalls, "auto") == 0 && have_program("perf")));
	int i, s;

	if (!perf && !strace)
		return;
	sys_tool = perf ? "perf stat -e syscalls:sys_enter_*" : "strace -c -f";
	for (i = 0; i < n_targets; i++) {
		struct target *t = &targets[i];
		struct level_res *lr = &t->lv[L];
		char out[PATH_MAX], ctl[PATH_MAX], ack[PATH_MAX], err[PATH_MAX], pidbuf[16];
		struct counted c[512];
		size_t n, k, o = 0;
		unsigned long total = 0;
		long long log0, log1;
		int ctl_fd = -1, ack_fd = -1;
		pid_t child;

		if (t->dead)
			continue;
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)t->pid);
		work_path(out, sizeof(out), "syscalls-%s-%d.txt", t->name, L);
		work_path(ctl, sizeof(ctl), "perf-ctl");
		work_path(ack, sizeof(ack), "perf-ack");
		work_path(err, sizeof(err), "syscalls-%s-%d.err", t->name, L);
		if (perf) {
			char control[2 * PATH_MAX + 16];
			char *argv[] = { "perf", "stat", "-x,", "-o", out, "-D", "-1", "--control",
				control, "-e", "syscalls:sys_enter_*", "-p", pidbuf, NULL };

			unlink(ctl);
			unlink(ack);
			if (mkfifo(ctl, 0600) < 0 || mkfifo(ack, 0600) < 0)
				die("mkfifo in %s: %s", opt.work, strerror(errno));
			snprintf(control, sizeof(control), "fifo:%s,%s", ctl, ack);
			child = spawn(argv, err);
			/* perf opens ctl for reading, then ack for writing. */
			if ((ctl_fd = open_fifo_writer(ctl, child)) < 0 ||
			    (ack_fd = open(ack, O_RDONLY | O_CLOEXEC)) < 0 ||
			    perf_ctl(ctl_fd, ack_fd, "enable\n") < 0) {
				progress(
				    "%s: perf stat did not start (see %s); no system call counts",
				    t->name, err);
				if (ctl_fd >= 0)
					close(ctl_fd);
				kill(child, SIGKILL);
				reap(child, 1000);
				continue;
			}
		} else {
			char *argv[] = { "strace", "-c", "-f", "-o", out, "-p", pidbuf, NULL };
			char path[64], line[128];
			int64_t deadline = now_ns() + (int64_t)opt.timeout_ms * 1000000;
			bool traced = false;

			child = spawn(argv, err);
			snprintf(path, sizeof(path), "/proc/%d/status", (int)t->pid);
			while (!traced && now_ns() < deadline) {
				FILE *f = fopen(path, "r");
				int tp = 0;

				while (f != NULL && fgets(line, sizeof(line), f) != NULL)
					if (sscanf(line, "TracerPid: %d", &tp) == 1)
						traced = tp != 0;
				if (f != NULL)
					fclose(f);
				if (!traced)
					usleep(5000);
			}
			if (!traced) {
				progress(
				    "%s: strace did not attach (see %s); no system call counts",
				    t->name, err);
				kill(child, SIGKILL);
				reap(child, 1000);
				continue;
			}
		}
		log0 = log_size(t->pid);
		for (s = 0; s < opt.syscall_requests && !t->dead; s++)
			rtt_once(t, &t->req[0], variant_verdict[0]);
		log1 = log_size(t->pid);
		if (perf) {
			perf_ctl(ctl_fd, ack_fd, "disable\n");
			close(ctl_fd);
			close(ack_fd);
		}
		kill(child, SIGINT);
		reap(child, perf ? PERF_TEARDOWN_MS : opt.timeout_ms);
		n = parse_counts(out, perf, c, sizeof(c) / sizeof(c[0]));
		for (k = 0; k < n; k++)
			total += c[k].calls;
		if (n == 0 || t->dead)
			continue;
		lr->sys_done = true;
		lr->sys_per_req = (double)total / opt.syscall_requests;
		lr->log_bytes_per_req =
		    log0 >= 0 && log1 >= 0 ? (double)(log1 - log0) / opt.syscall_requests : -1;
		for (k = 0; k < n && o + 40 < sizeof(lr->sys_detail); k++) {
			double per = (double)c[k].calls / opt.syscall_requests;

			if (per < 0.005)
				continue;
			o += (size_t)snprintf(lr->sys_detail + o, sizeof(lr->sys_detail) - o,
			    "%s%s %.2f", o ? ", " : "", c[k].name, per);
		}
		if (tsv != NULL)
			fprintf(tsv, "syscalls\t%lu\t%s\t%.3f\t%s\n", opt.levels[L], t->name,
			    lr->sys_per_req, lr->sys_detail);
	}
}

/* ---- the report ---- */

static const char *ratio_str(double a, double b, char *buf, size_t size)
{
	if (b <= 0 || a <= 0)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.2fx", a / b);
	return buf;
}

/* Whether a daemon held every session a level asked for. */
static bool level_tracked(const struct target *t, int L)
{
	const struct level_res *lr = &t->lv[L];

	if (lr->sent < opt.levels[L])
		return false;
	if (lr->held >= 0)
		return (unsigned long)lr->held >= opt.levels[L];
	return lr->probes > 0 && lr->known == lr->probes;
}

static void print_latency(void)
{
	char a[16], b[16], g1[32];
	int L, K, v, i;

	printf(
	    "\n== verdict round trip, us (one request at a time on the shim's connection; %d rounds of up to %d\n"
	    "   samples per target per row, at most %.1f s a row, targets alternating each round; the echo gets\n"
	    "   the same request bytes; n: samples)\n",
	    opt.rounds, opt.samples, opt.row_seconds);
	printf("%9s %7s %-9s %-12s %8s %8s %8s %8s %9s %6s %8s %8s  %s\n", "sessions", "others",
	    "verdict", "target", "min", "p50", "p90", "p99", "max", "n", "p50/echo", "p99/echo",
	    "goal (p50<=1.3x, p99<=2x)");
	for (L = 0; L < opt.n_levels; L++) {
		for (K = opt.n_ks - 1; K >= 0; K--) {
			for (v = 0; v < N_VARIANTS; v++) {
				const struct cell *c = &cells[L][K][v];
				const struct stats *e = &c->st[0];

				if (!c->done)
					continue;
				for (i = 0; i < n_targets; i++) {
					const struct target *t = &targets[i];
					const struct stats *s = &c->st[i];
					char sess[16], oth[16];

					snprintf(sess, sizeof(sess), "%s",
					    i == 0 ? grouped(opt.levels[L], a, sizeof(a)) : "");
					snprintf(oth, sizeof(oth), "%s",
					    i == 0 ? grouped(opt.ks[K], b, sizeof(b)) : "");
					if (s->n == 0) {
						printf("%9s %7s %-9s %-12s %s\n", sess, oth,
						    i == 0 ? variant_name[v] : "", t->name,
						    t->dead ? "FAILED" : "no samples");
						continue;
					}
					printf(
					    "%9s %7s %-9s %-12s %8.1f %8.1f %8.1f %8.1f %9.1f %6zu",
					    sess, oth, i == 0 ? variant_name[v] : "", t->name,
					    s->min, s->p50, s->p90, s->p99, s->max, s->n);
					if (i == 0) {
						printf("\n");
						continue;
					}
					printf(" %8s", ratio_str(s->p50, e->p50, a, sizeof(a)));
					printf(" %8s", ratio_str(s->p99, e->p99, b, sizeof(b)));
					g1[0] = '\0';
					if (e->n == 0)
						snprintf(g1, sizeof(g1), "no echo");
					else if (s->p50 > 1.3 * e->p50 || s->p99 > 2.0 * e->p99)
						snprintf(g1, sizeof(g1), "MISS%s%s",
						    s->p50 > 1.3 * e->p50 ? " p50" : "",
						    s->p99 > 2.0 * e->p99 ? " p99" : "");
					else
						snprintf(g1, sizeof(g1), "PASS");
					if (!level_tracked(t, L))
						snprintf(g1 + strlen(g1), sizeof(g1) - strlen(g1),
						    "%s", " (short)");
					if (c->errors[i] > 0)
						printf("  %s, %lu errors\n", g1, c->errors[i]);
					else
						printf("  %s\n", g1);
				}
			}
		}
	}
	printf(
	    "   (short): the daemon did not hold all the sessions of that row (see below), so the row\n"
	    "   cannot count for the goal at that size.\n");
}

/* The feed table of the main run (mem false) or of the memory pass. */
static void print_feed(bool mem)
{
	char a[16], b[16], c[16];
	int L, i;

	if (mem)
		printf(
		    "\n== taking in sessions, memory pass (a fresh instance, no other client)\n");
	else
		printf("\n== taking in sessions, main run (%s idle clients connected)\n",
		    grouped(opt.ks[opt.n_ks - 1], a, sizeof(a)));
	printf("%-12s %9s %9s %9s %7s %8s %11s %12s %12s %7s\n", "target", "asked", "sent", "held",
	    "probed", "time s", "us/session", "ms/1k first", "ms/1k last", "growth");
	for (i = 1; i < n_targets; i++) {
		const struct target *t = &targets[i];

		if (mem && t->mem_path == NULL)
			continue;
		if (mem && !t->mem_done && t->mem_why[0] != '\0')
			printf("%-12s FAILED: %s\n", t->name, t->mem_why);
		for (L = 0; L < opt.n_levels; L++) {
			const struct level_res *lr = mem ? &t->mlv[L] : &t->lv[L];
			unsigned long before = L > 0 ? (mem ? t->mlv : t->lv)[L - 1].sent : 0;
			char held[16], probed[16];

			if (lr->held >= 0)
				grouped((unsigned long)lr->held, held, sizeof(held));
			else
				snprintf(held, sizeof(held), "?");
			snprintf(probed, sizeof(probed), "%d/%d", lr->known, lr->probes);
			printf("%-12s %9s %9s %9s %7s %8.2f %11.1f %12.1f %12.1f %6.1fx\n",
			    L == 0 ? t->name : "", grouped(opt.levels[L], a, sizeof(a)),
			    grouped(lr->sent, b, sizeof(b)), held, probed, lr->feed_s,
			    lr->sent > before ? lr->feed_s * 1e6 / (double)(lr->sent - before) : 0,
			    lr->first_ms_1k, lr->last_ms_1k,
			    lr->first_ms_1k > 0 ? lr->last_ms_1k / lr->first_ms_1k : 0);
			if (lr->held < 0 && lr->held_note[0] != '\0')
				printf("%-12s   held unknown: %s\n", "", lr->held_note);
			if (lr->sent < opt.levels[L])
				printf(
				    "%-12s   took %s of %s sessions before the %.0f s budget ran out\n",
				    "", grouped(lr->sent, a, sizeof(a)),
				    grouped(opt.levels[L], c, sizeof(c)), opt.feed_budget);
			else if (lr->held >= 0 && (unsigned long)lr->held < lr->sent)
				printf("%-12s   holds %s of the %s sessions it was sent\n", "",
				    held, grouped(lr->sent, a, sizeof(a)));
		}
		if (!mem && (t->daemon_requests > 0 || t->notes > 0))
			printf(
			    "%-12s   the daemon sent the shim %lu requests (answered as an idle OpenCode) and %lu "
			    "notifications\n",
			    "", t->daemon_requests, t->notes);
	}
	if (mem)
		return;
	printf(
	    "   fed as a relay shim: session.created + session.status idle per session, %lu per batch, a ping\n"
	    "   after each batch as the barrier, at most %.0f s per daemon per level.\n"
	    "   probed: of %d ids spread over all sent, how many an x verdict found (\"clear\"; unknown: \"abort\").\n"
	    "   growth: ms per 1,000 for the last 1,000 sessions sent over the first 1,000 (1.0x is linear).\n",
	    opt.batch, opt.feed_budget, N_PROBES);
}

/* Bytes per session held at the end of the memory pass, or -1. */
static double bytes_per_session(const struct target *t, unsigned long *held_out)
{
	const struct level_res *first = &t->mlv[0], *last = &t->mlv[opt.n_levels - 1];
	unsigned long held = last->held >= 0 ? (unsigned long)last->held : last->sent;

	*held_out = held;
	if (!t->mem_done || held == 0 || first->mem_before.anon_kb < 0 ||
	    last->mem_after.anon_kb < 0)
		return -1;
	return (double)(last->mem_after.anon_kb - first->mem_before.anon_kb) * 1024.0 /
	    (double)held;
}

static void print_memory(void)
{
	char a[16], state[64];
	unsigned long held;
	int L, i;
	bool any = false;

	for (i = 1; i < n_targets; i++)
		any = any || targets[i].mem_path != NULL;
	if (!any) {
		printf("\n== memory: not measured (no --memory-daemon)\n");
		return;
	}
	printf(
	    "\n== memory, memory pass (smaps_rollup of the fresh instance: RSS, Pss and Anonymous, kB)\n");
	printf("%-12s %-36s %9s %9s %9s %14s\n", "target", "state", "RSS", "Pss", "anon",
	    "anon growth");
	for (i = 1; i < n_targets; i++) {
		const struct target *t = &targets[i];
		unsigned long held_prev = 0;
		double per;

		if (t->mem_path == NULL)
			continue;
		printf("%-12s %-36s %9ld %9ld %9ld\n", t->name, "registered", t->mem0.rss_kb,
		    t->mem0.pss_kb, t->mem0.anon_kb);
		for (L = 0; L < opt.n_levels; L++) {
			const struct level_res *lr = &t->mlv[L];
			unsigned long h = lr->held >= 0 ? (unsigned long)lr->held : lr->sent;

			snprintf(state, sizeof(state), "%s sessions %s", grouped(h, a, sizeof(a)),
			    lr->held >= 0 ? "held" : "sent");
			printf("%-12s %-36s %9ld %9ld %9ld", "", state, lr->mem_after.rss_kb,
			    lr->mem_after.pss_kb, lr->mem_after.anon_kb);
			if (h > held_prev)
				printf(" %8.0f B/session\n",
				    (double)(lr->mem_after.anon_kb - lr->mem_before.anon_kb) *
					1024.0 / (double)(h - held_prev));
			else
				printf(" %+8ld kB\n",
				    lr->mem_after.anon_kb - lr->mem_before.anon_kb);
			held_prev = h;
		}
		if (opt.ks[opt.n_ks - 1] > 0 && t->mem_clients.anon_kb >= 0) {
			const struct level_res *last = &t->mlv[opt.n_levels - 1];

			per = (double)(t->mem_clients.anon_kb - last->mem_after.anon_kb) * 1024.0 /
			    (double)opt.ks[opt.n_ks - 1];
			snprintf(state, sizeof(state), "+ %s idle clients",
			    grouped(opt.ks[opt.n_ks - 1], a, sizeof(a)));
			printf("%-12s %-36s %9ld %9ld %9ld %8.0f B/client\n", "", state,
			    t->mem_clients.rss_kb, t->mem_clients.pss_kb, t->mem_clients.anon_kb,
			    per);
		}
		if ((per = bytes_per_session(t, &held)) >= 0)
			printf("%-12s %-36s %29s %8.0f B/session\n", "",
			    "all sessions fed, per session held", "", per);
	}
	printf(
	    "   per session: growth of anonymous memory over a level's feed / sessions it added; at the end,\n"
	    "   the growth from registration to the last level / sessions held then (evicted ones included).\n");
}

static void print_tput(void)
{
	char a[16], b[16];
	int L, i;

	printf(
	    "\n== pipelined throughput (%d requests in flight on one connection, x verdicts; median of %d rounds of\n"
	    "   %.1f s, targets alternating; no idle clients)\n",
	    opt.window, opt.tput_rounds, opt.tput_seconds);
	printf("%9s %-12s %12s %21s %8s  %s\n", "sessions", "target", "replies/s", "min..max",
	    "vs echo", "goal >=150k/s");
	for (L = 0; L < opt.n_levels; L++) {
		double e = median(targets[0].lv[L].tput, targets[0].lv[L].n_tput);

		for (i = 0; i < n_targets; i++) {
			const struct level_res *lr = &targets[i].lv[L];
			double m = median(lr->tput, lr->n_tput), lo = 1e18, hi = 0;
			char range[32];
			int r;

			if (lr->n_tput == 0) {
				printf("%9s %-12s %12s\n",
				    i == 0 ? grouped(opt.levels[L], a, sizeof(a)) : "",
				    targets[i].name, targets[i].dead ? "FAILED" : "-");
				continue;
			}
			for (r = 0; r < lr->n_tput; r++) {
				lo = lr->tput[r] < lo ? lr->tput[r] : lo;
				hi = lr->tput[r] > hi ? lr->tput[r] : hi;
			}
			snprintf(range, sizeof(range), "%.0f..%.0f", lo, hi);
			printf("%9s %-12s %12.0f %21s %8s  %s%s\n",
			    i == 0 ? grouped(opt.levels[L], a, sizeof(a)) : "", targets[i].name, m,
			    range, i == 0 ? "" : ratio_str(m, e, b, sizeof(b)),
			    i == 0            ? ""
				: m >= 150000 ? "PASS"
					      : "MISS",
			    i == 0 || level_tracked(&targets[i], L) ? "" : " (short)");
		}
	}
}

static void print_syscalls(void)
{
	char a[16];
	int L, i;
	bool any = false;

	for (L = 0; L < opt.n_levels; L++)
		for (i = 0; i < n_targets; i++)
			any = any || targets[i].lv[L].sys_done;
	if (!any) {
		printf(
		    "\n== system calls per request: not measured (needs perf or strace; --syscalls %s)\n",
		    opt.syscalls);
		return;
	}
	printf(
	    "\n== system calls per request (%d sequential x verdicts, counted in the target by %s)\n",
	    opt.syscall_requests, sys_tool);
	printf("%9s %-12s %8s %10s  %s\n", "sessions", "target", "per req", "log B/req",
	    "per request, by call");
	for (L = 0; L < opt.n_levels; L++) {
		for (i = 0; i < n_targets; i++) {
			const struct level_res *lr = &targets[i].lv[L];

			if (!lr->sys_done)
				continue;
			printf("%9s %-12s %8.2f",
			    i == 0 ? grouped(opt.levels[L], a, sizeof(a)) : "", targets[i].name,
			    lr->sys_per_req);
			if (i == 0 || lr->log_bytes_per_req < 0)
				printf(" %10s", "-");
			else
				printf(" %10.1f", lr->log_bytes_per_req);
			printf("  %s\n", lr->sys_detail);
		}
	}
}

static void print_goals(void)
{
	char a[16], b[16];
	int i, L, K, v;

	printf("\n== goals (every figure against the echo measured in the same run)\n");
	for (i = 1; i < n_targets; i++) {
		const struct target *t = &targets[i];
		double worst50 = 0, worst99 = 0, worst_tput = 1e18;
		char w50[96] = "", w99[96] = "", wt[64] = "";
		bool cells_all = true, tracked_all = true, tput_all = true;
		unsigned long held;
		double per;

		for (L = 0; L < opt.n_levels; L++) {
			const struct level_res *lr = &t->lv[L];
			double m = median(lr->tput, lr->n_tput);

			tracked_all = tracked_all && level_tracked(t, L);
			for (K = 0; K < opt.n_ks; K++) {
				for (v = 0; v < N_VARIANTS; v++) {
					const struct cell *c = &cells[L][K][v];
					double r50, r99;

					if (!c->done || c->st[i].n == 0 || c->st[0].n == 0) {
						cells_all = false;
						continue;
					}
					r50 = c->st[i].p50 / c->st[0].p50;
					r99 = c->st[i].p99 / c->st[0].p99;
					if (r50 > worst50) {
						worst50 = r50;
						snprintf(w50, sizeof(w50),
						    "%s sessions, %s others, %s",
						    grouped(opt.levels[L], a, sizeof(a)),
						    grouped(opt.ks[K], b, sizeof(b)),
						    variant_name[v]);
					}
					if (r99 > worst99) {
						worst99 = r99;
						snprintf(w99, sizeof(w99),
						    "%s sessions, %s others, %s",
						    grouped(opt.levels[L], a, sizeof(a)),
						    grouped(opt.ks[K], b, sizeof(b)),
						    variant_name[v]);
					}
				}
			}
			if (lr->n_tput == 0)
				tput_all = false;
			else if (m < worst_tput) {
				worst_tput = m;
				snprintf(wt, sizeof(wt), "%s sessions",
				    grouped(opt.levels[L], a, sizeof(a)));
			}
		}
		printf("%s%s%s\n", t->name, t->dead ? ": FAILED during the run: " : "",
		    t->dead ? t->why : "");
		printf("  %-50s %s worst %.2fx (%s)%s\n", "verdict p50 <= 1.3x echo, every row",
		    worst50 <= 1.3 && cells_all && tracked_all ? "PASS" : "MISS", worst50, w50,
		    tracked_all ? "" : "; not every session level was held");
		printf("  %-50s %s worst %.2fx (%s)%s\n", "verdict p99 <= 2x echo, every row",
		    worst99 <= 2.0 && cells_all && tracked_all ? "PASS" : "MISS", worst99, w99,
		    tracked_all ? "" : "; not every session level was held");
		if (worst_tput < 1e18)
			printf("  %-50s %s worst %.0f/s (%s)%s\n",
			    ">= 150k pipelined verdicts/s on one core",
			    worst_tput >= 150000 && tput_all && tracked_all ? "PASS" : "MISS",
			    worst_tput, wt,
			    tracked_all ? "" : "; not every session level was held");
		else
			printf("  %-50s MISS not measured\n",
			    ">= 150k pipelined verdicts/s on one core");
		if ((per = bytes_per_session(t, &held)) >= 0)
			printf(
			    "  %-50s REPORTED %.0f B/session (anonymous memory, %s sessions held)\n",
			    "memory per tracked session", per, grouped(held, a, sizeof(a)));
		else
			printf("  %-50s MISS not measured%s%s\n", "memory per tracked session",
			    t->mem_why[0] ? ": " : "", t->mem_why);
		if (t->errors > 0)
			printf("  %lu errors; the first: %s\n", t->errors, t->first_error);
	}
}

/* ---- main ---- */

static void usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: loadgen --echo SOCK --daemon NAME=SOCK [--daemon NAME=SOCK]... [options]\n"
	    "  --sessions LIST       session levels, cumulative (10,100,1000,10000,100000)\n"
	    "  --clients LIST        idle clients per row (0,100,1000)\n"
	    "  --rounds N            latency rounds per row (10)\n"
	    "  --samples N           requests per target per round (300)\n"
	    "  --warmup N            untimed requests per target per row (200)\n"
	    "  --window N            pipelined requests in flight (128)\n"
	    "  --tput-seconds S      one pipelined round (0.5)\n"
	    "  --tput-rounds N       pipelined rounds per target per level (3)\n"
	    "  --row-seconds S       the most one latency row may take, all targets (1.2)\n"
	    "  --feed-budget S       feeding time per daemon per level (20)\n"
	    "  --batch N             sessions per feed batch (1000)\n"
	    "  --syscalls WHAT       auto (strace, else perf), strace, perf or none (auto)\n"
	    "  --syscall-requests N  requests counted (2000)\n"
	    "  --timeout-ms MS       bound on every wait (5000)\n"
	    "  --work DIR            where to put counter files (a new /tmp directory)\n"
	    "  --tsv FILE            also write every figure as tab-separated lines\n"
	    "  --memory-daemon NAME=SOCK  a fresh instance of daemon NAME: memory per session and per\n"
	    "                        client are measured on it first, before anything is freed in it\n");
	exit(code);
}

static void add_target(const char *name, const char *path, bool echo)
{
	struct target *t;

	if (n_targets >= MAX_TARGETS)
		die("at most %d daemons", MAX_DAEMONS);
	t = &targets[n_targets++];
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->path = path;
	t->echo = echo;
	t->main.fd = -1;
	for (int L = 0; L < MAX_LEVELS; L++)
		t->lv[L].held = -1;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "echo", required_argument, NULL, 'e' },
		{ "daemon", required_argument, NULL, 'd' },
		{ "sessions", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "samples", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "window", required_argument, NULL, 'W' },
		{ "tput-seconds", required_argument, NULL, 'T' },
		{ "tput-rounds", required_argument, NULL, 'R' },
		{ "feed-budget", required_argument, NULL, 'f' },
		{ "row-seconds", required_argument, NULL, 'S' },
		{ "batch", required_argument, NULL, 'b' },
		{ "syscalls", required_argument, NULL, 'y' },
		{ "syscall-requests", required_argument, NULL, 'Y' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "work", required_argument, NULL, 'k' },
		{ "tsv", required_argument, NULL, 'v' },
		{ "memory-daemon", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *daemons[MAX_DAEMONS], *memd[MAX_DAEMONS];
	int n_daemons = 0, n_memd = 0, ch, i, j;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'e':
			opt.echo_path = optarg;
			break;
		case 'd':
			if (n_daemons >= MAX_DAEMONS)
				die("at most %d daemons", MAX_DAEMONS);
			daemons[n_daemons++] = optarg;
			break;
		case 's':
			opt.n_levels = parse_list(optarg, opt.levels, MAX_LEVELS);
			break;
		case 'c':
			opt.n_ks = parse_list(optarg, opt.ks, MAX_KS);
			break;
		case 'r':
			opt.rounds = atoi(optarg);
			break;
		case 'n':
			opt.samples = atoi(optarg);
			break;
		case 'w':
			opt.warmup = atoi(optarg);
			break;
		case 'W':
			opt.window = atoi(optarg);
			break;
		case 'T':
			opt.tput_seconds = atof(optarg);
			break;
		case 'R':
			opt.tput_rounds = atoi(optarg);
			break;
		case 'f':
			opt.feed_budget = atof(optarg);
			break;
		case 'S':
			opt.row_seconds = atof(optarg);
			break;
		case 'b':
			opt.batch = strtoul(optarg, NULL, 10);
			break;
		case 'y':
			opt.syscalls = optarg;
			break;
		case 'Y':
			opt.syscall_requests = atoi(optarg);
			break;
		case 't':
			opt.timeout_ms = atoi(optarg);
			break;
		case 'k':
			opt.work = optarg;
			break;
		case 'v':
			opt.tsv = optarg;
			break;
		case 'm':
			if (n_memd >= MAX_DAEMONS)
				die("at most %d memory daemons", MAX_DAEMONS);
			memd[n_memd++] = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc || opt.echo_path == NULL || n_daemons == 0)
		usage(2);
	if (opt.rounds < 1 || opt.samples < 1 || opt.warmup < 0 || opt.window < 1 ||
	    opt.window > 65536 || opt.tput_rounds < 1 || opt.tput_rounds > 16 ||
	    opt.tput_seconds <= 0 || opt.batch < 1 || opt.row_seconds <= 0 ||
	    opt.timeout_ms < 100 || opt.syscall_requests < 1 || opt.n_levels < 1 || opt.n_ks < 1)
		die("an option is out of range (see --help)");
	for (i = 1; i < opt.n_levels; i++)
		if (opt.levels[i] < opt.levels[i - 1])
			die("--sessions must not decrease (levels are cumulative)");
	for (i = 1; i < opt.n_ks; i++)
		if (opt.ks[i] < opt.ks[i - 1])
			die("--clients must be ascending");
	if (opt.levels[0] < 1)
		die("the first session level needs at least one session (the one verdicts are asked about)");
	add_target("echo", opt.echo_path, true);
	for (i = 0; i < n_daemons; i++) {
		char *eq = strchr(daemons[i], '=');

		if (eq == NULL || eq == daemons[i])
			die("--daemon wants NAME=SOCKET, not %s", daemons[i]);
		*eq = '\0';
		add_target(daemons[i], eq + 1, false);
	}
	for (j = 0; j < n_memd; j++) {
		char *eq = strchr(memd[j], '=');

		if (eq == NULL)
			die("--memory-daemon wants NAME=SOCKET, not %s", memd[j]);
		*eq = '\0';
		for (i = 1; i < n_targets && strcmp(targets[i].name, memd[j]) != 0; i++)
			;
		if (i == n_targets)
			die("--memory-daemon %s: no --daemon of that name", memd[j]);
		targets[i].mem_path = eq + 1;
	}
}

static void raise_nofile(void)
{
	struct rlimit rl;
	unsigned long need = (unsigned long)n_targets * opt.ks[opt.n_ks - 1] + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < need)
		die("%lu idle clients on %d targets need %lu descriptors; the limit is %lu",
		    opt.ks[opt.n_ks - 1], n_targets, need, (unsigned long)rl.rlim_cur);
}

static void print_header(void)
{
	char cpus[64], exe[PATH_MAX], path[64];
	int i;

	printf("ocstopd load generator: %d daemon(s) against a raw Unix-socket echo, interleaved\n",
	    n_targets - 1);
	printf("  loadgen pid %d on cpus %s\n", (int)getpid(), cpus_of(0, cpus, sizeof(cpus)));
	for (i = 0; i < n_targets; i++) {
		const struct target *t = &targets[i];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
		n = t->pid > 0 ? readlink(path, exe, sizeof(exe) - 1) : -1;
		exe[n > 0 ? n : 0] = '\0';
		printf("  %-12s pid %-7d cpus %-5s %s%s%s\n", t->name, (int)t->pid,
		    t->pid > 0 ? cpus_of(t->pid, cpus, sizeof(cpus)) : "?", exe,
		    t->dead ? " FAILED: " : "", t->dead ? t->why : "");
		if (t->mem_pid > 0)
			printf("  %-12s pid %-7d (a fresh instance for the memory pass)\n", "",
			    (int)t->mem_pid);
	}
}

int main(int argc, char **argv)
{
	char workbuf[] = "/tmp/loadgen.XXXXXX";
	int64_t start = now_ns();
	int L, K, v, i;

	parse_args(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (opt.work == NULL && (opt.work = mkdtemp(workbuf)) == NULL)
		die("mkdtemp: %s", strerror(errno));
	if (opt.tsv != NULL && (tsv = fopen(opt.tsv, "w")) == NULL)
		die("%s: %s", opt.tsv, strerror(errno));
	session_id(0, session0, sizeof(session0));
	for (i = 0; i < n_targets; i++)
		open_target(&targets[i]);
	if (targets[0].dead)
		die("the echo failed: %s", targets[0].why);
	memory_pass();
	for (L = 0; L < opt.n_levels; L++) {
		progress("level %d/%d: %lu sessions: connecting %lu idle clients to each target",
		    L + 1, opt.n_levels, opt.levels[L], opt.ks[opt.n_ks - 1]);
		set_idle_all(opt.ks[opt.n_ks - 1]);
		for (i = 1; i < n_targets; i++)
			if (!targets[i].dead)
				targets[i].lv[L].mem_before = mem_of(targets[i].pid);
		progress("level %d/%d: feeding sessions up to %lu", L + 1, opt.n_levels,
		    opt.levels[L]);
		feed_level(L, targets, n_targets);
		for (i = 0; i < n_targets; i++) {
			if (i > 0)
				finish_level(&targets[i], L);
			build_reqs(&targets[i], L);
		}
		for (K = opt.n_ks - 1; K >= 0; K--) {
			set_idle_all(opt.ks[K]);
			progress("level %d/%d: round trips with %lu idle clients", L + 1,
			    opt.n_levels, opt.ks[K]);
			for (v = 0; v < N_VARIANTS; v++)
				latency_cell(L, K, v);
		}
		progress("level %d/%d: pipelined throughput", L + 1, opt.n_levels);
		tput_level(L);
		progress("level %d/%d: system calls per request", L + 1, opt.n_levels);
		syscalls_level(L);
	}
	print_header();
	print_latency();
	print_feed(false);
	print_feed(true);
	print_memory();
	print_tput();
	print_syscalls();
	print_goals();
	printf("\nloadgen wall time: %.1f s\n", (double)(now_ns() - start) / 1e9);
	for (i = 0; i < n_targets; i++) {
		set_idle(&targets[i], 0);
		conn_close(&targets[i].main);
	}
	if (tsv != NULL)
		fclose(tsv);
	for (i = 1; i < n_targets; i++)
		if (targets[i].dead || targets[i].errors > 0)
			return 1;
	return 0;
}
