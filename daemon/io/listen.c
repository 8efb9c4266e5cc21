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

/* The socket's directory must be ours and closed to others: create it 0700,
 * or refuse one that someone else owns or others can enter. */
static int prepare_dir(const char *path, char **cause)
{
	char *dir = strdup(path), *slash;
	struct stat st;
	int rc = 0;

	if (dir == NULL)
		return set_cause(cause, "%s%s", "out of memory", "");
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		free(dir);
		return 0;
	}
	*slash = '\0';
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		rc = set_cause(cause, "cannot create %s: %s", dir, strerror(errno));
	else if (lstat(dir, &st) < 0)
		rc = set_cause(cause, "%s: %s", dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		rc = set_cause(cause, "%s: %s", dir, "not a directory");
	else if (st.st_uid != getuid())
		rc = set_cause(cause, "%s: %s", dir, "owned by another user; refusing to use it");
	else if ((st.st_mode & 0077) != 0 && chmod(dir, 0700) < 0)
		rc = set_cause(cause, "%s: cannot make it private: %s", dir, strerror(errno));
	free(dir);
	return rc;
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
		/* systemd hands over a blocking socket; libevent needs it not to be. */
		evutil_make_socket_nonblocking(fd);
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
