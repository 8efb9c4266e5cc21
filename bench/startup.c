/*
 * startup: how long ocstopd and its clients take to start, each against a
 * floor measured in the same run (bench/README.md).
 *
 *   startup [--rounds N] [--cold-rounds N] [--only MODE[,MODE]...] [--csv FILE]
 *           [--ocstopd [NAME=]PATH]... [--echo PATH] [--ocstop PATH]
 *   startup --connect SOCKET
 *
 * Modes; the targets of a mode run in interleaved rounds, the start order
 * rotated each round, after one untimed run each:
 *   exit        fork -> waitpid: /bin/true, `ocstopd --version`.
 *   activation  what a client waits for when its connection starts the daemon:
 *               a listening socket, a client connected and a msgpack-rpc ping
 *               written, all before the fork; the socket is passed as systemd
 *               does (fd 3, LISTEN_FDS=1, LISTEN_PID); fork -> the first byte of
 *               the reply: bench/echo, `ocstopd --no-default-server`, and
 *               "+server": the same with an OpenCode server to watch.
 *   connect     fork -> waitpid of a client against a running ocstopd: /bin/true,
 *               `startup --connect` (connect, ping, read the reply: the least a
 *               client can do), `ocstop -q ping`, `ocstop status`.
 *   cold        activation with the program's libraries out of the page cache:
 *               private copies of the binary and the libraries ldd lists (not libc
 *               and the loader, which every process of the machine keeps in
 *               memory), evicted before each run (posix_fadvise DONTNEED; mincore
 *               then checks that no page is left), run with LD_LIBRARY_PATH.
 * Every daemon gets an empty private config and runtime directory, mode 0700.
 * Output: a table on stdout (times in ms; x floor = p50 over the mode's first
 * target's); --csv FILE: target,mode,n,min,p50,p99,max (ms, nearest-rank
 * percentiles: with fewer than 100 runs p99 is the largest).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DAEMONS 4
#define MAX_TARGETS (1 + 2 * MAX_DAEMONS)
#define MAX_ARGS 8
#define MAX_LIBS 64
/* Waits for a reply or an exit; past it the run counts as failed. */
#define REPLY_TIMEOUT_MS 3000
#define DEFAULT_ROUNDS 60
#define DEFAULT_COLD_ROUNDS 5
#define MAX_ROUNDS 100000

/* [0, 1, "ping", []]: a msgpack-rpc request; the daemon's reply and the
 * echo's copy both start with 0x94 (an array of 4). */
