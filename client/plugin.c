/* install-plugin, uninstall-plugin, and the copies of the shim OpenCode
 * would load. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "plugin.h"
#include "text.h"

/* What the shim's own opening comment says (build.mjs heads the bundle with
 * it): a copy renamed is still found by it. */
#define SHIM_MARK "The OpenCode plugin shim of ocstop"

static const char *env_given(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

const char *plugin_shim_path(void)
{
	const char *env = env_given(PLUGIN_ENV_SHIM);

	return env != NULL ? env : OCSTOP_SHIM_PATH;
}

/* The folder of OpenCode's global config: $XDG_CONFIG_HOME/opencode (when
 * absolute, as the XDG spec wants), else ~/.config/opencode. */
static int global_config_dir(char *out, size_t size, const char **why)
{
	const char *xdg = env_given("XDG_CONFIG_HOME"), *home = env_given("HOME");
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, size, "%s/opencode", xdg);
	else if (home != NULL)
		n = snprintf(out, size, "%s/.config/opencode", home);
	else {
		*why = "neither HOME nor XDG_CONFIG_HOME is set";
		return -1;
	}
	if (n < 0 || (size_t)n >= size) {
		*why = "the path of OpenCode's config folder is too long";
		return -1;
	}
	return 0;
}

/* Room in shell_hint()'s buffer besides the path. */
#define SHELL_HINT_EXTRA 64

/* "what (cmd 'path')" in buf, a shell command the user may paste; just
 * "what" when path would not paste as it is shown (a quote in it, or a
 * control character text_safe() shows as '?'). */
static const char *shell_hint(char *buf, size_t size, const char *cmd, const char *path,
    const char *what)
{
	char *shown = text_safe(path, strlen(path));
	bool pastable = shown != NULL && strcmp(shown, path) == 0 && strchr(path, '\'') == NULL;

	free(shown);
	if (!pastable || snprintf(buf, size, "%s (%s '%s')", what, cmd, path) >= (int)size)
		return what;
	return buf;
}

/* A plugins folder being walked to: the path so far, for messages, and
 * the mode of the folders made on the way. */
struct place {
	char full[PATH_MAX]; /* the plugins folder's path */
	char path[PATH_MAX];
	bool quiet;
	mode_t mode;
};

/* Folders made in the user's config home are theirs alone, as the XDG spec
 * asks; a project's .opencode follows the umask, like the project, but is
 * never writable by every user (see open_own_dir). */
#define PLACE_GLOBAL_MODE 0700
#define PLACE_PROJECT_MODE 0775

/* The next folder down from dfd, name, opened; made (pl->mode less the
 * umask) when missing and create. It must be
 * ours: a link is followed only when the link and the folder it leads to
 * are both ours, so that no other user's link or folder can take the link
 * somewhere else. -1 after saying why; -2 when missing and not create. */
static int open_own_dir(struct place *pl, int dfd, const char *name, bool create)
{
	char hint[PATH_MAX + SHELL_HINT_EXTRA];
	size_t len = strlen(pl->path);
	uid_t me = geteuid();
	struct stat st;
	int fd;

	if (snprintf(pl->path + len, sizeof pl->path - len, "/%s", name) >=
	    (int)(sizeof pl->path - len))
		return client_error("%s: the path is too long", pl->path), -1;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT)
			return client_error("%s: %s", pl->path, strerror(errno)), -1;
		if (!create)
			return -2;
		if (mkdirat(dfd, name, pl->mode) == -1)
			return client_error("cannot make %s: %s", pl->path, strerror(errno)), -1;
		if (!pl->quiet)
			client_say("made %s", pl->path);
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			return client_error("%s: %s", pl->path, strerror(errno)), -1;
	}
	if (S_ISLNK(st.st_mode) && st.st_uid != me)
		return client_error("%s is a link of another user's (uid %u): not following it",
			   pl->path, (unsigned)st.st_uid),
		       -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return client_error("%s is not a folder that can be opened: %s", pl->path,
			   strerror(errno)),
		       -1;
	if (fstat(fd, &st) == -1 || st.st_uid != me) {
		close(fd);
		return client_error("%s belongs to another user (uid %u): not touching it",
			   pl->path, (unsigned)st.st_uid),
		       -1;
	}
	/* Anyone could swap what OpenCode loads from there. */
	if ((st.st_mode & S_IWOTH) != 0) {
		close(fd);
		return client_error("%s is writable by every user: not using it; %s", pl->path,
			   shell_hint(hint, sizeof hint, "chmod o-w", pl->path,
			       "make it not writable by others")),
		       -1;
	}
	return fd;
}

/* mkdir -p base, each folder made PLACE_GLOBAL_MODE; what fails shows when
 * it is opened. */
