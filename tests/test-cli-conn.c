/* The CLI's connection: exact request bytes, replies matched by msgid, and
 * every way a daemon can fail to answer properly. The daemon is the other
 * end of a socketpair; its canned replies are written before the call. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* The uid a squatter runs as in the tests that need root to make one. */
#define OTHER_UID 65534

#include "../client/conn.h"

struct fixture {
	struct conn *c;
	int peer;           /* the fake daemon's end */
	msgpack_sbuffer sb; /* its canned replies */
	msgpack_packer pk;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	int sv[2];

	assert_non_null(f);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(f->c = conn_new(sv[0]));
	f->peer = sv[1];
	msgpack_sbuffer_init(&f->sb);
	msgpack_packer_init(&f->pk, &f->sb, msgpack_sbuffer_write);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	conn_free(f->c);
	if (f->peer != -1)
		close(f->peer);
	msgpack_sbuffer_destroy(&f->sb);
	free(f);
	return 0;
}

/* The fake daemon sends what was packed so far. */
static void peer_flush(struct fixture *f)
{
	assert_int_equal(write(f->peer, f->sb.data, f->sb.size), (ssize_t)f->sb.size);
	msgpack_sbuffer_clear(&f->sb);
}

/* [1, msgid, nil, {version: "0.1.0"}] */
static void pack_ok(struct fixture *f, uint32_t msgid)
{
	proto_pack_result_header(&f->pk, msgid);
	msgpack_pack_map(&f->pk, 1);
	proto_pack_kv_str(&f->pk, "version", "0.1.0");
}

/* ping with no options. */
static int call_ping(struct fixture *f, int64_t ms, const msgpack_object **r, char **cause)
{
	msgpack_pack_array(conn_request(f->c, "ping"), 0);
	*cause = NULL;
	return conn_call(f->c, conn_deadline(ms), r, cause);
}

static void assert_version(const msgpack_object *r)
{
	assert_non_null(r);
	assert_int_equal(r->type, MSGPACK_OBJECT_MAP);
	assert_true(proto_str_eq(proto_map_get(r, "version"), "0.1.0"));
}

/* Send what the test packed; the call must fail with exactly this reply error. */
static void expect_reply_error(struct fixture *f, const char *expected)
{
	const msgpack_object *r;
	char *cause;

	peer_flush(f);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_EREPLY);
	assert_string_equal(cause, expected);
	free(cause);
}

static void test_call_sends_request_and_reads_result(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r = NULL;
	char buf[64], *cause;

	pack_ok(f, 1);
	peer_flush(f);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_OK);
	assert_version(r);
	/* [0, 1, "ping", []] */
	assert_int_equal(read(f->peer, buf, sizeof buf), 9);
	assert_memory_equal(buf, "\x94\x00\x01\xa4ping\x90", 9);
}

static void test_call_msgids_increase(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char buf[64], *cause;

	pack_ok(f, 1);
	pack_ok(f, 2);
	peer_flush(f);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_OK);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_OK);
	assert_int_equal(read(f->peer, buf, sizeof buf), 18);
	assert_memory_equal(buf + 9, "\x94\x00\x02\xa4ping\x90", 9);
}

static void test_call_skips_notifications_and_other_ids(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r = NULL;
	char *cause;

	proto_pack_notify_header(&f->pk, "event");
	msgpack_pack_array(&f->pk, 1);
	msgpack_pack_map(&f->pk, 0);
	proto_pack_error(&f->pk, 99, 3, "not ours");
	/* Invalid, but for another msgid: not our business either. */
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_uint32(&f->pk, 98);
	msgpack_pack_int(&f->pk, 5);
	msgpack_pack_nil(&f->pk);
	pack_ok(f, 1);
	peer_flush(f);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_OK);
	assert_version(r);
}

static void test_call_error_reply(void **state)
{
	struct fixture *f = *state;
	proto_pack_error(&f->pk, 1, PROTO_ENOTFOUND, "no such session");
	expect_reply_error(f, "no such session (not_found)");
	assert_int_equal(conn_error_code(f->c), PROTO_ENOTFOUND);
	assert_string_equal(conn_error_text(f->c), "no such session");
}

/* A daemon before protocol 6 sends [code, message]: read alike. */
static void test_call_error_reply_old_form(void **state)
{
	struct fixture *f = *state;

	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_array(&f->pk, 2);
	msgpack_pack_int(&f->pk, PROTO_EUNREACHABLE);
	proto_pack_cstr(&f->pk, "cannot reach http://x");
	msgpack_pack_nil(&f->pk);
	expect_reply_error(f, "cannot reach http://x (opencode_unreachable)");
	assert_int_equal(conn_error_code(f->c), PROTO_EUNREACHABLE);
	assert_string_equal(conn_error_text(f->c), "cannot reach http://x");
}

static void test_call_error_name_only(void **state)
{
	struct fixture *f = *state;

	proto_pack_error(&f->pk, 1, PROTO_EINTERNAL, NULL);
	expect_reply_error(f, "internal");
	assert_int_equal(conn_error_code(f->c), PROTO_EINTERNAL);
}