static const unsigned char ping_req[] = { 0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n', 'g', 0x90 };

/* A daemon alone, and one with an OpenCode server to watch as every user has
 * (the default one): port 1, where nothing listens, so that no OpenCode
 * running here answers; the server is attached and tried all the same. */
static char *alone_args[] = { "--no-default-server", NULL };
static char *server_args[] = { "--no-default-server", "--opencode", "http://127.0.0.1:1", NULL };

enum kind { RUN_EXIT, RUN_REPLY };

struct target {
	char name[64];
	const char *mode;
	enum kind kind;
	char *argv[MAX_ARGS];
	const char *ld_path;       /* cold: LD_LIBRARY_PATH, else NULL */
	char *files[MAX_LIBS + 1]; /* cold: the private copies to evict */
	int n_files;
	double *ms;
	int n, failed, resident; /* resident: cold runs that found pages in memory */
};

struct daemon_arg {
	const char *name, *path;
};

static char workdir[] = "/tmp/ocstop-startup.XXXXXX";
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static FILE *csv;

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "startup: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least q of them at or below it. */
static double pct(const double *s, int n, double q)
{
	int i = (int)(q * n + 0.999999) - 1;

	return s[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int unix_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	return fd;
}

static void sock_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa->sun_path) {
		fprintf(stderr, "startup: socket path too long: %s\n", path);
		exit(1);
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
}

/* Wait for the first bytes of a reply on fd; 0 when it is one (0x94). */
static int read_reply(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char b[64];

	if (poll(&p, 1, REPLY_TIMEOUT_MS) != 1 || read(fd, b, sizeof b) < 1 || b[0] != 0x94)
		return -1;
	return 0;
}

/* In the child: stdout and stderr to /dev/null, the activation protocol when
 * listen_fd >= 0, the private library path when ld_path is set. */
static pid_t spawn(char *const argv[], int listen_fd, const char *ld_path)
{
	pid_t pid = fork();
	char v[32];
	int null;

	if (pid != 0)
		return pid;
	if ((null = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(null, 1);
		dup2(null, 2);
	}
	if (listen_fd >= 0) {
		/* dup2 clears FD_CLOEXEC on the copy, as systemd leaves it. */
		if (dup2(listen_fd, 3) < 0)
			_exit(126);
		snprintf(v, sizeof v, "%d", (int)getpid());
		setenv("LISTEN_PID", v, 1);
		setenv("LISTEN_FDS", "1", 1);
	}
	if (ld_path != NULL)
		setenv("LD_LIBRARY_PATH", ld_path, 1);
	execv(argv[0], argv);
	_exit(127);
}

/* Evict the target's private copies; the count of pages still in memory. */
static long evict(const struct target *t)
{
	long resident = 0;
	int i;

	for (i = 0; i < t->n_files; i++) {
		int fd = open(t->files[i], O_RDONLY | O_CLOEXEC);
		struct stat st;
		unsigned char *vec;
		void *map;
		size_t pages, p, psz = (size_t)sysconf(_SC_PAGESIZE);

		if (fd < 0)
			die(t->files[i]);
		if (posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) != 0 || fstat(fd, &st) < 0)
			die("posix_fadvise");
		pages = ((size_t)st.st_size + psz - 1) / psz;
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED || (vec = malloc(pages)) == NULL)
			die("mmap");
		if (mincore(map, (size_t)st.st_size, vec) < 0)
			die("mincore");
		for (p = 0; p < pages; p++)
			resident += vec[p] & 1;
		free(vec);
		munmap(map, (size_t)st.st_size);
		close(fd);
	}
	return resident;
}

/* One run: ms from the fork to the exit (RUN_EXIT) or to the ping's reply
 * (RUN_REPLY), or -1 when it failed. */
static double run_once(struct target *t)
{
	struct sockaddr_un sa;
	int l = -1, c = -1, status, ok;
	double t0, ms;
	pid_t pid;

	if (t->n_files > 0 && evict(t) > 0)
		t->resident++;
	if (t->kind == RUN_REPLY) {
		sock_addr(&sa, sock_path);
		unlink(sock_path);
		l = unix_socket();
		c = unix_socket();
		if (bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 16) < 0 ||
		    connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 ||
		    write(c, ping_req, sizeof ping_req) != (ssize_t)sizeof ping_req)
			die("activation socket");
	}
	t0 = now_ms();
	if ((pid = spawn(t->argv, l, t->ld_path)) < 0)
		die("fork");
	if (t->kind == RUN_EXIT) {
		ok = waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0;
		ms = now_ms() - t0;
	} else {
		ok = read_reply(c) == 0;
		ms = now_ms() - t0;
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		close(c);
		close(l);
	}
	return ok ? ms : -1;
}

static void run_mode(struct target *ts, int nt, int rounds)
{
	int r, j;

	for (j = 0; j < nt; j++) {
		if ((ts[j].ms = calloc((size_t)rounds, sizeof(double))) == NULL)
			die("calloc");
		if (ts[j].n_files == 0)
			run_once(&ts[j]); /* warm: untimed */
	}
	for (r = 0; r < rounds; r++)
		for (j = 0; j < nt; j++) {
			struct target *t = &ts[(r + j) % nt];
			double ms = run_once(t);

			if (ms < 0)
				t->failed++;
			else
				t->ms[t->n++] = ms;
		}
}

