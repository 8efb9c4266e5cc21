/*
 * sse-source: a stand-in OpenCode server for the event CPU benchmark
 * (bench/events.sh). Single-threaded, epoll, HTTP/1.1 on 127.0.0.1 with a
 * port of the kernel's choice, printed as "port N" on stdout.
 *
 *   sse-source [--rate N] [--sessions N] [--busy N]
 *
 * It answers what ocstopd asks of an OpenCode server: GET /global/health
 * (version 1.18.33), GET /session/status (the busy sessions), GET
 * /session/:id (its info), POST /session/:id/abort ("true") and GET
 * /global/event, an event stream in chunked encoding as OpenCode sends it.
 * Each subscriber first gets server.connected, then every session announced
 * (session.created with its info, then session.status: busy for the first
 * --busy, idle for the others), written as its socket drains; then the
 * stream itself: --rate events a second in 1 ms ticks, the same frames to
 * every subscriber, OpenCode's shapes of 1.18: message.part.delta (about
 * 300 bytes) from the busy sessions in turn, one message.part.updated every
 * PART_UPDATED_EVERY events and one session.status every STATUS_EVERY.
 *
 * SIGUSR1 prints "sent N streaming S dropped D": events made since the
 * start, subscribers past their announcement, subscribers dropped for not
 * reading (more than MAX_PENDING bytes waiting).
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define MAX_REQUEST 8192          /* request line and headers */
#define MAX_PENDING (64u << 20)   /* bytes waiting for a subscriber that does not read */
#define ANNOUNCE_LOW (256u << 10) /* announce more once fewer bytes than this wait */
#define ANNOUNCE_BATCH 512        /* sessions per announcement chunk */
#define MAX_PER_TICK 100000       /* events one tick may catch up on after a stall */
#define PART_UPDATED_EVERY 50
#define STATUS_EVERY 100
#define DIRECTORY "/home/bench/project"
#define VERSION "1.18.33"

struct buf {
	char *p;
	size_t len, cap, off; /* off: bytes already written out */
};

struct conn {
	int fd;
	size_t slot;
	char in[MAX_REQUEST];
	size_t in_len;
	size_t skip;      /* request body bytes still to discard */
	int stream;       /* a /global/event subscriber */
	size_t announced; /* sessions announced so far (stream) */
	int live;         /* announcement over: gets the ticks' events */
	struct buf out;
};

/* epoll data: a connection's slot and that slot's generation, so that an
 * event of a connection closed earlier in the same batch finds nothing. */
static struct conn *conns[MAX_CONNS];
static uint32_t gens[MAX_CONNS];
enum { EV_LISTEN = MAX_CONNS, EV_TIMER, EV_SIGNAL };
static int ep;
static unsigned long n_sessions = 10, n_busy = 4, rate = 1000;
static unsigned long long sent, dropped;