static void make_base(const char *base)
{
	char path[PATH_MAX];
	char *slash;

	if (snprintf(path, sizeof path, "%s", base) >= (int)sizeof path)
		return;
	for (slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		(void)mkdir(path, PLACE_GLOBAL_MODE);
		*slash = '/';
	}
	(void)mkdir(path, PLACE_GLOBAL_MODE);
}

/* Opens the plugins folder install-plugin uses (plugin.h), making what is missing
 * when create. -1 after saying why; -2 when missing and not create. */
static int place_open(struct place *pl, bool project, bool create)
{
	static const char *const global_home[] = { ".config", "opencode", "plugins", NULL };
	static const char *const global_xdg[] = { "opencode", "plugins", NULL };
	static const char *const local[] = { ".opencode", "plugins", NULL };
	const char *xdg = env_given("XDG_CONFIG_HOME"), *base = env_given("HOME");
	const char *const *names = global_home, *const * n;
	char cwd[PATH_MAX];
	size_t len;
	int dfd, fd;

	pl->mode = project ? PLACE_PROJECT_MODE : PLACE_GLOBAL_MODE;
	if (project) {
		if ((base = getcwd(cwd, sizeof cwd)) == NULL) {
			client_error("the current directory cannot be named: %s", strerror(errno));
			return -1;
		}
		names = local;
	} else if (xdg != NULL && xdg[0] == '/') {
		base = xdg;
		names = global_xdg;
	} else if (base == NULL) {
		client_error("neither HOME nor XDG_CONFIG_HOME is set");
		return -1;
	}
	snprintf(pl->full, sizeof pl->full, "%s", strcmp(base, "/") == 0 ? "" : base);
	for (n = names; *n != NULL; n++) {
		len = strlen(pl->full);
		if (snprintf(pl->full + len, sizeof pl->full - len, "/%s", *n) >=
		    (int)(sizeof pl->full - len)) {
			client_error("the plugins folder's path is too long");
			return -1;
		}
	}
	/* The base is where the user said they live: trusted as it is, and
	 * made when missing ($XDG_CONFIG_HOME may be new). */
	if (create && !project)
		make_base(base);
	if ((dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT && !create)
			return -2;
		client_error("%s: %s", base, strerror(errno));
		return -1;
	}
	snprintf(pl->path, sizeof pl->path, "%s", strcmp(base, "/") == 0 ? "" : base);
	for (; *names != NULL; names++) {
		fd = open_own_dir(pl, dfd, *names, create);
		close(dfd);
		if (fd < 0)
			return fd;
		dfd = fd;
	}
	return dfd;
}

/* What is at dfd's PLUGIN_FILE. */
enum entry_kind {
	ENTRY_NONE,
	ENTRY_OURS,  /* a link to the shim */
	ENTRY_LINK,  /* a link elsewhere; target says where */
	ENTRY_FILE,  /* a regular file */
	ENTRY_OTHER, /* anything else */
};

static enum entry_kind entry_at(int dfd, const char *shim, char *target, size_t size)
{
	struct stat st;
	ssize_t n;

