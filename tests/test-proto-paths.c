/* The facts every side shares: the socket path rule and session ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto.h"

static void test_socket_path_order(void **state)
{
	char buf[PROTO_MAX_SOCKET_PATH + 1], want[64];
	const char *why = NULL;

	(void)state;
	setenv("OCSTOP_SOCKET", "/x/y.sock", 1);
	setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), 0);
	assert_string_equal(buf, "/x/y.sock");
	assert_int_equal(proto_socket_rule(), PROTO_SOCKET_FROM_ENV);
	assert_string_equal(proto_socket_rule_name(proto_socket_rule()), "$OCSTOP_SOCKET");
	/* Empty counts as unset, as shells make it easy to set one so. */
	setenv("OCSTOP_SOCKET", "", 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), 0);
	assert_string_equal(buf, "/run/user/7/ocstop/ocstop.sock");
	assert_int_equal(proto_socket_rule(), PROTO_SOCKET_FROM_XDG);
	unsetenv("OCSTOP_SOCKET");
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), 0);
	assert_int_equal(proto_socket_rule(), PROTO_SOCKET_FROM_TMP);
	snprintf(want, sizeof want, "/tmp/ocstop-%u/ocstop.sock", (unsigned)getuid());
	assert_string_equal(buf, want);
}

/* A relative XDG_RUNTIME_DIR would name a different socket from every
 * working directory, so it is ignored as the XDG spec says. */
static void test_socket_path_relative_xdg(void **state)
{
	char buf[PROTO_MAX_SOCKET_PATH + 1], want[64];
	const char *why = NULL;

	(void)state;
	unsetenv("OCSTOP_SOCKET");
	setenv("XDG_RUNTIME_DIR", "run/user/7", 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), 0);
	assert_int_equal(proto_socket_rule(), PROTO_SOCKET_FROM_TMP);
	snprintf(want, sizeof want, "/tmp/ocstop-%u/ocstop.sock", (unsigned)getuid());
	assert_string_equal(buf, want);
	unsetenv("XDG_RUNTIME_DIR");
}

/* A relative OCSTOP_SOCKET is an error the user must see, not a guess. */
static void test_socket_path_relative_override(void **state)
{
	char buf[PROTO_MAX_SOCKET_PATH + 1];
	const char *why = NULL;

	(void)state;
	setenv("OCSTOP_SOCKET", "ocstop.sock", 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), -1);
	assert_non_null(why);
	assert_non_null(strstr(why, "OCSTOP_SOCKET must be an absolute path"));
	unsetenv("OCSTOP_SOCKET");
}

static void test_socket_path_too_long(void **state)
{
	char buf[PROTO_MAX_SOCKET_PATH + 64], dir[PROTO_MAX_SOCKET_PATH + 2];
	const char *why = NULL;

	(void)state;
	unsetenv("OCSTOP_SOCKET");
	/* Fits the buffer but not a socket address. */
	memset(dir, 'd', sizeof dir - 1);
	dir[0] = '/';
	dir[sizeof dir - 1] = '\0';
	setenv("XDG_RUNTIME_DIR", dir, 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), -1);
	assert_non_null(strstr(why, "too long"));
	/* The longest path that fits is accepted. */
	dir[PROTO_MAX_SOCKET_PATH - strlen("/ocstop/ocstop.sock")] = '\0';
	setenv("XDG_RUNTIME_DIR", dir, 1);
	assert_int_equal(proto_socket_path(buf, sizeof buf, &why), 0);
	assert_int_equal(strlen(buf), PROTO_MAX_SOCKET_PATH);
	/* And a buffer too small is refused, not overrun. */
	assert_int_equal(proto_socket_path(buf, 8, &why), -1);
	unsetenv("XDG_RUNTIME_DIR");
}

static void test_socket_dir(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(proto_socket_dir("/tmp/ocstop-0/ocstop.sock", buf, sizeof buf), 0);
	assert_string_equal(buf, "/tmp/ocstop-0");
	assert_int_equal(proto_socket_dir("/x.sock", buf, sizeof buf), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(proto_socket_dir("x.sock", buf, sizeof buf), 0);
	assert_string_equal(buf, ".");
	assert_int_equal(proto_socket_dir("a/b", buf, sizeof buf), 0);
	assert_string_equal(buf, "a");
	assert_int_equal(proto_socket_dir("/0123456789abcdef/s", buf, sizeof buf), -1);
}

/* Only a private directory of the user's own: anyone who can write, enter
 * or own it could have bound the socket there. */
static void test_socket_dir_refusal(void **state)
{
	const mode_t dir = S_IFDIR;

	(void)state;
	assert_null(proto_socket_dir_refusal(dir | 0700, 1000, 1000));
	assert_null(proto_socket_dir_refusal(dir | 0500, 1000, 1000));
	assert_null(proto_socket_dir_refusal(dir | 0700, 0, 0));
	assert_string_equal(proto_socket_dir_refusal(dir | 0700, 65534, 1000),
	    "is owned by another user");
	assert_string_equal(proto_socket_dir_refusal(dir | 0700, 1000, 0),
	    "is owned by another user");
	assert_string_equal(proto_socket_dir_refusal(dir | 0755, 1000, 1000),
	    "is open to other users");
	assert_string_equal(proto_socket_dir_refusal(dir | 01777, 0, 0), "is open to other users");
	assert_string_equal(proto_socket_dir_refusal(dir | 0710, 1000, 1000),
	    "is open to other users");
	assert_string_equal(proto_socket_dir_refusal(dir | 0701, 1000, 1000),
	    "is open to other users");
	assert_string_equal(proto_socket_dir_refusal(S_IFLNK | 0777, 1000, 1000),
	    "is not a directory");
	assert_string_equal(proto_socket_dir_refusal(S_IFREG | 0700, 1000, 1000),
	    "is not a directory");
}

static void test_session_id(void **state)
{
	char longest[PROTO_MAX_SESSION_ID + 1];

	(void)state;
	assert_true(proto_session_id_valid("ses_0123abcXYZ", 14));
	assert_true(proto_session_id_valid("a-b_c", 5));
	assert_false(proto_session_id_valid("", 0));
	assert_false(proto_session_id_valid("ses/../x", 8));
	assert_false(proto_session_id_valid("ses x", 5));
	assert_false(proto_session_id_valid("ses\0x", 5));
	assert_false(proto_session_id_valid("ses%2f", 6));
	memset(longest, 'a', sizeof longest);
	assert_true(proto_session_id_valid(longest, PROTO_MAX_SESSION_ID));
	assert_false(proto_session_id_valid(longest, PROTO_MAX_SESSION_ID + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_path_order),
		cmocka_unit_test(test_socket_path_relative_xdg),
		cmocka_unit_test(test_socket_path_relative_override),
		cmocka_unit_test(test_socket_path_too_long),
		cmocka_unit_test(test_socket_dir),
		cmocka_unit_test(test_socket_dir_refusal),
		cmocka_unit_test(test_session_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
