#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "core/log.h"
#include "io/listen.h"
#include "io/sd.h"
#include "proto.h"

struct listener {
	listen_accept_cb cb;
	void *arg;
	struct evconnlistener *ev;
	char *path;
	bool owns_path; /* we made the socket file, so we unlink it */
};

static int set_cause(char **cause, const char *fmt, const char *a, const char *b)
{
	if (asprintf(cause, fmt, a, b) < 0)
		*cause = NULL;
	return -1;
}

/* The socket's directory must pass proto's rule: one the daemon makes is
 * made PROTO_SOCKET_DIR_MODE; an existing one is used only if it passes
 * already. Its mode is never changed: a shared directory (/tmp, a home)
 * made private would lock its other users out, and one that others could
 * enter until now may already hold their socket. */
static int prepare_dir(const char *path, char **cause)
{
	char dir[PROTO_MAX_SOCKET_PATH + 1];
	const char *why;
	struct stat st;

	if (proto_socket_dir(path, dir, sizeof dir) < 0)
		return set_cause(cause, "socket path too long: %s%s", path, "");
	if (mkdir(dir, PROTO_SOCKET_DIR_MODE) < 0 && errno != EEXIST)
		return set_cause(cause, "cannot create %s: %s", dir, strerror(errno));
	if (lstat(dir, &st) < 0)
		return set_cause(cause, "%s: %s", dir, strerror(errno));
	if ((why = proto_socket_dir_refusal(st.st_mode, st.st_uid, geteuid())) == NULL)
		return 0;
	if (asprintf(cause,
		"refusing to listen in %s: it %s (owner uid %u, mode %04o); the socket's "
		"directory must be yours with mode %04o and is left as it is: remove it, or choose "
		"a private one with -s or " PROTO_ENV_SOCKET,
		dir, why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		PROTO_SOCKET_DIR_MODE) < 0)
		*cause = NULL;
	return -1;
}

/* 1 when a daemon answers on path, 0 when nothing does (stale or absent). */
static int socket_alive(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

static int bind_socket(const char *path, char **cause)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old_mask;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return set_cause(cause, "socket path too long: %s%s", path, "");
	if (prepare_dir(path, cause) < 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return set_cause(cause, "%s exists and is not a socket%s", path, "");
		/* Not ours to probe or remove, even in a directory that is. */
		if (st.st_uid != geteuid())
			return set_cause(cause, "%s exists and belongs to another user%s", path,
			    "; refusing to use or remove it");
		if (socket_alive(path))
			return set_cause(cause,
			    "another ocstopd is already listening on %s%s (stop it first, or use -s)",
			    path, "");
		log_info("replacing stale socket %s", path);
		unlink(path);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return set_cause(cause, "socket: %s%s", strerror(errno), "");
	old_mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old_mask);
		set_cause(cause, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old_mask);
	if (chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		set_cause(cause, "listen %s: %s", path, strerror(errno));
		unlink(path);
		close(fd);
		return -1;
	}
	return fd;
}

/* The socket systemd passed must be what a unit's ListenStream= makes: a
 * listening Unix stream socket. It comes blocking, and libevent accepts
 * until EAGAIN: a blocking one would hang the loop in accept4 after the
 * first client. It comes without close-on-exec too. */
static int take_activated(int fd, char **cause)
{
	int domain = 0, type = 0, listening = 0;
	socklen_t len = sizeof(int);
	char what[32];

	snprintf(what, sizeof what, "%d", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len)) < 0 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)) < 0)
		return set_cause(cause,
		    "socket activation: fd %s (LISTEN_FDS) is no socket: %s; the .socket unit "
		    "must have ListenStream=",
		    what, strerror(errno));
	if (domain != AF_UNIX || type != SOCK_STREAM || !listening)
		return set_cause(cause,
		    "socket activation: fd %s (LISTEN_FDS) is %s; the .socket unit must have "
		    "ListenStream= with a path",
		    what,
		    domain != AF_UNIX         ? "not a Unix socket"
			: type != SOCK_STREAM ? "not a stream socket"
					      : "not listening");
	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
		return set_cause(cause, "socket activation: fd %s: %s", what, strerror(errno));
	return 0;
}

static void accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
    int socklen, void *arg)
{
	struct listener *l = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	(void)ev;
	(void)sa;
	(void)socklen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if (cred.uid != getuid()) {
		log_warnx("refused a connection from uid %u pid %d: only uid %u may connect",
		    (unsigned)cred.uid, (int)cred.pid, (unsigned)getuid());
		close(fd);
		return;
	}
	/* evconnlistener hands over non-blocking sockets already. */
	l->cb(fd, cred.uid, cred.pid, l->arg);
}

static void accept_error_cb(struct evconnlistener *ev, void *arg)
{
	(void)ev;
	(void)arg;
	/* EMFILE and friends: the listener retries on the next readiness. */
	log_warn("accept");
}

struct listener *listen_start(struct event_base *base, const char *path, listen_accept_cb cb,
    void *arg, char **cause)
{
	struct listener *l = calloc(1, sizeof(*l));
	int fd;

	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		*cause = strdup("out of memory");
		return NULL;
	}
	l->cb = cb;
	l->arg = arg;
	fd = sd_listen_fd();
	if (fd >= 0) {
		if (take_activated(fd, cause) < 0) {
			free(l->path);
			free(l);
			return NULL;
		}
		log_info("listening on the socket systemd passed (fd %d)", fd);
	} else {
		fd = bind_socket(path, cause);
		if (fd < 0) {
			free(l->path);
			free(l);
			return NULL;
		}
		l->owns_path = true;
		log_info("listening on %s", path);
	}
	l->ev = evconnlistener_new(base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (l->ev == NULL) {
		close(fd);
		listen_stop(l);
		*cause = strdup("cannot watch the listening socket");
		return NULL;
	}
	evconnlistener_set_error_cb(l->ev, accept_error_cb);
	return l;
}

bool listen_activated(const struct listener *l)
{
	return !l->owns_path;
}

void listen_stop(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->ev != NULL)
		evconnlistener_free(l->ev);
	if (l->owns_path)
		unlink(l->path);
	free(l->path);
	free(l);
}
