/* Steps every ocstop command takes: connect, call, report failure. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "text.h"
#include "tojson.h"

/* Prints "ocstop: why" on stderr; causes may quote the daemon or OpenCode,
 * so they go through text_safe(). A NULL cause means memory ran out. */
static void client_warn(const char *why)
{
	char *safe = NULL;

	if (why != NULL)
		safe = text_safe(why, strlen(why));
	fprintf(stderr, "ocstop: %s\n", safe != NULL ? safe : "out of memory");
	free(safe);
}

struct conn *client_connect(const struct client_opts *o, int64_t deadline)
{
	struct conn *c;
	char *cause;

	if ((c = conn_open(o->socket, deadline, &cause)) == NULL) {
		client_warn(cause);
		free(cause);
	}
	return c;
}

int client_fail(int status, char *cause)
{
	client_warn(cause);
	free(cause);
	return status == CONN_EREPLY ? EXIT_DAEMON : EXIT_FAIL;
}

int client_oom(void)
{
	client_warn(NULL);
	return EXIT_FAIL;
}

/* head, then the message through text_safe() and a newline, on f: a
 * message may name a path, and a path is anyone's to name. */
static void client_vsay(FILE *f, const char *head, const char *fmt, va_list ap)
{
	char *msg = NULL, *safe = NULL;
	int n = vasprintf(&msg, fmt, ap);

	if (n >= 0) {
		safe = text_safe(msg, (size_t)n);
		free(msg);
	}
	if (safe == NULL) {
		client_warn(NULL);
		return;
	}
	fprintf(f, "%s%s\n", head, safe);
	free(safe);
}

int client_malformed(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	client_vsay(stderr, "ocstop: malformed reply: ", fmt, ap);
	va_end(ap);
	return EXIT_DAEMON;
}

int client_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	client_vsay(stderr, "ocstop: ", fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

void client_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	client_vsay(stderr, "ocstop: warning: ", fmt, ap);
	va_end(ap);
}

void client_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	client_vsay(stdout, "", fmt, ap);
	va_end(ap);
}

const msgpack_object *client_call_simple(struct conn *c, const char *method, int64_t deadline,
    int *exit)
{
	const msgpack_object *result;
	msgpack_packer *pk;
	char *cause;
	int st;

	pk = conn_request(c, method);
	msgpack_pack_array(pk, 0);
	if ((st = conn_call(c, deadline, &result, &cause)) != CONN_OK) {
		*exit = client_fail(st, cause);
		return NULL;
	}
	return result;
}

int client_print_json(const msgpack_object *o)
{
	json_t *j;
	char *cause;

	if ((j = tojson(o, &cause)) == NULL) {
		if (cause == NULL)
			return client_oom();
		client_malformed("%s", cause);
		free(cause);
		return EXIT_DAEMON;
	}
	/* One line per reply, so that monitor's output is JSON lines. */
	json_dumpf(j, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	json_decref(j);
	return EXIT_DONE;
}