static void test_call_error_without_message(void **state)
{
	struct fixture *f = *state;
	/* [1, 1, [3, 5], nil] */
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_array(&f->pk, 2);
	msgpack_pack_int(&f->pk, 3);
	msgpack_pack_int(&f->pk, 5);
	msgpack_pack_nil(&f->pk);
	expect_reply_error(f, "malformed reply: error is not [kind, message]");
}

static void test_call_result_not_map(void **state)
{
	struct fixture *f = *state;
	proto_pack_result_header(&f->pk, 1);
	proto_pack_cstr(&f->pk, "pong");
	expect_reply_error(f, "malformed reply: result is not a map");
}

static void test_call_invalid_response(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char *cause;

	/* [1, 1, 5, nil]: the reader knows the msgid but not the rest. */
	msgpack_pack_array(&f->pk, 4);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_uint32(&f->pk, 1);
	msgpack_pack_int(&f->pk, 5);
	msgpack_pack_nil(&f->pk);
	peer_flush(f);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_EREPLY);
	assert_non_null(strstr(cause, "malformed reply: "));
	free(cause);
}

static void test_call_not_msgpack(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char *cause;

	/* 0xc1 is never used in msgpack. */
	assert_int_equal(write(f->peer, "\xc1\xc1\xc1", 3), 3);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_EREPLY);
	assert_non_null(strstr(cause, "bad reply stream: "));
	free(cause);
}

static void test_call_times_out(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	struct timespec t0, t1;
	int64_t ms;
	char *cause;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call_ping(f, 50, &r, &cause), CONN_ETRANSPORT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_string_equal(cause, "timed out waiting for the daemon");
	free(cause);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 49 && ms < 1000);
}

static void test_call_partial_reply_times_out(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char *cause;

	pack_ok(f, 1);
	assert_int_equal(write(f->peer, f->sb.data, f->sb.size - 1), (ssize_t)f->sb.size - 1);
	assert_int_equal(call_ping(f, 50, &r, &cause), CONN_ETRANSPORT);
	assert_string_equal(cause, "timed out waiting for the daemon");
	free(cause);
}

static void test_call_daemon_closes(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char *cause;

	assert_int_equal(shutdown(f->peer, SHUT_WR), 0);
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_ETRANSPORT);
	assert_string_equal(cause, "the daemon closed the connection");
	free(cause);
}

static void test_call_daemon_gone(void **state)
{
	struct fixture *f = *state;
	const msgpack_object *r;
	char *cause;

	close(f->peer);
	f->peer = -1;
	/* No SIGPIPE: the test would die of it. */
	assert_int_equal(call_ping(f, 1000, &r, &cause), CONN_ETRANSPORT);
	assert_non_null(strstr(cause, "cannot send to the daemon: "));
	free(cause);
}

static void test_next_notify_skips_responses(void **state)
{
	struct fixture *f = *state;
	struct proto_msg msg;
	char *cause;

	pack_ok(f, 7);
	proto_pack_notify_header(&f->pk, "event");
	msgpack_pack_array(&f->pk, 1);
	msgpack_pack_map(&f->pk, 1);
	proto_pack_kv_str(&f->pk, "type", "stop");
	peer_flush(f);
	assert_int_equal(conn_next_notify(f->c, conn_deadline(1000), &msg, &cause), CONN_OK);
	assert_int_equal(msg.method_len, 5);
	assert_memory_equal(msg.method, "event", 5);
	assert_true(proto_str_eq(proto_map_get(&msg.params->via.array.ptr[0], "type"), "stop"));
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void test_next_notify_interrupted(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct proto_msg msg;
	sigset_t block, old, wait_mask;
	char *cause;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	/* Pending before the wait starts: the race monitor must not lose. */
	raise(SIGUSR1);
	wait_mask = old;
	sigdelset(&wait_mask, SIGUSR1);
	conn_set_wait_mask(f->c, &wait_mask);
	assert_int_equal(conn_next_notify(f->c, CONN_NO_DEADLINE, &msg, &cause), CONN_EINTR);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGUSR1, SIG_DFL);
}