static void die(const char *what)
{
	fprintf(stderr, "sse-source: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void buf_grow(struct buf *b, size_t more)
{
	size_t cap = b->cap != 0 ? b->cap : 65536;

	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	while (cap < b->len + more)
		cap *= 2;
	if (cap != b->cap) {
		if ((b->p = realloc(b->p, cap)) == NULL)
			die("realloc");
		b->cap = cap;
	}
}

static void buf_add(struct buf *b, const char *s, size_t n)
{
	buf_grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf");
		if ((size_t)n < b->cap - b->len)
			break;
		buf_grow(b, (size_t)n + 1);
	}
	b->len += (size_t)n;
}

static void session_id(char *out, size_t size, unsigned long i)
{
	snprintf(out, size, "ses_0bench%016lu", i);
}

static void frame_info(struct buf *b, const char *type, unsigned long i)
{
	char id[64];

	session_id(id, sizeof id, i);
	buf_printf(b,
	    "data: {\"directory\":\"" DIRECTORY "\",\"payload\":{\"type\":\"%s\",\"properties\":"
	    "{\"info\":{\"id\":\"%s\",\"slug\":\"bench-%lu\",\"version\":\"" VERSION "\","
	    "\"projectID\":\"4b0ea68d7af9a6031a7ffda7ad66e0cb83315750\",\"directory\":\"" DIRECTORY
	    "\",\"title\":\"Benchmark session %lu\",\"time\":{\"created\":1764500000000,"
	    "\"updated\":1764500000000}}}}}\n\n",
	    type, id, i, i);
}

static void frame_status(struct buf *b, unsigned long i, int busy)
{
	char id[64];

	session_id(id, sizeof id, i);
	buf_printf(b,
	    "data: {\"directory\":\"" DIRECTORY "\",\"payload\":{\"type\":\"session.status\","
	    "\"properties\":{\"sessionID\":\"%s\",\"status\":{\"type\":\"%s\"}}}}\n\n",
	    id, busy ? "busy" : "idle");
}

static void frame_delta(struct buf *b, unsigned long i, unsigned long long k)
{
	char id[64];

	session_id(id, sizeof id, i);
	buf_printf(b,
	    "data: {\"directory\":\"" DIRECTORY "\",\"payload\":{\"type\":\"message.part.delta\","
	    "\"properties\":{\"sessionID\":\"%s\",\"messageID\":\"msg_0bench%016lu\","
	    "\"partID\":\"prt_0bench%016lu\",\"field\":\"text\",\"delta\":\"event %llu: the model "
	    "streams its answer a few words at a time, as \\\"deltas\\\" of a text part\\n\"}}}\n\n",
	    id, i, i, k);
}

static void frame_part(struct buf *b, unsigned long i, unsigned long long k)
{
	char id[64];

	session_id(id, sizeof id, i);
	buf_printf(b,
	    "data: {\"directory\":\"" DIRECTORY "\",\"payload\":{\"type\":\"message.part.updated\","
	    "\"properties\":{\"part\":{\"id\":\"prt_0bench%016lu\",\"sessionID\":\"%s\","
	    "\"messageID\":\"msg_0bench%016lu\",\"type\":\"text\",\"text\":\"event %llu: the "
	    "model streams its answer a few words at a time\",\"time\":{\"start\":1764500000000}}}}}"
	    "\n\n",
	    i, id, i, k);
}

/* Wrap b's bytes from start on as one chunk of the chunked encoding. */
static void chunk_close(struct buf *b, size_t start)
{
	char head[32];
	int n = snprintf(head, sizeof head, "%zx\r\n", b->len - start - 20);

	/* start reserved 20 bytes for the size line: move it next to the data */
	memcpy(b->p + start + 20 - n, head, (size_t)n);
	memmove(b->p + start, b->p + start + 20 - n, b->len - start - 20 + (size_t)n);
	b->len -= 20 - (size_t)n;
	buf_add(b, "\r\n", 2);
}

static size_t chunk_open(struct buf *b)
{
	size_t start;

	buf_grow(b, 20); /* first: it may rewind an empty buffer */
	start = b->len;
	b->len += 20;
	return start;
}

static uint64_t conn_key(const struct conn *c)
{
	return (uint64_t)gens[c->slot] << 32 | c->slot;
}

static void conn_close(struct conn *c)
{
	conns[c->slot] = NULL;
	gens[c->slot]++;
	close(c->fd);
	free(c->out.p);
	free(c);
}

static void want_out(struct conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0),
		.data.u64 = conn_key(c) };

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Announce the next sessions while the socket keeps up. */
static void announce(struct conn *c)
{
	size_t start, end;

	while (!c->live && c->out.len - c->out.off < ANNOUNCE_LOW) {
		start = chunk_open(&c->out);
		end = c->announced + ANNOUNCE_BATCH < n_sessions ? c->announced + ANNOUNCE_BATCH
								 : n_sessions;
		for (; c->announced < end; c->announced++) {
			frame_info(&c->out, "session.created", c->announced);
			frame_status(&c->out, c->announced, c->announced < n_busy);
		}
		if (c->out.len - start > 20)
			chunk_close(&c->out, start);
		else
			c->out.len = start;
		c->live = c->announced == n_sessions;
	}
}

/* Write what waits; 0 on success, -1 when the peer is gone. */
static int flush_out(struct conn *c)
{
	ssize_t n;

	for (;;) {
		if (c->stream)
			announce(c);
		if (c->out.off == c->out.len)
			break;
		n = write(c->fd, c->out.p + c->out.off, c->out.len - c->out.off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			want_out(c, 1);
			return 0;
		}
		if (n <= 0)
			return -1;
		c->out.off += (size_t)n;
	}
	c->out.off = c->out.len = 0;
	want_out(c, 0);
	return 0;
}

