/*
 * echo: the floor for bench/loadgen. A raw single-threaded Unix-socket echo
 * server: epoll, non-blocking, level-triggered; every byte read is written
 * back as it comes. Per request it makes the fewest system calls a server
 * can: epoll_wait, read, write.
 *
 *   echo SOCKET_PATH
 *
 * Started by socket activation (LISTEN_FDS and LISTEN_PID, as systemd passes a
 * socket; bench/startup), it serves the listening socket at fd 3 instead.
 * Exits on SIGTERM or SIGINT and removes the socket it made.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK 65536
#define MAX_EVENTS 256
/* Bytes a peer may owe us (written back but not yet read) before we stop
 * reading from it until it catches up. */
#define MAX_BACKLOG (4u << 20)

struct conn {
	int fd;
	char *out; /* bytes not yet written back */
	size_t len, cap;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
}

static int conn_watch(int ep, struct conn *c, int op)
{
	struct epoll_event ev = { .events = c->len > 0 ? EPOLLOUT : EPOLLIN, .data.ptr = c };

	return epoll_ctl(ep, op, c->fd, &ev);
}

/* Keep what write() did not take; read no more until it is gone. */
static int conn_keep(int ep, struct conn *c, const char *buf, size_t n)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : READ_CHUNK;
		char *p;

		while (cap < c->len + n)
			cap *= 2;
		if (cap > MAX_BACKLOG || (p = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = p;
		c->cap = cap;
	}
	memcpy(c->out + c->len, buf, n);
	c->len += n;
	return conn_watch(ep, c, EPOLL_CTL_MOD);
}

static int conn_flush(int ep, struct conn *c)
{
	ssize_t n = write(c->fd, c->out, c->len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	memmove(c->out, c->out + n, c->len - (size_t)n);
	c->len -= (size_t)n;
	return c->len == 0 ? conn_watch(ep, c, EPOLL_CTL_MOD) : 0;
}

static int conn_echo(int ep, struct conn *c, char *buf)
{
	ssize_t n = read(c->fd, buf, READ_CHUNK), w;

	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	w = write(c->fd, buf, (size_t)n);
	if (w < 0 && errno != EAGAIN && errno != EINTR)
		return -1;
	if (w < 0)
		w = 0;
	return w < n ? conn_keep(ep, c, buf + w, (size_t)(n - w)) : 0;
}

static void accept_all(int ep, int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct conn *c = calloc(1, sizeof(*c));

		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (conn_watch(ep, c, EPOLL_CTL_ADD) < 0) {
			close(fd);
			free(c);
		}
	}
	if (errno != EAGAIN && errno != EINTR)
		perror("echo: accept4");
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "echo: %s: path too long\n", path);
		return -1;
	}
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		perror(path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The socket-activation protocol's two variables, for this process. */
static int activated(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	return pid != NULL && fds != NULL && atol(pid) == (long)getpid() && atoi(fds) >= 1;
}

int main(int argc, char **argv)
{
	static char buf[READ_CHUNK];
	struct epoll_event evs[MAX_EVENTS], lev = { .events = EPOLLIN, .data.ptr = NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	int lfd, ep, n, i, act = activated();

	if (argc != 2) {
		fprintf(stderr, "usage: echo SOCKET_PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (act) {
		lfd = 3;
		if (fcntl(lfd, F_SETFL, O_NONBLOCK) < 0) {
			perror("echo: fcntl");
			return 1;
		}
	} else if ((lfd = listen_on(argv[1])) < 0) {
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("echo: epoll");
		return 1;
	}
	while (!stopping) {
		n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			perror("echo: epoll_wait");
			break;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			int rc;

			if (c == NULL) {
				accept_all(ep, lfd);
				continue;
			}
			if (c->len > 0)
				rc = (evs[i].events & (EPOLLERR | EPOLLHUP)) ? -1
									     : conn_flush(ep, c);
			else
				rc = conn_echo(ep, c, buf);
			if (rc < 0)
				conn_close(ep, c);
		}
	}
	if (!act)
		unlink(argv[1]);
	return 0;
}
