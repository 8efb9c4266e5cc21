/* install-plugin, uninstall-plugin: the link to the shim in OpenCode's
 * plugins folder (plugin.c). */
#include "client.h"
#include "plugin.h"

static int cmd_install_exec(const struct client_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return plugin_install(o->project, o->quiet);
}

static int cmd_uninstall_exec(const struct client_opts *o, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return plugin_uninstall(o->project, o->quiet);
}

const struct cmd_entry cmd_install_plugin_entry = {
	.name = "install-plugin",
	.min_args = 0,
	.max_args = 0,
	.local = true,
	.exec = cmd_install_exec,
};

const struct cmd_entry cmd_uninstall_plugin_entry = {
	.name = "uninstall-plugin",
	.min_args = 0,
	.max_args = 0,
	.local = true,
	.exec = cmd_uninstall_exec,
};
