#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/procnet.h"

#define MAX_INODES 64

/* Inodes of sockets listening on port, from /proc/net/tcp or tcp6. */
static size_t listening_inodes(const char *table, int port, unsigned long *out, size_t n)
{
	char line[512];
	unsigned int local_port, state;
	unsigned long inode;
	FILE *f = fopen(table, "re");

	if (f == NULL)
		return n;
	while (fgets(line, sizeof(line), f) != NULL && n < MAX_INODES) {
		/* sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode */
		if (sscanf(line,
			" %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*u %*u %lu",
			&local_port, &state, &inode) != 3)
			continue;
		if ((int)local_port == port && state == 0x0A)
			out[n++] = inode;
	}
	fclose(f);
	return n;
}

bool procnet_pid_listens(int pid, int port)
{
	unsigned long inodes[MAX_INODES], inode;
	char dir[64], path[320], target[64];
	struct dirent *e;
	size_t n, i;
	ssize_t len;
	bool found = false;
	DIR *fds;

	if (pid <= 0 || port <= 0)
		return false;
	n = listening_inodes("/proc/net/tcp", port, inodes, 0);
	n = listening_inodes("/proc/net/tcp6", port, inodes, n);
	if (n == 0)
		return false;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	if ((fds = opendir(dir)) == NULL)
		return false;
	while (!found && (e = readdir(fds)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (sscanf(target, "socket:[%lu]", &inode) != 1)
			continue;
		for (i = 0; i < n; i++)
			if (inodes[i] == inode)
				found = true;
	}
	closedir(fds);
	return found;
}

int procnet_url_port(const char *url)
{
	const char *host, *colon, *end;
	long port;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	host = url + 7;
	end = host + strcspn(host, "/?#");
	if (*host == '[') {
		host = memchr(host, ']', (size_t)(end - host));
		if (host == NULL)
			return -1;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	if (colon == NULL)
		return 80;
	port = strtol(colon + 1, NULL, 10);
	return port > 0 && port < 65536 ? (int)port : -1;
}