static void reply(struct conn *c, const char *body)
{
	buf_printf(&c->out,
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
}

static void reply_session(struct conn *c, const char *id)
{
	char body[1536];

	snprintf(body, sizeof body,
	    "{\"id\":\"%s\",\"slug\":\"bench\",\"version\":\"" VERSION
	    "\",\"directory\":\"" DIRECTORY
	    "\",\"title\":\"Benchmark session\",\"time\":{\"created\":1764500000000,"
	    "\"updated\":1764500000000}}",
	    id);
	reply(c, body);
}

static void reply_status(struct conn *c)
{
	struct buf body = { 0 };
	char id[64];
	unsigned long i;

	buf_grow(&body, 1);
	buf_add(&body, "{", 1);
	for (i = 0; i < n_busy && i < n_sessions; i++) {
		session_id(id, sizeof id, i);
		buf_printf(&body, "%s\"%s\":{\"type\":\"busy\"}", i > 0 ? "," : "", id);
	}
	buf_add(&body, "}", 2);
	reply(c, body.p);
	free(body.p);
}

static void start_stream(struct conn *c)
{
	size_t start;

	c->stream = 1;
	buf_printf(&c->out,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n");
	start = chunk_open(&c->out);
	buf_printf(&c->out,
	    "data: {\"payload\":{\"type\":\"server.connected\",\"properties\":{}}}\n\n");
	chunk_close(&c->out, start);
}

/* One request whose head is in c->in[0..len); its body is skipped. */
static void handle(struct conn *c, size_t len)
{
	char method[8], path[1024];
	const char *cl;
	char *q;

	c->in[len - 1] = '\0';
	if (sscanf(c->in, "%7s %1023s", method, path) != 2) {
		reply(c, "{}");
		return;
	}
	if ((cl = strcasestr(c->in, "\r\ncontent-length:")) != NULL)
		c->skip = strtoul(cl + 17, NULL, 10);
	if ((q = strchr(path, '?')) != NULL)
		*q = '\0';
	if (strcmp(method, "GET") == 0 && strcmp(path, "/global/health") == 0)
		reply(c, "{\"healthy\":true,\"version\":\"" VERSION "\"}");
	else if (strcmp(method, "GET") == 0 && strcmp(path, "/global/event") == 0)
		start_stream(c);
	else if (strcmp(method, "GET") == 0 && strcmp(path, "/session/status") == 0)
		reply_status(c);
	else if (strcmp(method, "POST") == 0 && strncmp(path, "/session/", 9) == 0 &&
	    (q = strrchr(path, '/')) > path + 9 && strcmp(q, "/abort") == 0)
		reply(c, "true");
	else if (strcmp(method, "GET") == 0 && strncmp(path, "/session/", 9) == 0 &&
	    strchr(path + 9, '/') == NULL)
		reply_session(c, path + 9);
	else
		buf_printf(&c->out, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}");
}

static void on_input(struct conn *c)
{
	char *end;
	size_t n, head;
	ssize_t r;

	for (;;) {
		r = read(c->fd, c->in + c->in_len, sizeof c->in - c->in_len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		c->in_len += (size_t)r;
		for (;;) {
			n = c->skip < c->in_len ? c->skip : c->in_len;
			memmove(c->in, c->in + n, c->in_len - n);
			c->in_len -= n;
			c->skip -= n;
			if (c->stream) {
				c->in_len = 0;
				break;
			}
			if ((end = memmem(c->in, c->in_len, "\r\n\r\n", 4)) == NULL)
				break;
			head = (size_t)(end - c->in) + 4;
			handle(c, head);
			memmove(c->in, c->in + head, c->in_len - head);
			c->in_len -= head;
		}
		if (c->in_len == sizeof c->in) {
			conn_close(c);
			return;
		}
	}
	if (flush_out(c) < 0)
		conn_close(c);
}

static void on_accept(int lfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct conn *c;
	size_t i;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < MAX_CONNS && conns[i] != NULL; i++)
			;
		if (i == MAX_CONNS || (c = calloc(1, sizeof *c)) == NULL) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->fd = fd;
		c->slot = i;
		conns[i] = c;
		ev.data.u64 = conn_key(c);
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll_ctl");
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Make the events due since the start and hand them to every live subscriber. */
static void on_tick(uint64_t t0, struct buf *batch)
{
	unsigned long long due = (now_ns() - t0) * rate / 1000000000u, k;
	unsigned long busy = n_busy < n_sessions ? n_busy : n_sessions;
	size_t i, start;

	if (due <= sent || busy == 0)
		return;
	if (due - sent > MAX_PER_TICK)
		sent = due - MAX_PER_TICK;
	batch->len = batch->off = 0;
	start = chunk_open(batch);
	for (k = sent; k < due; k++) {
		if (k % STATUS_EVERY == STATUS_EVERY - 1)
			frame_status(batch, k % busy, 1);
		else if (k % PART_UPDATED_EVERY == PART_UPDATED_EVERY - 1)
			frame_part(batch, k % busy, k);
		else
			frame_delta(batch, k % busy, k);
	}
	chunk_close(batch, start);
	sent = due;
	for (i = 0; i < MAX_CONNS; i++) {
		struct conn *c = conns[i];

		if (c == NULL || !c->live)
			continue;
		if (c->out.len - c->out.off > MAX_PENDING) {
			dropped++;
			conn_close(c);
			continue;
		}
		buf_add(&c->out, batch->p, batch->len);
		if (flush_out(c) < 0)
			conn_close(c);
	}
}

static void stats(void)
{
	size_t i, live = 0;

	for (i = 0; i < MAX_CONNS; i++)
		live += conns[i] != NULL && conns[i]->live;
	printf("sent %llu streaming %zu dropped %llu\n", sent, live, dropped);
	fflush(stdout);
}

static unsigned long number(const char *opt, const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s != NULL ? s : "", &end, 10);
	if (s == NULL || *s == '\0' || *end != '\0' || errno != 0) {
		fprintf(stderr, "sse-source: %s wants a number\n", opt);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct itimerspec tick = { .it_interval.tv_nsec = 1000000, .it_value.tv_nsec = 1000000 };
	struct epoll_event ev, evs[64];
	struct signalfd_siginfo si;
	struct buf batch = { 0 };
	socklen_t slen = sizeof sa;
	int lfd = -1, tfd = -1, sfd = -1, i, n;
	uint64_t t0, expirations;
	sigset_t mask;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rate") == 0)
			rate = number(argv[i], argv[i + 1]), i++;
		else if (strcmp(argv[i], "--sessions") == 0)
			n_sessions = number(argv[i], argv[i + 1]), i++;
		else if (strcmp(argv[i], "--busy") == 0)
			n_busy = number(argv[i], argv[i + 1]), i++;
		else {
			fprintf(stderr, "usage: sse-source [--rate N] [--sessions N] [--busy N]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &slen) < 0 ||
	    (tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) < 0 ||
	    timerfd_settime(tfd, 0, &tick, NULL) < 0 ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die("setup");
	ev.events = EPOLLIN;
	ev.data.u64 = EV_LISTEN;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.u64 = EV_TIMER;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.u64 = EV_SIGNAL;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	printf("port %u\n", ntohs(sa.sin_port));
	fflush(stdout);
	t0 = now_ns();
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) < 0 && errno != EINTR)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			uint64_t key = evs[i].data.u64;
			struct conn *c = (uint32_t)key < MAX_CONNS ? conns[(uint32_t)key] : NULL;

			if (key == EV_LISTEN) {
				on_accept(lfd);
			} else if (key == EV_TIMER) {
				if (read(tfd, &expirations, sizeof expirations) > 0)
					on_tick(t0, &batch);
			} else if (key == EV_SIGNAL) {
				if (read(sfd, &si, sizeof si) > 0)
					stats();
			} else if (c != NULL && conn_key(c) == key) {
				if (evs[i].events & EPOLLIN)
					on_input(c);
				else if (flush_out(c) < 0)
					conn_close(c);
			}
		}
	}
}
