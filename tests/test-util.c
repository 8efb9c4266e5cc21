/*
 * Small helpers: directory containment, the port of an OpenCode URL, and
 * whether a process listens on a port (against a socket of this process).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "io/procnet.h"

static void test_path_within(void **state)
{
	static const struct {
		const char *path, *dir;
		bool within;
	} cases[] = {
		{ "/a/b", "/a/b", true },
		{ "/a/b/c", "/a/b", true },
		{ "/a/b/c/d", "/a/b", true },
		{ "/a/bc", "/a/b", false },
		{ "/a/b.c", "/a/b", false },
		{ "/a", "/a/b", false },
		{ "/a/c", "/a/b", false },
		{ "/b/a", "/a", false },
		/* Trailing slashes on either side. */
		{ "/a/b/", "/a/b", true },
		{ "/a/b", "/a/b/", true },
		{ "/a/b/c", "/a/b//", true },
		{ "/a/bc", "/a/b/", false },
		/* The root contains every absolute path. */
		{ "/", "/", true },
		{ "/x", "/", true },
		{ "/x/y/z", "/", true },
		{ "/x", "//", true },
		{ "x", "/", false },
		{ "", "/", false },
		/* An empty directory is no directory: it contains nothing. */
		{ "/a", "", false },
		{ "/", "", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# \"%s\" in \"%s\"\n", cases[i].path, cases[i].dir);
		assert_int_equal(path_within(cases[i].path, cases[i].dir), cases[i].within);
	}
}

static void test_url_port(void **state)
{
	static const struct {
		const char *url;
		int port;
	} cases[] = {
		{ "http://127.0.0.1:4096/", 4096 },
		{ "http://127.0.0.1:4096", 4096 },
		{ "http://127.0.0.1:4096/path?q=1", 4096 },
		{ "http://localhost/", 80 },
		{ "http://localhost", 80 },
		{ "http://[::1]:5000", 5000 },
		{ "http://[::1]:5000/", 5000 },
		{ "http://[::1]/", 80 },
		{ "http://[::1]", 80 },
		{ "http://host:65535/", 65535 },
		/* A colon after the authority is not a port. */
		{ "http://host/a:99", 80 },
		{ "http://host?x=:99", 80 },
		{ "http://host#a:99", 80 },
		{ "https://127.0.0.1:4096/", -1 },
		{ "HTTP://127.0.0.1:4096/", -1 },
		{ "ftp://host:21/", -1 },
		{ "127.0.0.1:4096", -1 },
		{ "garbage", -1 },
		{ "", -1 },
		{ "http://host:0/", -1 },
		{ "http://host:65536/", -1 },
		{ "http://host:-1/", -1 },
		{ "http://host:/", -1 },
		{ "http://host:abc/", -1 },
		{ "http://[::1:5000", -1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# %s\n", cases[i].url);
		assert_int_equal(procnet_url_port(cases[i].url), cases[i].port);
	}
}

/* A TCP socket on 127.0.0.1, kernel-chosen port; listening if asked. */
static int open_socket(bool listening, int *port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	assert_true(*port > 0);
	return fd;
}

static void test_pid_listens(void **state)
{
	int fd, bound_fd, port, bound_port;

	(void)state;
	fd = open_socket(true, &port);
	assert_true(procnet_pid_listens((int)getpid(), port));
	/* Another process does not hold it: pid 1 is never this test. */
	assert_false(procnet_pid_listens(1, port));
	assert_false(procnet_pid_listens(0, port));
	assert_false(procnet_pid_listens(-1, port));
	assert_false(procnet_pid_listens((int)getpid(), 0));

	/* Bound but not listening does not count. */
	bound_fd = open_socket(false, &bound_port);
	assert_false(procnet_pid_listens((int)getpid(), bound_port));
	close(bound_fd);

	/* Closed: no longer listening. */
	close(fd);
	assert_false(procnet_pid_listens((int)getpid(), port));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_within),
		cmocka_unit_test(test_url_port),
		cmocka_unit_test(test_pid_listens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
