/*
 * The plugin shim's place in OpenCode's plugin folders: the link
 * install-plugin makes and uninstall-plugin removes, and every copy of the
 * shim an OpenCode started here would load (two copies would both answer
 * an x). Plain system calls; nothing is run.
 */
#ifndef OCSTOP_CLIENT_PLUGIN_H
#define OCSTOP_CLIENT_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

/* The link's name in a plugins folder. */
#define PLUGIN_FILE "ocstop.js"
/* Overrides the shim's installed path (an uninstalled build's tests). */
#define PLUGIN_ENV_SHIM "OCSTOP_SHIM"
/* How much of a plugin file is read to tell whether it is the shim. */
#define PLUGIN_HEAD_BYTES 1024
/* Folders of OpenCode's looked at, at most: the global one, ~/.opencode,
 * $OPENCODE_CONFIG_DIR, and each .opencode up to the worktree's root. */
#define PLUGIN_MAX_DIRS 64
/* Entries of one plugin folder looked at, at most. */
#define PLUGIN_MAX_ENTRIES 4096

/* The shim a link points to: $OCSTOP_SHIM, else the installed one. */
const char *plugin_shim_path(void);

/* install-plugin and uninstall-plugin, on the link in the global plugins
 * folder ($XDG_CONFIG_HOME, else ~/.config, then opencode/plugins) or, with
 * project, in ./.opencode/plugins. Each says what it did or why not, warns
 * of other copies of the shim OpenCode would load, and returns an exit
 * code. */
int plugin_install(bool project, bool quiet);
int plugin_uninstall(bool project, bool quiet);

/* One copy of the shim in a folder OpenCode loads plugins from. */
struct plugin_copy {
	const char *path;   /* the folder's entry */
	const char *target; /* what a link points to; NULL for a file */
	bool ours;          /* the link install-plugin makes: to the shim */
	bool same_file;     /* it is the shim's file (false when dangling) */
};

typedef void (*plugin_copy_cb)(void *arg, const struct plugin_copy *c);

/* Calls cb for every copy of the shim (shim: plugin_shim_path()) that an
 * OpenCode started in the current directory would load: from
 * {plugin,plugins}/ *.{js,ts} of its global config folder, each .opencode
 * from here up to the git worktree's root, ~/.opencode and
 * $OPENCODE_CONFIG_DIR. A file is a copy when it is a link to the shim, is
 * named ocstop.js or ocstop.ts, or starts as the shim does. Returns how
 * many. */
int plugin_scan(const char *shim, plugin_copy_cb cb, void *arg);

#endif
