#include <sys/queue.h>

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "io/peer.h"
#include "proto.h"

/* Bytes taken from the socket per read; frames may span several. */
#define PEER_READ_CHUNK 65536
/* Reads per readiness before others get their turn. */
#define PEER_READS_PER_WAKE 4
/* Output memory a peer keeps once all is written: enough for the replies
 * of a busy client without an allocation each, little for an idle one. */
#define PEER_KEEP_OUTPUT (16u << 10)
#define PEER_FIRST_OUTPUT 1024u

struct peer_req {
	struct peer *p;
	uint32_t msgid;
	peer_reply_cb cb;
	void *arg;
	struct event *timer;
	uint64_t out_end; /* the peer's out_total once the request was queued */
	TAILQ_ENTRY(peer_req) link;
};

struct peer {
	int fd;
	char *label;
	unsigned refs;
	const struct peer_handlers *h;
	void *arg;
	struct event *rd;
	struct event *wr;
	struct event *closer; /* runs the deferred close */
	struct event *stall;  /* half a frame waited too long, or an ending peer did not read */
	struct event *resume; /* the next turn of a peer with messages left to handle */
	char *out;            /* out[out_head..out_len) is queued, out_cap allocated */
	size_t out_head, out_len, out_cap;
	uint64_t out_total, sent_total; /* bytes ever queued, and taken by the socket */
	struct proto_reader *reader;
	bool closing;
	bool closed;
	bool reading;       /* dispatching a read: output waits until it is done */
	bool waiting_write; /* wr is added: the socket took only part of the output */
	bool stall_armed;
	const char *ending; /* why it closes once its output is written */
	const char *why;
	struct proto_buf scratch; /* outgoing requests are packed here */
	TAILQ_HEAD(, peer_req) pending;
	size_t n_pending;
	uint32_t next_msgid;
};

static void req_free(struct peer_req *r)
{
	TAILQ_REMOVE(&r->p->pending, r, link);
	r->p->n_pending--;
	event_free(r->timer);
	free(r);
}

static void req_finish(struct peer_req *r, const msgpack_object *error,
    const msgpack_object *result, const char *failure)
{
	peer_reply_cb cb = r->cb;
	void *arg = r->arg;

	req_free(r);
	cb(error, result, failure, arg);
}

void peer_ref(struct peer *p)
{
	p->refs++;
}

void peer_unref(struct peer *p)
{
	if (--p->refs > 0)
		return;
	proto_reader_free(p->reader);
	proto_buf_destroy(&p->scratch);
	free(p->label);
	free(p);
}

/* The close itself; the handler is told unless this is a shutdown. The
 * owner hears first, so that what depended on the connection ends for that
 * reason; then requests still in flight fail. */
static void close_now(struct peer *p, bool tell)
{
	p->closing = true;
	p->closed = true;
	event_free(p->rd);
	event_free(p->wr);
	event_free(p->closer);
	event_free(p->stall);
	event_free(p->resume);
	free(p->out);
	p->out = NULL;
	p->out_head = p->out_len = p->out_cap = 0;
	close(p->fd);
	p->fd = -1;
	if (tell)
		p->h->closed(p, p->why, p->arg);
	while (!TAILQ_EMPTY(&p->pending))
		req_finish(TAILQ_FIRST(&p->pending), NULL, NULL, "the connection closed");
	peer_unref(p); /* the connection's own reference */
}

static void closer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	close_now(arg, true);
}

void peer_close_now(struct peer *p)
{
	if (!p->closed)
		close_now(p, false);
}

void peer_close(struct peer *p, const char *why)
{
	if (p->closing)
		return;
	p->closing = true;
	p->why = why;
	event_del(p->rd);
	event_del(p->wr);
	event_del(p->stall);
	event_del(p->resume);
	event_active(p->closer, EV_TIMEOUT, 0);
}

static void arm_stall(struct peer *p)
{
	struct timeval tv = { PEER_PARTIAL_FRAME_MS / 1000, (PEER_PARTIAL_FRAME_MS % 1000) * 1000 };

	evtimer_add(p->stall, &tv);
	p->stall_armed = true;
}

/* Read no more; close once what it was answered is written. */
static void end_after_output(struct peer *p, const char *why)
{
	p->ending = why;
	event_del(p->rd);
	arm_stall(p);
}

bool peer_alive(const struct peer *p)
{
	return !p->closing;
}

const char *peer_label(const struct peer *p)
{
	return p->label;
}

static size_t out_queued(const struct peer *p)
{
	return p->out_len - p->out_head;
}

size_t peer_output_bytes(const struct peer *p)
{
	return out_queued(p);
}

/* Append to the output; the caller has checked PEER_MAX_OUTPUT, so the
 * buffer never grows past twice that bound. */
