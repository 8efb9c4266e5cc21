/* ping: is the daemon there, and which version is it? */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "client.h"
#include "text.h"

static int cmd_ping_exec(const struct client_opts *o, int argc, char **argv);

const struct cmd_entry cmd_ping_entry = {
	.name = "ping",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_ping_exec,
};

static int cmd_ping_exec(const struct client_opts *o, int argc, char **argv)
{
	const msgpack_object *r;
	struct conn *c;
	const char *version;
	size_t len;
	int64_t protocol, deadline = conn_deadline(CLIENT_TIMEOUT_MS);
	char *safe;
	int rc = EXIT_DONE;

	(void)argc;
	(void)argv;
	if ((c = client_connect(o, deadline)) == NULL)
		return EXIT_FAIL;
	if ((r = client_call_simple(c, PROTO_M_PING, deadline, &rc)) == NULL)
		goto out;
	if (proto_map_str(r, "version", &version, &len) != PROTO_OK ||
	    proto_map_int(r, "protocol", &protocol) != PROTO_OK) {
		rc = client_malformed("ping result lacks version or protocol");
		goto out;
	}
	/* Worth saying even with -q: other commands may misbehave. */
	if (protocol != PROTO_VERSION)
		fprintf(stderr, "ocstop: the daemon speaks protocol %" PRId64 ", this client %d\n",
		    protocol, PROTO_VERSION);
	if (o->quiet)
		goto out;
	if (o->json) {
		rc = client_print_json(r);
		goto out;
	}
	if ((safe = text_safe(version, len)) == NULL) {
		rc = client_oom();
		goto out;
	}
	printf("ocstopd %s (protocol %" PRId64 ")\n", safe, protocol);
	free(safe);
out:
	conn_free(c);
	return rc;
}
