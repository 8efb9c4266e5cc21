/* One connection to ocstopd: connect, send a request, wait for messages. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

/* Bytes taken from the socket per read; frames may span several. */
#define CONN_READ_CHUNK 65536

/* Pause before retrying a connect refused for a full listen queue. */
#define CONN_RETRY_MS 10

struct conn {
	int fd;
	uint32_t msgid; /* of the last request started */
	struct proto_reader *reader;
	msgpack_sbuffer out; /* the request being packed */
	msgpack_packer pk;
	bool oom; /* packing ran out of memory */
	bool has_wait_mask;
	sigset_t wait_mask;
	int error_code;   /* of the last error reply; 0: none */
	char *error_text; /* its message; NULL: none */
};

static char *conn_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t conn_now_ms(void);
static int conn_write_cb(void *data, const char *buf, size_t len);
static int conn_wait(struct conn *c, short events, int64_t deadline, char **cause);
static int conn_check_dir(const char *path, char **cause);
static int conn_connect(struct conn *c, const char *path, int64_t deadline, char **cause);
static int conn_check_peer(struct conn *c, const char *path, char **cause);
static int conn_send(struct conn *c, int64_t deadline, char **cause);
static int conn_read_msg(struct conn *c, int64_t deadline, struct proto_msg *msg, bool *invalid,
    char **cause);
static int conn_check_response(struct conn *c, const struct proto_msg *msg, char **cause);

/* A message for *cause; NULL when memory runs out, which callers report. */
static char *conn_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* Monotonic so that a clock change cannot stretch or cut a deadline. */
static int64_t conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t conn_deadline(int64_t ms)
{
	int64_t now = conn_now_ms();

	if (ms >= CONN_NO_DEADLINE - now)
		return CONN_NO_DEADLINE;
	return now + ms;
}

/* Packing goes through here so that a failed allocation is remembered
 * instead of sending a truncated request. */
static int conn_write_cb(void *data, const char *buf, size_t len)
{
	struct conn *c = data;

	if (msgpack_sbuffer_write(&c->out, buf, len) != 0) {
		c->oom = true;
		return -1;
	}
	return 0;
}

struct conn *conn_new(int fd)
{
	struct conn *c;
	int flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((c->reader = proto_reader_new(0)) == NULL) {
		free(c);
		return NULL;
	}
	c->fd = fd;
	msgpack_sbuffer_init(&c->out);
	msgpack_packer_init(&c->pk, c, conn_write_cb);
	return c;
}

void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	proto_reader_free(c->reader);
	msgpack_sbuffer_destroy(&c->out);
	free(c->error_text);
	free(c);
}

void conn_set_wait_mask(struct conn *c, const sigset_t *mask)
{
	c->wait_mask = *mask;
	c->has_wait_mask = true;
}

/* Waits until the socket is ready for events or the deadline passes. */
static int conn_wait(struct conn *c, short events, int64_t deadline, char **cause)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	struct timespec ts, *tsp;
	int64_t left;
	int n;

	for (;;) {
		tsp = NULL;
		if (deadline != CONN_NO_DEADLINE) {
			if ((left = deadline - conn_now_ms()) <= 0) {
				*cause = conn_fmt("timed out waiting for the daemon");
				return CONN_ETRANSPORT;
			}
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (left % 1000) * 1000000;
			tsp = &ts;
		}
		n = ppoll(&pfd, 1, tsp, c->has_wait_mask ? &c->wait_mask : NULL);
		/* POLLHUP and POLLERR count as ready: the next call says why. */
		if (n > 0)
			return CONN_OK;
		if (n < 0 && errno == EINTR && c->has_wait_mask) {
			*cause = NULL;
			return CONN_EINTR;
		}
		if (n < 0 && errno != EINTR) {
			*cause = conn_fmt("poll: %s", strerror(errno));
			return CONN_ETRANSPORT;
		}
	}
}

/* Refuses a socket in a directory that someone else could have bound it in
 * (proto's rule), before a byte is sent there. A directory that cannot be
 * read is left to connect() to report. */
