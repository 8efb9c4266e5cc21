/* monitor: subscribe and print each event as it comes, one per line, until
 * a signal (exit 0) or the daemon goes away (exit 1). */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "text.h"

/* Set by SIGINT or SIGTERM. */
static volatile sig_atomic_t monitor_stop;

static int cmd_monitor_exec(const struct client_opts *o, int argc, char **argv);
static void monitor_signal_cb(int sig);
static int monitor_subscribe(struct conn *c);
static void monitor_put(const char *s, size_t len);
static void monitor_put_value(const msgpack_object *v);
static const msgpack_object *monitor_str(const msgpack_object *m, const char *key);
static void monitor_put_fields(const msgpack_object *m, const msgpack_object *const *skip,
    size_t n_skip);
static int monitor_print(const struct client_opts *o, const msgpack_object *ev);

const struct cmd_entry cmd_monitor_entry = {
	.name = "monitor",
	.min_args = 0,
	.max_args = 0,
	.exec = cmd_monitor_exec,
};

static void monitor_signal_cb(int sig)
{
	(void)sig;
	monitor_stop = 1;
}

/* subscribe {}: every event type. A signal here ends quietly too. */
static int monitor_subscribe(struct conn *c)
{
	const msgpack_object *r;
	char *cause;
	int st;

	msgpack_pack_array(conn_request(c, PROTO_M_SUBSCRIBE), 0);
	st = conn_call(c, conn_deadline(CLIENT_TIMEOUT_MS), &r, &cause);
	if (st == CONN_EINTR)
		return EXIT_DONE;
	if (st != CONN_OK)
		return client_fail(st, cause);
	return EXIT_DONE;
}

/* Daemon text goes to the terminal only through text_safe(). */
static void monitor_put(const char *s, size_t len)
{
	char *safe = text_safe(s, len);

	fputs(safe != NULL ? safe : "?", stdout);
	free(safe);
}

/* Scalars as they are; arrays of them joined by commas. */
static void monitor_put_value(const msgpack_object *v)
{
	uint32_t i;

	switch (v->type) {
	case MSGPACK_OBJECT_BOOLEAN:
		fputs(v->via.boolean ? "true" : "false", stdout);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		printf("%" PRIu64, v->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		printf("%" PRId64, v->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		printf("%g", v->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		monitor_put(v->via.str.ptr, v->via.str.size);
		break;
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < v->via.array.size; i++) {
			if (i > 0)
				putchar(',');
			monitor_put_value(&v->via.array.ptr[i]);
		}
		break;
	default:
		fputs("...", stdout);
		break;
	}
}

/* The string at key in map m, or NULL. */
static const msgpack_object *monitor_str(const msgpack_object *m, const char *key)
{
	const msgpack_object *v = proto_map_get(m, key);

	return v != NULL && v->type == MSGPACK_OBJECT_STR ? v : NULL;
}

/* key=value for each field of m but type, the object and what was shown. */
static void monitor_put_fields(const msgpack_object *m, const msgpack_object *const *skip,
    size_t n_skip)
{
	const msgpack_object *k, *v;
	uint32_t i;
	size_t j;

	for (i = 0; i < m->via.map.size; i++) {
		k = &m->via.map.ptr[i].key;
		v = &m->via.map.ptr[i].val;
		for (j = 0; j < n_skip && skip[j] != v; j++)
			;
		if (j < n_skip || v->type == MSGPACK_OBJECT_NIL || v->type == MSGPACK_OBJECT_MAP ||
		    k->type != MSGPACK_OBJECT_STR)
			continue;
		putchar(' ');
		monitor_put(k->via.str.ptr, k->via.str.size);
		putchar('=');
		monitor_put_value(v);
	}
}

/* HH:MM:SS.mmm type subject [status] [key=value ...]
 * An event carries one object (a session, a server or a stop); the subject
 * is its id, url or root session. The rest follows in the daemon's order,
 * so new fields show without a client change. */
static int monitor_print(const struct client_opts *o, const msgpack_object *ev)
{
	const msgpack_object *type, *obj = NULL, *subject = NULL, *status = NULL, *shown[3];
	const char *proof = NULL;
	bool stopped;
	struct timespec ts;
	struct tm tm;
	char when[16];
	uint32_t i;

	if (ev->type != MSGPACK_OBJECT_MAP || (type = proto_map_get(ev, "type")) == NULL ||
	    type->type != MSGPACK_OBJECT_STR)
		return client_malformed("an event is not a map with a type");
	for (i = 0; i < ev->via.map.size; i++) {
		if (ev->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
			return client_malformed("an event key is not a string");
		if (obj == NULL && ev->via.map.ptr[i].val.type == MSGPACK_OBJECT_MAP)
			obj = &ev->via.map.ptr[i].val;
	}
	if (o->quiet)
		return EXIT_DONE;
	if (o->json)
		return client_print_json(ev);

	if (obj != NULL) {
		if ((subject = monitor_str(obj, "id")) == NULL &&
		    (subject = monitor_str(obj, "url")) == NULL)
			subject = monitor_str(obj, "session");
		status = monitor_str(obj, "status");
		/* A stop says first what its proof says. */
		if (proto_map_bool(obj, "stopped", &stopped) == PROTO_OK)
			proof = stopped ? "verified" : "NOT-STOPPED";
	}

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof when, "%H:%M:%S", &tm);
	printf("%s.%03ld ", when, ts.tv_nsec / 1000000);
	monitor_put(type->via.str.ptr, type->via.str.size);
	putchar(' ');
	if (subject != NULL)
		monitor_put(subject->via.str.ptr, subject->via.str.size);
	else
		putchar('-');
	if (status != NULL) {
		putchar(' ');
		monitor_put(status->via.str.ptr, status->via.str.size);
	} else if (proof != NULL) {
		printf(" %s", proof);
	}
	shown[0] = type;
	shown[1] = subject;
	shown[2] = status;
	monitor_put_fields(ev, shown, 3);
	if (obj != NULL)
		monitor_put_fields(obj, shown, 3);
	putchar('\n');
	return EXIT_DONE;
}

static int cmd_monitor_exec(const struct client_opts *o, int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = monitor_signal_cb };
	const msgpack_object *params;
	struct proto_msg msg;
	sigset_t block, wait_mask;
	struct conn *c;
	char *cause;
	int rc, st;

	(void)argc;
	(void)argv;
	/* Signals stay blocked except inside the wait (ppoll), so one that
	 * comes while we print is seen by the next wait, not lost. No
	 * SA_RESTART: the wait must return to let us exit. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if ((c = client_connect(o, conn_deadline(CLIENT_TIMEOUT_MS))) == NULL)
		return EXIT_FAIL;
	conn_set_wait_mask(c, &wait_mask);
	rc = monitor_subscribe(c);
	while (rc == EXIT_DONE && !monitor_stop) {
		st = conn_next_notify(c, CONN_NO_DEADLINE, &msg, &cause);
		if (st == CONN_EINTR)
			break;
		if (st != CONN_OK) {
			rc = client_fail(st, cause);
			break;
		}
		if (msg.method_len != strlen(PROTO_N_EVENT) ||
		    memcmp(msg.method, PROTO_N_EVENT, msg.method_len) != 0)
			continue;
		params = msg.params;
		if (params->via.array.size != 1) {
			rc = client_malformed("an event notification has %" PRIu32 " params, not 1",
			    params->via.array.size);
			break;
		}
		rc = monitor_print(o, &params->via.array.ptr[0]);
		/* Whoever reads the pipe sees each event when it happens. */
		if (fflush(stdout) == EOF)
			break;
	}
	conn_free(c);
	return rc;
}
