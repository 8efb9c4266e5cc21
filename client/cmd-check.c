/* check: would the daemon take TEXT for a stop word? For people trying
 * their stop words; nothing is stopped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "text.h"

static int cmd_check_exec(const struct client_opts *o, int argc, char **argv);

const struct cmd_entry cmd_check_entry = {
	.name = "check",
	.min_args = 1,
	.max_args = 1,
	.exec = cmd_check_exec,
};

/* `stop: "X" is a stop word (x)` or `pass: "hello" is not a stop word`. */
static int check_print(const char *text, const char *word, size_t word_len)
{
	char *shown = text_safe(text, strlen(text)), *w = NULL;

	if (shown == NULL || (word != NULL && (w = text_safe(word, word_len)) == NULL)) {
		free(shown);
		return client_oom();
	}
	if (w != NULL)
		printf("stop: \"%s\" is a stop word (%s)\n", shown, w);
	else
		printf("pass: \"%s\" is not a stop word\n", shown);
	free(shown);
	free(w);
	return EXIT_DONE;
}

static int cmd_check_exec(const struct client_opts *o, int argc, char **argv)
{
	const msgpack_object *r;
	const char *word = NULL;
	size_t word_len = 0;
	struct conn *c;
	int64_t deadline = conn_deadline(CLIENT_TIMEOUT_MS);
	int rc = EXIT_DONE, st;
	msgpack_packer *pk;
	bool stop;
	char *cause;

	(void)argc;
	if ((c = client_connect(o, deadline)) == NULL)
		return EXIT_FAIL;
	pk = conn_request(c, PROTO_M_CHECK);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 1);
	proto_pack_kv_str(pk, "text", argv[0]);
	if ((st = conn_call(c, deadline, &r, &cause)) != CONN_OK) {
		if (st == CONN_EREPLY && conn_error_code(c) == PROTO_EMETHOD)
			fputs("ocstop: this ocstopd is older than check (protocol 5): restart it "
			      "after upgrading\n",
			    stderr);
		rc = client_fail(st, cause);
		goto out;
	}
	if (proto_map_bool(r, "stop", &stop) != PROTO_OK ||
	    (stop && proto_map_str(r, "word", &word, &word_len) != PROTO_OK)) {
		rc = client_malformed("check result lacks stop or word");
		goto out;
	}
	if (o->json)
		rc = client_print_json(r);
	else if (!o->quiet)
		rc = check_print(argv[0], stop ? word : NULL, word_len);
	if (rc == EXIT_DONE && !stop)
		rc = EXIT_PASS;
out:
	conn_free(c);
	return rc;
}