static int conn_check_dir(const char *path, char **cause)
{
	char dir[PROTO_MAX_SOCKET_PATH + 1];
	const char *why;
	struct stat st;

	if (proto_socket_dir(path, dir, sizeof dir) < 0 || lstat(dir, &st) < 0)
		return CONN_OK;
	if ((why = proto_socket_dir_refusal(st.st_mode, st.st_uid, geteuid())) == NULL)
		return CONN_OK;
	*cause = conn_fmt("refusing to use %s: its directory %s %s (owner uid %u, mode %04o); "
			  "it must be yours with mode %04o, so that no one else can listen there",
	    path, dir, why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
	    PROTO_SOCKET_DIR_MODE);
	return CONN_ETRANSPORT;
}

/* Non-blocking connect, so a daemon that never accepts costs at most the
 * deadline. A full listen queue (EAGAIN on Unix sockets) is retried. */
static int conn_connect(struct conn *c, const char *path, int64_t deadline, char **cause)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len = sizeof(int);
	int err = 0;

	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0)
			return CONN_OK;
		if (errno != EAGAIN)
			break;
		if (conn_now_ms() + CONN_RETRY_MS >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		poll(NULL, 0, CONN_RETRY_MS);
	}
	err = errno;
	if (err == EINPROGRESS || err == EINTR) {
		if (conn_wait(c, POLLOUT, deadline, cause) != CONN_OK) {
			free(*cause);
			err = ETIMEDOUT;
		} else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
			err = errno;
		}
		if (err == 0)
			return CONN_OK;
	}
	*cause = conn_fmt("cannot connect to %s: %s%s", path, strerror(err),
	    err == ENOENT || err == ECONNREFUSED ? " (is ocstopd running?)" : "");
	return CONN_ETRANSPORT;
}

/* The directory can be replaced between the check and connect() (a link
 * swapped in a parent we do not own): the kernel's word on the listener is
 * what counts. */
static int conn_check_peer(struct conn *c, const char *path, char **cause)
{
	struct ucred cred;
	socklen_t len = sizeof cred;

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		*cause = conn_fmt("cannot tell who listens on %s: %s", path, strerror(errno));
		return CONN_ETRANSPORT;
	}
	if (cred.uid != geteuid()) {
		*cause = conn_fmt("refusing to use %s: the process listening there (pid %d) runs "
				  "as uid %u, not as you (uid %u)",
		    path, (int)cred.pid, (unsigned)cred.uid, (unsigned)geteuid());
		return CONN_ETRANSPORT;
	}
	return CONN_OK;
}

struct conn *conn_open(const char *path, int64_t deadline, char **cause)
{
	struct sockaddr_un sun;
	struct conn *c;
	int64_t limit;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		*cause = conn_fmt("%s: socket path too long", path);
		return NULL;
	}
	if (conn_check_dir(path, cause) != CONN_OK)
		return NULL;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = conn_fmt("socket: %s", strerror(errno));
		return NULL;
	}
	if ((c = conn_new(fd)) == NULL) {
		close(fd);
		*cause = NULL;
		return NULL;
	}
	if ((limit = conn_deadline(CONN_CONNECT_TIMEOUT_MS)) < deadline)
		deadline = limit;
	if (conn_connect(c, path, deadline, cause) != CONN_OK ||
	    conn_check_peer(c, path, cause) != CONN_OK) {
		conn_free(c);
		return NULL;
	}
	return c;
}

msgpack_packer *conn_request(struct conn *c, const char *method)
{
	msgpack_sbuffer_clear(&c->out);
	c->oom = false;
	proto_pack_request_header(&c->pk, ++c->msgid, method);
	return &c->pk;
}

/* Writes the packed request whole, waiting whenever the socket is full. */
static int conn_send(struct conn *c, int64_t deadline, char **cause)
{
	size_t off = 0;
	ssize_t n;
	int st;

	if (c->oom) {
		*cause = NULL;
		return CONN_ETRANSPORT;
	}
	while (off < c->out.size) {
		/* MSG_NOSIGNAL: a daemon gone away is an error to report, not a
		 * SIGPIPE that kills us silently. */
		n = send(c->fd, c->out.data + off, c->out.size - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*cause = conn_fmt("cannot send to the daemon: %s", strerror(errno));
			return CONN_ETRANSPORT;
		}
		if ((st = conn_wait(c, POLLOUT, deadline, cause)) != CONN_OK)
			return st;
	}
	return CONN_OK;
}

