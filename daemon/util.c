#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon.h"
#include "util.h"

int64_t daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	/* An empty string names no directory, so it contains nothing. */
	if (n == 0)
		return false;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	if (strncmp(path, dir, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}