	target[0] = '\0';
	if (fstatat(dfd, PLUGIN_FILE, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? ENTRY_NONE : ENTRY_OTHER;
	if (S_ISREG(st.st_mode))
		return ENTRY_FILE;
	if (!S_ISLNK(st.st_mode))
		return ENTRY_OTHER;
	if ((n = readlinkat(dfd, PLUGIN_FILE, target, size - 1)) < 0)
		return ENTRY_OTHER;
	target[n] = '\0';
	return strcmp(target, shim) == 0 ? ENTRY_OURS : ENTRY_LINK;
}

/* Refuses what ocstop did not make, saying how to go on: for install, rm
 * it and run again; for uninstall, rm it if it is an old copy. */
static int refuse_entry(enum entry_kind kind, const char *path, const char *target, bool install)
{
	const char *doing = install ? "replacing" : "removing";
	const char *next = install ? "and run this again" : "yourself if it is an old shim";
	char hint[PATH_MAX + SHELL_HINT_EXTRA];
	const char *rm = shell_hint(hint, sizeof hint, "rm", path, "remove it");

	if (kind == ENTRY_LINK)
		return client_error(
		    "%s is a link to %s, which ocstop did not make: not %s it; %s %s", path, target,
		    doing, rm, next);
	if (kind == ENTRY_FILE)
		return client_error(
		    "%s is a file ocstop did not make (a copy of the shim?): not %s it; %s %s",
		    path, doing, rm, next);
	return client_error("%s is neither a file nor a link: not %s it", path, doing);
}

struct others {
	struct stat mine; /* the link this command made or found */
	bool have_mine;
	int n;
};

static void warn_other(void *arg, const struct plugin_copy *c)
{
	struct others *o = arg;
	char hint[PATH_MAX + SHELL_HINT_EXTRA];
	struct stat st;

	if (o->have_mine && lstat(c->path, &st) == 0 && st.st_dev == o->mine.st_dev &&
	    st.st_ino == o->mine.st_ino)
		return;
	o->n++;
	client_warning("OpenCode also loads a copy of the shim from %s: two shims would both "
		       "answer an x; %s",
	    c->path, shell_hint(hint, sizeof hint, "rm", c->path, "remove it"));
}

/* Warns of every copy of the shim OpenCode would load besides the link at
 * dfd's PLUGIN_FILE (dfd -1: besides none). */
static void warn_others(const char *shim, int dfd)
{
	struct others o = { 0 };

	o.have_mine = dfd >= 0 && fstatat(dfd, PLUGIN_FILE, &o.mine, AT_SYMLINK_NOFOLLOW) == 0;
	plugin_scan(shim, warn_other, &o);
}

int plugin_install(bool project, bool quiet)
{
	const char *shim = plugin_shim_path();
	struct place pl = { .quiet = quiet };
	char target[PATH_MAX], path[PATH_MAX + sizeof PLUGIN_FILE];
	enum entry_kind kind;
	struct stat st;
	int dfd, rc = EXIT_DONE;

	/* The link must lead there from any folder. */
	if (shim[0] != '/')
		return client_error(PLUGIN_ENV_SHIM " must be an absolute path, not %s", shim);
	if (stat(shim, &st) == -1)
		return client_error("the plugin shim is not at %s (%s): reinstall ocstop, or point "
				    "$" PLUGIN_ENV_SHIM " at its ocstop.js",
		    shim, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return client_error(
		    "the plugin shim at %s is not a file: reinstall ocstop, or point "
		    "$" PLUGIN_ENV_SHIM " at its ocstop.js",
		    shim);
	if ((dfd = place_open(&pl, project, true)) < 0)
		return EXIT_FAIL;
	snprintf(path, sizeof path, "%s/" PLUGIN_FILE, pl.full);
	kind = entry_at(dfd, shim, target, sizeof target);
	if (kind == ENTRY_NONE) {
		if (symlinkat(shim, dfd, PLUGIN_FILE) == -1) {
			rc = client_error("cannot make %s: %s", path, strerror(errno));
			goto out;
		}
		if (!quiet) {
			client_say("installed %s -> %s", path, shim);
			client_say("(OpenCode loads it when it next starts)");
		}
	} else if (kind == ENTRY_OURS) {
		if (!quiet)
			client_say("already installed: %s -> %s", path, shim);
	} else {
		rc = refuse_entry(kind, path, target, true);
		goto out;
	}
	warn_others(shim, dfd);
out:
	close(dfd);
	return rc;
}

int plugin_uninstall(bool project, bool quiet)
{
	const char *shim = plugin_shim_path();
	struct place pl = { .quiet = quiet };
	char target[PATH_MAX], path[PATH_MAX + sizeof PLUGIN_FILE];
	enum entry_kind kind = ENTRY_NONE;
	int dfd, rc = EXIT_DONE;

	if ((dfd = place_open(&pl, project, false)) == -1)
		return EXIT_FAIL;
	snprintf(path, sizeof path, "%s/" PLUGIN_FILE, pl.full);
	if (dfd >= 0)
		kind = entry_at(dfd, shim, target, sizeof target);
	if (kind == ENTRY_NONE) {
		if (!quiet)
			client_say("not installed: there is no %s", path);
	} else if (kind == ENTRY_OURS) {
		if (unlinkat(dfd, PLUGIN_FILE, 0) == -1) {
			rc = client_error("cannot remove %s: %s", path, strerror(errno));
			goto out;
		}
		if (!quiet)
			client_say("removed %s (the link to %s)", path, shim);
	} else {
		rc = refuse_entry(kind, path, target, false);
		goto out;
	}
	warn_others(shim, -1);
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* ---- the copies OpenCode would load ---- */

struct scan {
	const char *shim;
	struct stat shim_st;
	bool have_shim;
	plugin_copy_cb cb;
	void *arg;
	int n;
	/* Folders looked at already (OpenCode dedups them too). */
	dev_t dev[PLUGIN_MAX_DIRS];
	ino_t ino[PLUGIN_MAX_DIRS];
	size_t ndirs;
};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n > t && strcmp(s + n - t, tail) == 0;
}

/* Does the file at path start as the shim does? Only a regular file is
 * opened: path may be another user's link, and opening a FIFO or a device
 * acts on it (a FIFO's writer goes on, a tape rewinds). What is swapped in
 * between is opened without waiting and read only if regular too. */
static bool has_mark(const char *path)
{
	char head[PLUGIN_HEAD_BYTES + 1];
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) == -1)
		return false;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (n = read(fd, head, PLUGIN_HEAD_BYTES)) <= 0) {
		close(fd);
		return false;
	}
	close(fd);
	head[n] = '\0';
	return memmem(head, (size_t)n, SHIM_MARK, strlen(SHIM_MARK)) != NULL;
}