/* The next message of any kind, reading as needed. *invalid tells a frame
 * that was msgpack but not a valid message (only msg's kind and msgid are
 * known then). A stream that is not msgpack, or a frame over the limit,
 * is a bad reply: the daemon never sends one. */
static int conn_read_msg(struct conn *c, int64_t deadline, struct proto_msg *msg, bool *invalid,
    char **cause)
{
	char buf[CONN_READ_CHUNK];
	ssize_t n;
	int st;

	for (;;) {
		st = proto_reader_next(c->reader, msg);
		if (st == PROTO_OK || st == PROTO_INVALID) {
			*invalid = st == PROTO_INVALID;
			return CONN_OK;
		}
		if (st == PROTO_ERR) {
			*cause = conn_fmt("bad reply stream: %s", proto_reader_error(c->reader));
			return CONN_EREPLY;
		}
		n = recv(c->fd, buf, sizeof buf, 0);
		if (n > 0) {
			if (proto_reader_feed(c->reader, buf, (size_t)n) == PROTO_ERR) {
				*cause =
				    conn_fmt("bad reply stream: %s", proto_reader_error(c->reader));
				return CONN_EREPLY;
			}
			continue;
		}
		if (n == 0) {
			*cause = conn_fmt("the daemon closed the connection");
			return CONN_ETRANSPORT;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			*cause = conn_fmt("cannot read from the daemon: %s", strerror(errno));
			return CONN_ETRANSPORT;
		}
		if ((st = conn_wait(c, POLLIN, deadline, cause)) != CONN_OK)
			return st;
	}
}

/* Checks the error and result of our response: the error must be nil or
 * [kind, "name: message"] (an older daemon's [code, message] too), the
 * result a map. */
static int conn_check_response(struct conn *c, const struct proto_msg *msg, char **cause)
{
	const char *s;
	size_t len;
	char *text;
	int code;

	if (msg->error->type != MSGPACK_OBJECT_NIL) {
		if ((code = proto_error_read(msg->error, &s, &len)) == PROTO_ERR ||
		    memchr(s, '\0', len) != NULL) {
			*cause = conn_fmt("malformed reply: error is not [kind, message]");
			return CONN_EREPLY;
		}
		if ((text = strndup(s, len)) == NULL) {
			*cause = conn_fmt("out of memory");
			return CONN_EREPLY;
		}
		c->error_code = code;
		*cause = len > 0 ? conn_fmt("%s (%s)", text, proto_errcode_name(code))
				 : conn_fmt("%s", proto_errcode_name(code));
		free(c->error_text);
		c->error_text = text;
		return CONN_EREPLY;
	}
	if (msg->result->type != MSGPACK_OBJECT_MAP) {
		*cause = conn_fmt("malformed reply: result is not a map");
		return CONN_EREPLY;
	}
	return CONN_OK;
}

int conn_error_code(const struct conn *c)
{
	return c->error_code;
}

const char *conn_error_text(const struct conn *c)
{
	return c->error_text;
}

int conn_call(struct conn *c, int64_t deadline, const msgpack_object **result, char **cause)
{
	struct proto_msg msg;
	bool invalid;
	int st;

	c->error_code = 0;
	free(c->error_text);
	c->error_text = NULL;
	if ((st = conn_send(c, deadline, cause)) != CONN_OK)
		return st;
	for (;;) {
		if ((st = conn_read_msg(c, deadline, &msg, &invalid, cause)) != CONN_OK)
			return st;
		/* Notifications and stray responses are not ours to handle. */
		if ((invalid && !msg.has_msgid) || msg.kind != PROTO_RESPONSE ||
		    msg.msgid != c->msgid)
			continue;
		if (invalid) {
			*cause = conn_fmt("malformed reply: %s", proto_reader_error(c->reader));
			return CONN_EREPLY;
		}
		if ((st = conn_check_response(c, &msg, cause)) != CONN_OK)
			return st;
		*result = msg.result;
		return CONN_OK;
	}
}

int conn_next_notify(struct conn *c, int64_t deadline, struct proto_msg *msg, char **cause)
{
	bool invalid;
	int st;

	for (;;) {
		if ((st = conn_read_msg(c, deadline, msg, &invalid, cause)) != CONN_OK)
			return st;
		if (!invalid && msg->kind == PROTO_NOTIFY)
			return CONN_OK;
	}
}