static int out_append(struct peer *p, const void *buf, size_t len)
{
	size_t queued = out_queued(p), need, cap;
	char *grown;

	if (p->out_len + len > p->out_cap && p->out_head > 0) {
		memmove(p->out, p->out + p->out_head, queued);
		p->out_head = 0;
		p->out_len = queued;
	}
	need = p->out_len + len;
	if (need > p->out_cap) {
		for (cap = p->out_cap > 0 ? p->out_cap : PEER_FIRST_OUTPUT; cap < need; cap *= 2)
			;
		if ((grown = realloc(p->out, cap)) == NULL)
			return -1;
		p->out = grown;
		p->out_cap = cap;
	}
	memcpy(p->out + p->out_len, buf, len);
	p->out_len += len;
	p->out_total += len;
	return 0;
}

/* All written: start over at the front, and give back a large buffer. */
static void out_drained(struct peer *p)
{
	p->out_head = p->out_len = 0;
	if (p->out_cap > PEER_KEEP_OUTPUT) {
		free(p->out);
		p->out = NULL;
		p->out_cap = 0;
	}
}

/* Write what the socket takes; wait for writability for the rest. */
static void flush(struct peer *p)
{
	ssize_t n;

	if (p->closing)
		return;
	if (out_queued(p) == 0) {
		if (p->ending != NULL)
			peer_close(p, p->ending);
		return;
	}
	/* MSG_NOSIGNAL: a peer gone away is an error here, never a signal. */
	n = send(p->fd, p->out + p->out_head, out_queued(p), MSG_NOSIGNAL);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		peer_close(p, "write error");
		return;
	}
	if (n > 0) {
		p->out_head += (size_t)n;
		p->sent_total += (uint64_t)n;
	}
	if (out_queued(p) == 0) {
		out_drained(p);
		if (p->waiting_write) {
			event_del(p->wr);
			p->waiting_write = false;
		}
		if (p->ending != NULL)
			peer_close(p, p->ending);
	} else if (!p->waiting_write) {
		event_add(p->wr, NULL);
		p->waiting_write = true;
	}
}

static void write_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

int peer_send(struct peer *p, const void *buf, size_t len)
{
	if (p->closing)
		return -1;
	if (len > PEER_MAX_OUTPUT - out_queued(p)) {
		log_warnx("%s: dropped: it does not read its replies", p->label);
		peer_close(p, "output over bound");
		return -1;
	}
	if (out_append(p, buf, len) < 0) {
		peer_close(p, "out of memory");
		return -1;
	}
	if (!p->reading)
		flush(p);
	return 0;
}

static void on_response(struct peer *p, const struct proto_msg *m)
{
	struct peer_req *r;

	TAILQ_FOREACH(r, &p->pending, link) {
		if (r->msgid == m->msgid) {
			req_finish(r, m->error->type == MSGPACK_OBJECT_NIL ? NULL : m->error,
			    m->result, NULL);
			return;
		}
	}
	log_debug("%s: response to unknown msgid %u", p->label, m->msgid);
}

/* Hand complete frames to the owner, at most *budget of them (counted
 * down); true when there was one. */
static bool dispatch(struct peer *p, unsigned *budget)
{
	struct proto_msg m;
	bool any = false;
	int rc;

	while (
	    *budget > 0 && !p->closing && (rc = proto_reader_next(p->reader, &m)) != PROTO_AGAIN) {
		(*budget)--;
		if (rc == PROTO_ERR) {
			log_warnx("%s: %s; closing", p->label, proto_reader_error(p->reader));
			end_after_output(p, "protocol error");
			return any;
		}
		any = true;
		if (rc == PROTO_INVALID) {
			p->h->invalid(p, m.has_msgid && m.kind == PROTO_REQUEST, m.msgid,
			    proto_reader_error(p->reader), p->arg);
			continue;
		}
		switch (m.kind) {
		case PROTO_REQUEST:
			p->h->request(p, m.msgid, m.method, m.method_len, m.params, p->arg);
			break;
		case PROTO_NOTIFY:
			p->h->notify(p, m.method, m.method_len, m.params, p->arg);
			break;
		case PROTO_RESPONSE:
			on_response(p, &m);
			break;
		}
	}
	return any;
}

/* Half a frame may wait only so long for its rest; each frame that
 * completes starts the wait again. A peer sending whole frames never
 * arms it. */
static void watch_partial(struct peer *p, bool progress)
{
	if (p->closing || p->ending != NULL)
		return;
	if (proto_reader_partial(p->reader)) {
		if (progress || !p->stall_armed)
			arm_stall(p);
	} else if (p->stall_armed) {
		event_del(p->stall);
		p->stall_armed = false;
	}
}