/* A socket path in a fresh directory; the caller removes both. */
static void temp_sock(char *dir, size_t dlen, char *path, size_t plen)
{
	snprintf(dir, dlen, "/tmp/test-cli-conn.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, plen, "%s/s.sock", dir);
}

static void test_open_missing(void **state)
{
	char dir[64], path[128], want[256], *cause = NULL;

	(void)state;
	temp_sock(dir, sizeof dir, path, sizeof path);
	assert_null(conn_open(path, conn_deadline(1000), &cause));
	snprintf(want, sizeof want,
	    "cannot connect to %s: No such file or directory (is ocstopd running?)", path);
	assert_string_equal(cause, want);
	free(cause);
	rmdir(dir);
}

static void test_open_refused(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[64], *cause = NULL;
	int fd;

	(void)state;
	temp_sock(dir, sizeof dir, sun.sun_path, sizeof sun.sun_path);
	/* Bound but not listening: what a crashed daemon leaves behind. */
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_null(conn_open(sun.sun_path, conn_deadline(1000), &cause));
	assert_non_null(strstr(cause, "Connection refused (is ocstopd running?)"));
	free(cause);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

static void test_open_and_call(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const msgpack_object *r = NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct conn *c;
	char dir[64], *cause = NULL;
	int fd, peer;

	(void)state;
	temp_sock(dir, sizeof dir, sun.sun_path, sizeof sun.sun_path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_non_null(c = conn_open(sun.sun_path, conn_deadline(1000), &cause));
	assert_true((peer = accept(fd, NULL, NULL)) >= 0);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	proto_pack_result_header(&pk, 1);
	msgpack_pack_map(&pk, 1);
	proto_pack_kv_str(&pk, "version", "0.1.0");
	assert_int_equal(write(peer, sb.data, sb.size), (ssize_t)sb.size);
	msgpack_pack_array(conn_request(c, "ping"), 0);
	assert_int_equal(conn_call(c, conn_deadline(1000), &r, &cause), CONN_OK);
	assert_version(r);
	msgpack_sbuffer_destroy(&sb);
	conn_free(c);
	close(peer);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

/* A listening socket at path; returns its fd. */
static int listen_at(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* Refused before connecting: the listener never sees us. */
static void assert_refused_unseen(const char *path, int fd, const char *want)
{
	char *cause = NULL;

	assert_null(conn_open(path, conn_deadline(1000), &cause));
	assert_non_null(cause);
	if (strstr(cause, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", cause, want);
	free(cause);
	assert_int_equal(accept(fd, NULL, NULL), -1);
}

static void test_open_dir_open_to_others(void **state)
{
	char dir[64], path[128], want[512];
	int fd;

	(void)state;
	temp_sock(dir, sizeof dir, path, sizeof path);
	fd = listen_at(path);
	chmod(dir, 0755);
	snprintf(want, sizeof want,
	    "refusing to use %s: its directory %s is open to other users (owner uid %u, mode "
	    "0755); it must be yours with mode 0700",
	    path, dir, (unsigned)geteuid());
	assert_refused_unseen(path, fd, want);
	chmod(dir, 01777);
	assert_refused_unseen(path, fd, "is open to other users");
	chmod(dir, 0700);
	close(fd);
	unlink(path);
	rmdir(dir);
}

static void test_open_dir_of_another_user(void **state)
{
	char dir[64], path[128], want[64];
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	temp_sock(dir, sizeof dir, path, sizeof path);
	fd = listen_at(path);
	assert_int_equal(chown(dir, OTHER_UID, OTHER_UID), 0);
	snprintf(want, sizeof want, "is owned by another user (owner uid %u, mode 0700)",
	    OTHER_UID);
	assert_refused_unseen(path, fd, want);
	close(fd);
	unlink(path);
	rmdir(dir);
}

/* The directory is ours and private, but the process that listens there is
 * not us: the kernel's credentials of the listener (taken at listen()) make
 * the CLI refuse. The child binds as root, then becomes another uid and
 * listens; it dies with us (a failed assertion leaves by longjmp). */
static void test_open_listener_of_another_uid(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[64], want[128], *cause = NULL, ok;
	int fd, ready[2];
	pid_t child;

	(void)state;
	if (geteuid() != 0)
		skip();
	temp_sock(dir, sizeof dir, sun.sun_path, sizeof sun.sun_path);
	assert_int_equal(pipe(ready), 0);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	if ((child = fork()) == 0) {
		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || listen(fd, 1) < 0)
			_exit(1);
		/* The parent's read fails the test if this write does not come. */
		if (write(ready[1], "1", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	assert_true(child > 0);
	close(ready[1]);
	assert_int_equal(read(ready[0], &ok, 1), 1);
	snprintf(want, sizeof want, "runs as uid %u, not as you (uid 0)", OTHER_UID);
	assert_null(conn_open(sun.sun_path, conn_deadline(1000), &cause));
	assert_non_null(cause);
	if (strstr(cause, want) == NULL || strstr(cause, "refusing to use") == NULL)
		fail_msg("got \"%s\"", cause);
	free(cause);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(ready[0]);
	close(fd);
	unlink(sun.sun_path);
	rmdir(dir);
}

static void test_open_path_too_long(void **state)
{
	char path[200], *cause = NULL;

	(void)state;
	memset(path, 'a', sizeof path - 1);
	path[sizeof path - 1] = '\0';
	assert_null(conn_open(path, conn_deadline(1000), &cause));
	assert_non_null(strstr(cause, ": socket path too long"));
	free(cause);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_call_sends_request_and_reads_result, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_call_msgids_increase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_skips_notifications_and_other_ids, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_call_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_error_reply_old_form, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_error_name_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_error_without_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_result_not_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_invalid_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_not_msgpack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_partial_reply_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_daemon_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_daemon_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_notify_skips_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_notify_interrupted, setup, teardown),
		cmocka_unit_test(test_open_missing),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_open_and_call),
		cmocka_unit_test(test_open_dir_open_to_others),
		cmocka_unit_test(test_open_dir_of_another_user),
		cmocka_unit_test(test_open_listener_of_another_uid),
		cmocka_unit_test(test_open_path_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
