/*
 * Settings: built-in defaults, then the config file
 * ($XDG_CONFIG_HOME/ocstop/config, "key = value" lines, '#' comments), then
 * the environment, then the command line.
 */
#ifndef OCSTOP_CONFIG_H
#define OCSTOP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_URLS 32
#define CONFIG_MAX_STOP_WORDS 16
#define CONFIG_MAX_STOP_LEN 32
#define CONFIG_DEFAULT_URL "http://127.0.0.1:4096"

struct config {
	char *socket_path;
	char *urls[CONFIG_MAX_URLS];
	size_t n_urls;
	char *username;
	char *password;
	char *stop_words[CONFIG_MAX_STOP_WORDS]; /* stored lowercase */
	size_t n_stop_words;
	int64_t quiet_ms;
	int64_t stop_timeout_ms;
	int verbosity;
};

void config_init(struct config *c);
void config_clear(struct config *c);

/* Read a config file. A missing file is fine unless must_exist. -1 with
 * *cause (caller frees) on any error, naming the line. */
int config_load_file(struct config *c, const char *path, bool must_exist, char **cause);

/* Default path of the config file; caller frees. NULL without a home. */
char *config_default_path(void);

/* Each returns -1 with *cause (static) on a bad value. */
int config_set_stop_words(struct config *c, const char *comma_list, const char **cause);
int config_add_stop_word(struct config *c, const char *word, const char **cause);
int config_add_url(struct config *c, const char *url, const char **cause);
int config_read_password_file(struct config *c, const char *path, char **cause);

/* Longest stop word, in bytes. */
size_t config_max_stop_len(const struct config *c);

/* Is text, trimmed of whitespace, a stop word (ASCII case-insensitive)? */
bool config_is_stop_word(const struct config *c, const char *text, size_t len);

#endif