static void stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;

	(void)fd;
	(void)what;
	p->stall_armed = false;
	if (p->ending != NULL) {
		peer_close(p, p->ending);
		return;
	}
	log_warnx("%s: half a frame unfinished for %d ms; closing", p->label,
	    PEER_PARTIAL_FRAME_MS);
	peer_close(p, "half a frame left unfinished");
}

static void read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	char buf[PEER_READ_CHUNK];
	ssize_t n = PEER_READ_CHUNK;
	unsigned budget = PEER_MESSAGES_PER_WAKE;
	bool progress;
	int i;

	(void)fd;
	(void)what;
	peer_ref(p);
	p->reading = true;
	/* What the last turn left first, in order (the resume timer calls
	 * with no fd). */
	progress = p->ending == NULL && dispatch(p, &budget);
	for (i = 0; i < PEER_READS_PER_WAKE && n == PEER_READ_CHUNK && budget > 0 && !p->closing &&
	     p->ending == NULL;
	     i++) {
		n = read(p->fd, buf, sizeof(buf));
		if (n == 0) {
			peer_close(p, "end of stream");
		} else if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				peer_close(p, "read error");
		} else {
			/* A bad byte breaks the stream, but what came complete
			 * before it is answered first (dispatch ends the peer). */
			proto_reader_feed(p->reader, buf, (size_t)n);
			progress |= dispatch(p, &budget);
		}
	}
	/* Its turn is over with messages left: the next one comes after the
	 * others' (a timer runs after the loop has looked at every socket). */
	if (budget == 0 && !p->closing) {
		struct timeval now = { 0, 0 };

		evtimer_add(p->resume, &now);
	}
	watch_partial(p, progress);
	p->reading = false;
	flush(p);
	peer_unref(p);
}

struct peer *peer_new(struct event_base *base, int fd, const char *label,
    const struct peer_handlers *h, void *arg)
{
	struct peer *p = calloc(1, sizeof(*p));

	if (p == NULL) {
		close(fd);
		return NULL;
	}
	p->fd = fd;
	p->refs = 1;
	p->h = h;
	p->arg = arg;
	TAILQ_INIT(&p->pending);
	proto_buf_init(&p->scratch);
	p->label = strdup(label);
	p->reader = proto_reader_new(PROTO_MAX_FRAME);
	p->rd = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, p);
	p->wr = event_new(base, fd, EV_WRITE | EV_PERSIST, write_cb, p);
	p->closer = event_new(base, -1, 0, closer_cb, p);
	p->stall = evtimer_new(base, stall_cb, p);
	p->resume = evtimer_new(base, read_cb, p);
	if (p->label == NULL || p->reader == NULL || p->rd == NULL || p->wr == NULL ||
	    p->closer == NULL || p->stall == NULL || p->resume == NULL ||
	    event_add(p->rd, NULL) < 0) {
		if (p->rd != NULL)
			event_free(p->rd);
		if (p->wr != NULL)
			event_free(p->wr);
		if (p->closer != NULL)
			event_free(p->closer);
		if (p->stall != NULL)
			event_free(p->stall);
		if (p->resume != NULL)
			event_free(p->resume);
		close(fd);
		p->closed = true;
		peer_unref(p);
		return NULL;
	}
	return p;
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	req_finish(arg, NULL, NULL, "no answer in time");
}

struct peer_req *peer_request(struct peer *p, const char *method, peer_pack_cb pack,
    const void *pack_arg, int timeout_ms, peer_reply_cb cb, void *arg)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct peer_req *r;
	int rc;

	if (p->closing || p->n_pending >= PEER_MAX_PENDING || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->timer = evtimer_new(event_get_base(p->rd), timeout_cb, r)) == NULL) {
		free(r);
		return NULL;
	}
	r->p = p;
	r->msgid = ++p->next_msgid;
	r->cb = cb;
	r->arg = arg;
	proto_buf_reset(&p->scratch);
	proto_pack_request_header(&p->scratch.pk, r->msgid, method);
	pack(&p->scratch.pk, pack_arg);
	rc = p->scratch.oom ? -1 : peer_send(p, p->scratch.data, p->scratch.size);
	if (rc < 0) {
		event_free(r->timer);
		free(r);
		return NULL;
	}
	r->out_end = p->out_total;
	evtimer_add(r->timer, &tv);
	TAILQ_INSERT_TAIL(&p->pending, r, link);
	p->n_pending++;
	return r;
}

bool peer_request_sent(const struct peer_req *r)
{
	return r->p->sent_total >= r->out_end;
}

void peer_request_cancel(struct peer_req *r)
{
	req_free(r);
}