static void report(struct target *ts, int nt)
{
	double floor_p50 = 0;
	int j;

	for (j = 0; j < nt; j++) {
		struct target *t = &ts[j];
		double p50;

		qsort(t->ms, (size_t)t->n, sizeof(double), cmp_double);
		if (t->n == 0) {
			printf("%-11s %-26s no successful run (%d failed)\n", t->mode, t->name,
			    t->failed);
			continue;
		}
		p50 = pct(t->ms, t->n, 0.5);
		if (j == 0)
			floor_p50 = p50;
		printf("%-11s %-26s %5d %8.2f %8.2f %8.2f %8.2f %7.2fx", t->mode, t->name, t->n,
		    t->ms[0], p50, pct(t->ms, t->n, 0.99), t->ms[t->n - 1],
		    floor_p50 > 0 ? p50 / floor_p50 : 0);
		if (t->failed > 0)
			printf("  (%d failed)", t->failed);
		if (t->resident > 0)
			printf("  (%d runs found pages in memory)", t->resident);
		printf("\n");
		if (csv != NULL)
			fprintf(csv, "%s,%s,%d,%.3f,%.3f,%.3f,%.3f\n", t->name, t->mode, t->n,
			    t->ms[0], p50, pct(t->ms, t->n, 0.99), t->ms[t->n - 1]);
		free(t->ms);
	}
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in = open(from, O_RDONLY | O_CLOEXEC), out;

	if (in < 0)
		die(from);
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700)) < 0)
		die(to);
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			die(to);
	/* Dirty pages cannot be evicted: on disk first. */
	if (n < 0 || fsync(out) < 0)
		die(to);
	close(in);
	close(out);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		die("strdup");
	return d;
}

/* The cold target: the binary and the libraries ldd names (libc and the
 * loader excepted) copied into a directory of their own. */
static void make_cold(struct target *t, const char *name, const char *path, char *const args[])
{
	char dir[512], dst[768], cmd[600], line[1024], lib[512];
	const char *base = strrchr(path, '/') != NULL ? strrchr(path, '/') + 1 : path;
	FILE *p;

	static int n_cold;
	int i;

	snprintf(dir, sizeof dir, "%s/cold-%d", workdir, n_cold++);
	if (mkdir(dir, 0700) < 0)
		die(dir);
	snprintf(dst, sizeof dst, "%s/%s", dir, base);
	copy_file(path, dst);
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->mode = "cold";
	t->kind = RUN_REPLY;
	t->argv[0] = xstrdup(dst);
	for (i = 0; i < MAX_ARGS - 2 && args[i] != NULL; i++)
		t->argv[i + 1] = args[i];
	t->ld_path = xstrdup(dir);
	t->files[t->n_files++] = xstrdup(dst);
	snprintf(cmd, sizeof cmd, "ldd '%s'", path);
	if ((p = popen(cmd, "r")) == NULL)
		die("ldd");
	while (fgets(line, sizeof line, p) != NULL) {
		char *slash;

		if (sscanf(line, " %*s => %511s", lib) != 1 || lib[0] != '/' ||
		    strstr(lib, "/libc.so") != NULL || strstr(lib, "/ld-linux") != NULL)
			continue;
		if (t->n_files == MAX_LIBS + 1) {
			fprintf(stderr, "startup: %s needs more than %d libraries\n", path,
			    MAX_LIBS);
			exit(1);
		}
		slash = strrchr(lib, '/');
		snprintf(dst, sizeof dst, "%s%s", dir, slash);
		copy_file(lib, dst);
		t->files[t->n_files++] = xstrdup(dst);
	}
	pclose(p);
}

static void set_target(struct target *t, const char *mode, enum kind kind, const char *name,
    const char *a0, const char *a1, const char *a2, const char *a3)
{
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "%s", name);
	t->mode = mode;
	t->kind = kind;
	t->argv[0] = (char *)a0;
	t->argv[1] = (char *)a1;
	t->argv[2] = (char *)a2;
	t->argv[3] = (char *)a3;
}

/* `startup --connect SOCKET`: the least a client does, as a target. */
static int connect_only(const char *path)
{
	struct sockaddr_un sa;
	int fd = unix_socket();

	sock_addr(&sa, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    write(fd, ping_req, sizeof ping_req) != (ssize_t)sizeof ping_req || read_reply(fd) < 0)
		return 1;
	return 0;
}