static void scan_entry(struct scan *s, const char *dir, const char *name)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct plugin_copy c = { .path = path };
	struct stat lst, st;
	bool named;
	ssize_t n;

	if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path ||
	    lstat(path, &lst) == -1)
		return;
	if (S_ISLNK(lst.st_mode)) {
		if ((n = readlink(path, target, sizeof target - 1)) < 0)
			return;
		target[n] = '\0';
		c.target = target;
		c.ours = strcmp(target, s->shim) == 0;
	} else if (!S_ISREG(lst.st_mode)) {
		return;
	}
	c.same_file = s->have_shim && stat(path, &st) == 0 && st.st_dev == s->shim_st.st_dev &&
	    st.st_ino == s->shim_st.st_ino;
	named = strcmp(name, "ocstop.js") == 0 || strcmp(name, "ocstop.ts") == 0;
	if (c.ours || c.same_file || named || has_mark(path)) {
		s->n++;
		s->cb(s->arg, &c);
	}
}

/* Whether the folder dev/ino was scanned already, else noted as scanned
 * (true, too, when PLUGIN_MAX_DIRS are noted). */
static bool seen_dir(struct scan *s, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < s->ndirs; i++)
		if (s->dev[i] == dev && s->ino[i] == ino)
			return true;
	if (s->ndirs == PLUGIN_MAX_DIRS)
		return true;
	s->dev[s->ndirs] = dev;
	s->ino[s->ndirs++] = ino;
	return false;
}

/* {plugin,plugins}/ *.{js,ts} of one of OpenCode's config folders. */
static void scan_config_dir(struct scan *s, const char *dir)
{
	static const char *const subs[] = { "plugin", "plugins" };
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t k, entries;
	DIR *d;

	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return;
	if (seen_dir(s, st.st_dev, st.st_ino))
		return;
	for (k = 0; k < sizeof subs / sizeof subs[0]; k++) {
		if (snprintf(path, sizeof path, "%s/%s", dir, subs[k]) >= (int)sizeof path ||
		    (d = opendir(path)) == NULL)
			continue;
		for (entries = 0; entries < PLUGIN_MAX_ENTRIES && (de = readdir(d)) != NULL;
		     entries++) {
			/* A glob's * skips dot files. */
			if (de->d_name[0] == '.' ||
			    !(ends_with(de->d_name, ".js") || ends_with(de->d_name, ".ts")))
				continue;
			scan_entry(s, path, de->d_name);
		}
		closedir(d);
	}
}

/* Each .opencode from the current directory up to the git worktree's root
 * (the folder holding .git), or up to / outside one, as OpenCode looks. */
static void scan_upward(struct scan *s)
{
	char dir[PATH_MAX], path[PATH_MAX + sizeof "/.opencode"];
	struct stat st;
	char *slash;
	size_t depth;

	if (getcwd(dir, sizeof dir) == NULL)
		return;
	for (depth = 0; depth < PLUGIN_MAX_DIRS; depth++) {
		snprintf(path, sizeof path, "%s/.opencode", strcmp(dir, "/") == 0 ? "" : dir);
		scan_config_dir(s, path);
		snprintf(path, sizeof path, "%s/.git", strcmp(dir, "/") == 0 ? "" : dir);
		if (lstat(path, &st) == 0 || strcmp(dir, "/") == 0)
			return;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

int plugin_scan(const char *shim, plugin_copy_cb cb, void *arg)
{
	struct scan s = { .shim = shim, .cb = cb, .arg = arg };
	const char *why, *home = env_given("HOME"), *env = env_given("OPENCODE_CONFIG_DIR");
	char dir[PATH_MAX];

	s.have_shim = stat(shim, &s.shim_st) == 0;
	if (global_config_dir(dir, sizeof dir, &why) == 0)
		scan_config_dir(&s, dir);
	scan_upward(&s);
	if (home != NULL && snprintf(dir, sizeof dir, "%s/.opencode", home) < (int)sizeof dir)
		scan_config_dir(&s, dir);
	if (env != NULL)
		scan_config_dir(&s, env);
	return s.n;
}
