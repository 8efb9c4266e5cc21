/* The one rule for where ocstopd listens; the CLI and the shim use it too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

_Static_assert(PROTO_MAX_SOCKET_PATH + 1 == sizeof(((struct sockaddr_un *)0)->sun_path),
    "PROTO_MAX_SOCKET_PATH must match sockaddr_un");

/* A variable that is set and not empty; shells make an empty one easy to
 * create by mistake, so it counts as unset. */
static const char *env_given(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

enum proto_socket_rule proto_socket_rule(void)
{
	const char *xdg;

	if (env_given(PROTO_ENV_SOCKET) != NULL)
		return PROTO_SOCKET_FROM_ENV;
	/* The XDG spec: a relative path there is invalid and ignored. */
	if ((xdg = env_given("XDG_RUNTIME_DIR")) != NULL && xdg[0] == '/')
		return PROTO_SOCKET_FROM_XDG;
	return PROTO_SOCKET_FROM_TMP;
}

const char *proto_socket_rule_name(enum proto_socket_rule r)
{
	switch (r) {
	case PROTO_SOCKET_FROM_ENV:
		return "$" PROTO_ENV_SOCKET;
	case PROTO_SOCKET_FROM_XDG:
		return "$XDG_RUNTIME_DIR";
	case PROTO_SOCKET_FROM_TMP:
		break;
	}
	return "the /tmp fallback: no $" PROTO_ENV_SOCKET ", no absolute $XDG_RUNTIME_DIR";
}

int proto_socket_path(char *buf, size_t size, const char **why)
{
	const char *env;
	int n;

	switch (proto_socket_rule()) {
	case PROTO_SOCKET_FROM_ENV:
		/* The daemon and its clients run in different directories. */
		if ((env = env_given(PROTO_ENV_SOCKET))[0] != '/') {
			*why = PROTO_ENV_SOCKET " must be an absolute path";
			return -1;
		}
		n = snprintf(buf, size, "%s", env);
		break;
	case PROTO_SOCKET_FROM_XDG:
		n = snprintf(buf, size, "%s/" PROTO_SOCKET_SUBPATH, env_given("XDG_RUNTIME_DIR"));
		break;
	default:
		n = snprintf(buf, size, "/tmp/ocstop-%u/" PROTO_SOCKET_NAME, (unsigned)getuid());
		break;
	}
	if (n < 0 || (size_t)n >= size || (size_t)n > PROTO_MAX_SOCKET_PATH) {
		*why = "the socket path is too long for a Unix socket; use -s or " PROTO_ENV_SOCKET;
		return -1;
	}
	return 0;
}

int proto_socket_dir(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL)
		path = slash = ".";
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		return -1;
	memcpy(buf, path, len);
	buf[len] = '\0';
	return 0;
}

const char *proto_socket_dir_refusal(mode_t mode, uid_t owner, uid_t me)
{
	if (!S_ISDIR(mode))
		return "is not a directory";
	if (owner != me)
		return "is owned by another user";
	if ((mode & (S_IRWXG | S_IRWXO)) != 0)
		return "is open to other users";
	return NULL;
}

/* The bytes of a session id: OpenCode's are "ses_" and base62. */
static const bool id_char[256] = {
	['-'] = true,
	['_'] = true,
	['0' ... '9'] = true,
	['A' ... 'Z'] = true,
	['a' ... 'z'] = true,
};

bool proto_session_id_valid(const char *id, size_t len)
{
	size_t i;

	if (len == 0 || len > PROTO_MAX_SESSION_ID)
		return false;
	for (i = 0; i < len; i++)
		if (!id_char[(unsigned char)id[i]])
			return false;
	return true;
}