static bool want(const char *only, const char *mode)
{
	const char *p = only;
	size_t n = strlen(mode);

	if (only == NULL)
		return true;
	while ((p = strstr(p, mode)) != NULL) {
		if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

/* Every word of a --only list is a mode. */
static bool modes_valid(const char *list)
{
	static const char *const modes[] = { "exit", "activation", "connect", "cold" };
	const char *p = list;
	size_t n, i;

	do {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof modes / sizeof modes[0]; i++)
			if (strlen(modes[i]) == n && strncmp(p, modes[i], n) == 0)
				break;
		if (i == sizeof modes / sizeof modes[0])
			return false;
		p += n;
	} while (*p++ == ',');
	return true;
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: startup [--rounds N] [--cold-rounds N] [--only MODE[,MODE]...] [--csv FILE]\n"
	    "               [--ocstopd [NAME=]PATH]... [--echo PATH] [--ocstop PATH]\n"
	    "       startup --connect SOCKET\n"
	    "modes: exit, activation, connect, cold\n");
	exit(2);
}

static int count(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > MAX_ROUNDS)
		usage();
	return (int)v;
}

static void print_load(const char *when)
{
	char buf[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof buf, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	printf("load %s: %s", when, buf[0] != '\0' ? buf : "unknown\n");
}

int main(int argc, char **argv)
{
	struct daemon_arg daemons[MAX_DAEMONS];
	struct target ts[MAX_TARGETS];
	const char *echo = NULL, *ocstop = NULL, *only = NULL, *csv_path = NULL;
	char self[4096], names[MAX_DAEMONS][64], dsock[512], env[600];
	int rounds = DEFAULT_ROUNDS, cold_rounds = DEFAULT_COLD_ROUNDS, nd = 0, nt, i;
	double t_start = now_ms();
	ssize_t len;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--connect") == 0 && v != NULL && argc == 3)
			return connect_only(v);
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--rounds") == 0) {
			rounds = count(v);
		} else if (strcmp(a, "--cold-rounds") == 0) {
			cold_rounds = count(v);
		} else if (strcmp(a, "--only") == 0) {
			only = v;
			if (!modes_valid(v))
				usage();
		} else if (strcmp(a, "--csv") == 0) {
			csv_path = v;
		} else if (strcmp(a, "--echo") == 0) {
			echo = v;
		} else if (strcmp(a, "--ocstop") == 0) {
			ocstop = v;
		} else if (strcmp(a, "--ocstopd") == 0 && nd < MAX_DAEMONS) {
			const char *eq = strchr(v, '=');

			snprintf(names[nd], sizeof names[nd], "%.*s",
			    eq != NULL ? (int)(eq - v) : (int)strlen("ocstopd"),
			    eq != NULL ? v : "ocstopd");
			daemons[nd].name = names[nd];
			daemons[nd++].path = eq != NULL ? eq + 1 : v;
		} else {
			usage();
		}
	}
	for (i = 0; i < nd; i++)
		if (access(daemons[i].path, X_OK) < 0)
			die(daemons[i].path);
	if ((echo != NULL && access(echo, X_OK) < 0) ||
	    (ocstop != NULL && access(ocstop, X_OK) < 0))
		die(echo != NULL && access(echo, X_OK) < 0 ? echo : ocstop);
	if ((len = readlink("/proc/self/exe", self, sizeof self - 1)) < 0)
		die("/proc/self/exe");
	self[len] = '\0';
	if (csv_path != NULL && (csv = fopen(csv_path, "w")) == NULL)
		die(csv_path);
	if (csv != NULL)
		fprintf(csv, "target,mode,n,min,p50,p99,max\n");
	if (mkdtemp(workdir) == NULL)
		die("mkdtemp");
	snprintf(sock_path, sizeof sock_path, "%s/activated.sock", workdir);
	snprintf(dsock, sizeof dsock, "%s/connect.sock", workdir);
	/* No user's settings, no OpenCode to watch, nothing shared. */
	snprintf(env, sizeof env, "%s/config", workdir);
	setenv("XDG_CONFIG_HOME", env, 1);
	snprintf(env, sizeof env, "%s/run", workdir);
	setenv("XDG_RUNTIME_DIR", env, 1);
	if (mkdir(env, 0700) < 0)
		die(env);
	unsetenv("OCSTOP_SOCKET");
	unsetenv("OCSTOP_OPENCODE_URL");
	unsetenv("OPENCODE_SERVER_PASSWORD");
	unsetenv("LD_LIBRARY_PATH");
	signal(SIGPIPE, SIG_IGN);
	print_load("before");
	printf("%-11s %-26s %5s %8s %8s %8s %8s %8s\n", "mode", "target", "n", "min", "p50", "p99",
	    "max", "x floor");

	if (want(only, "exit")) {
		nt = 0;
		set_target(&ts[nt++], "exit", RUN_EXIT, "true", "/bin/true", NULL, NULL, NULL);
		for (i = 0; i < nd; i++) {
			char name[64];

			snprintf(name, sizeof name, "%s --version", daemons[i].name);
			set_target(&ts[nt++], "exit", RUN_EXIT, name, daemons[i].path, "--version",
			    NULL, NULL);
		}
		run_mode(ts, nt, rounds);
		report(ts, nt);
	}
	if (want(only, "activation") && (echo != NULL || nd > 0)) {
		nt = 0;
		if (echo != NULL)
			set_target(&ts[nt++], "activation", RUN_REPLY, "echo", echo, sock_path,
			    NULL, NULL);
		for (i = 0; i < nd; i++) {
			char name[64];

			set_target(&ts[nt++], "activation", RUN_REPLY, daemons[i].name,
			    daemons[i].path, alone_args[0], NULL, NULL);
			snprintf(name, sizeof name, "%s +server", daemons[i].name);
			set_target(&ts[nt++], "activation", RUN_REPLY, name, daemons[i].path,
			    server_args[0], server_args[1], server_args[2]);
		}
		run_mode(ts, nt, rounds);
		report(ts, nt);
	}
	if (want(only, "connect") && nd > 0) {
		const char *d = daemons[nd - 1].path;
		char *dargv[] = { (char *)d, "--no-default-server", "-s", dsock, NULL };
		struct sockaddr_un sa;
		pid_t dpid = spawn(dargv, -1, NULL);
		double until = now_ms() + REPLY_TIMEOUT_MS;
		int fd = -1;

		sock_addr(&sa, dsock);
		while (dpid > 0 && now_ms() < until) {
			fd = unix_socket();
			if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
				break;
			close(fd);
			fd = -1;
			usleep(1000);
		}
		if (fd < 0) {
			fprintf(stderr, "startup: %s did not listen on %s\n", d, dsock);
		} else {
			close(fd);
			nt = 0;
			set_target(&ts[nt++], "connect", RUN_EXIT, "true", "/bin/true", NULL, NULL,
			    NULL);
			set_target(&ts[nt++], "connect", RUN_EXIT, "startup --connect", self,
			    "--connect", dsock, NULL);
			if (ocstop != NULL) {
				set_target(&ts[nt++], "connect", RUN_EXIT, "ocstop -q ping", ocstop,
				    "-s", dsock, "-q");
				ts[nt - 1].argv[4] = "ping";
				set_target(&ts[nt++], "connect", RUN_EXIT, "ocstop status", ocstop,
				    "-s", dsock, "status");
			}
			run_mode(ts, nt, rounds);
			report(ts, nt);
		}
		if (dpid > 0) {
			kill(dpid, SIGTERM);
			waitpid(dpid, NULL, 0);
		}
	}
	if (want(only, "cold") && (echo != NULL || nd > 0)) {
		nt = 0;
		if (echo != NULL)
			make_cold(&ts[nt++], "echo", echo, (char *[]){ sock_path, NULL });
		for (i = 0; i < nd; i++) {
			char name[64];

			make_cold(&ts[nt++], daemons[i].name, daemons[i].path, alone_args);
			snprintf(name, sizeof name, "%s +server", daemons[i].name);
			make_cold(&ts[nt++], name, daemons[i].path, server_args);
		}
		run_mode(ts, nt, cold_rounds);
		report(ts, nt);
	}
	print_load("after");
	printf("wall %.1f s\n", (now_ms() - t_start) / 1e3);
	if (csv != NULL && fclose(csv) != 0)
		die(csv_path);
	unlink(sock_path);
	snprintf(env, sizeof env, "rm -rf '%s'", workdir);
	return system(env) == 0 ? 0 : 1;
}
