/* Prints the socket path by proto's rule, or "error: why" and exits 1; the
 * shim's mirror of the rule is compared with this. With a path argument,
 * prints the directory part of that path and proto's verdict on it for the
 * effective user ("ok", or why not), or "error: why" when it cannot be
 * read. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto.h"

int main(int argc, char **argv)
{
	char buf[PROTO_MAX_SOCKET_PATH + 1];
	const char *why = NULL;
	struct stat st;

	if (argc > 1) {
		if (proto_socket_dir(argv[1], buf, sizeof buf) < 0) {
			printf("error: too long\n");
			return 1;
		}
		if (lstat(buf, &st) < 0) {
			printf("error: %s\n", strerror(errno));
			return 1;
		}
		why = proto_socket_dir_refusal(st.st_mode, st.st_uid, geteuid());
		printf("%s %s\n", buf, why != NULL ? why : "ok");
		return 0;
	}
	if (proto_socket_path(buf, sizeof buf, &why) < 0) {
		printf("error: %s\n", why);
		return 1;
	}
	printf("%s\n", buf);
	return 0;
}
