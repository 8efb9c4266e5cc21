#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "io/sd.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

int sd_listen_fd(void)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_warnx("sd_listen_fds: %s", strerror(-n));
		return -1;
	}
	if (n > 1)
		log_warnx("systemd passed %d sockets; using the first", n);
	return n >= 1 ? SD_LISTEN_FDS_START : -1;
}

void sd_ready(void)
{
	sd_notify(0, "READY=1");
}
#else
/* The activation protocol is two environment variables; read them ourselves
 * when built without libsystemd. */
int sd_listen_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");

	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return 3;
}

void sd_ready(void)
{
}
#endif
