/* Prints the socket path by proto's rule, or "error: why" and exits 1; the
 * shim's mirror of the rule is compared with this. */
#include <stdio.h>

#include "proto.h"

int main(void)
{
	char buf[PROTO_MAX_SOCKET_PATH + 1];
	const char *why = NULL;

	if (proto_socket_path(buf, sizeof buf, &why) < 0) {
		printf("error: %s\n", why);
		return 1;
	}
	printf("%s\n", buf);
	return 0;
}
