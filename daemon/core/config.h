/*
 * Settings: built-in defaults, then the config file
 * ($XDG_CONFIG_HOME/ocstop/config), then the environment, then the command
 * line. The file is "key = value" lines; a '#' at the start of a line or
 * after whitespace starts a comment, so a value may hold a '#' that follows
 * some other character. Every value is checked as it is read: an unknown
 * key or a bad value fails the whole load, naming the file, the line and the
 * key. No I/O but reading the file and a password file.
 */
#ifndef OCSTOP_CORE_CONFIG_H
#define OCSTOP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_URLS 32
#define CONFIG_MAX_STOP_WORDS 16
#define CONFIG_MAX_STOP_LEN 32
/* Room for a stop word's key (config_is_stop_word): a key is at most three
 * times as long in UTF-8 as its text (U+1D160, a musical note, decomposes
 * into three such code points). */
#define CONFIG_MAX_STOP_KEY (4 * CONFIG_MAX_STOP_LEN)
#define CONFIG_DEFAULT_URL "http://127.0.0.1:4096"
#define CONFIG_DEFAULT_STOP_WORD "x"
/* The proof's quiet window and how long a stop waits for proof before it
 * retries, by default and at most (both also bound the abort method's
 * timeout_ms). */
#define CONFIG_DEFAULT_QUIET_MS 100
#define CONFIG_MAX_QUIET_MS 10000
#define CONFIG_DEFAULT_STOP_TIMEOUT_MS 3000
#define CONFIG_MIN_STOP_TIMEOUT_MS 100
#define CONFIG_MAX_STOP_TIMEOUT_MS 60000
/* A socket-activated daemon may exit after this many seconds without a
 * client (0: never, the default); at most a day, so that a typo in
 * milliseconds is caught. */
#define CONFIG_DEFAULT_IDLE_EXIT_S 0
#define CONFIG_MAX_IDLE_EXIT_S 86400
/* Longest user name for OpenCode's HTTP Basic auth. */
#define CONFIG_MAX_USERNAME 256
/* Longest line of the config file, line end included. */
#define CONFIG_MAX_LINE 1024

struct config {
	char *file; /* the config file read, NULL when none was */
	char *socket_path;
	char *urls[CONFIG_MAX_URLS];
	size_t n_urls;
	bool url_is_default; /* urls holds only CONFIG_DEFAULT_URL: nothing named one */
	char *username;
	char *password;
	char *stop_words[CONFIG_MAX_STOP_WORDS]; /* stored as their keys */
	size_t n_stop_words;
	size_t max_match_len; /* config_max_stop_len() */
	int64_t quiet_ms;
	int64_t stop_timeout_ms;
	bool x_force; /* a stop an x started ends its tools' processes when it stalls */
	int64_t idle_exit_s;
	int verbosity; /* -v's count, at least 1 with "verbose = true" */
};

/* What the command line asked for; applied after the file and the
 * environment. Strings are borrowed; NULL means not given. */
struct config_overrides {
	const char *socket;
	const char *config_file;
	const char *urls[CONFIG_MAX_URLS];
	size_t n_urls;
	const char *stop_words[CONFIG_MAX_STOP_WORDS];
	size_t n_stop_words;
	const char *quiet_ms;
	const char *stop_timeout_ms;
	const char *idle_exit;
	const char *password_file;
	bool no_default_server;
	int verbosity;
};

/* Everything, in order: built-in defaults, the config file (the overrides'
 * or the default path), the environment (OPENCODE_SERVER_PASSWORD,
 * OPENCODE_SERVER_USERNAME, OCSTOP_OPENCODE_URL), the overrides, and the
 * socket path (proto's rule unless given). -1 with *cause (caller frees)
 * saying what is wrong; c is then cleared. */
int config_load(struct config *c, const struct config_overrides *o, char **cause);

void config_init(struct config *c);
void config_clear(struct config *c);

/* Read a config file. A missing file is fine unless must_exist (c->file
 * then stays NULL). -1 with *cause (caller frees) on any error, as
 * "FILE:LINE: KEY: what is wrong" ("FILE:LINE: unknown key 'KEY'"). */
int config_load_file(struct config *c, const char *path, bool must_exist, char **cause);

/* Default path of the config file; caller frees. NULL without a home. */
char *config_default_path(void);

/* Each returns -1 with *cause (static) on a bad value. */
int config_set_stop_words(struct config *c, const char *comma_list, const char **cause);
int config_add_stop_word(struct config *c, const char *word, const char **cause);
/* The URL must be http:// or https://, a host (a name, an IPv4 address or
 * an IPv6 one in brackets), an optional port from 1 to 65535, then an
 * optional path or query, without credentials or whitespace. */
int config_add_url(struct config *c, const char *url, const char **cause);

/* A URL with user info ("http://user:pw@host") is refused everywhere, with
 * this as the cause: a URL shows in argv, the log and status. */
#define CONFIG_URL_CREDENTIALS \
	"credentials in an OpenCode URL would show in ps, the log and status; give the " \
	"password in $OPENCODE_SERVER_PASSWORD or a password file (--password-file, " \
	"password_file) and the user in $OPENCODE_SERVER_USERNAME or username"
bool config_url_has_credentials(const char *url);

/* The password is the file's first line, at most PROTO_MAX_PASSWORD bytes
 * without its line end; a file that group or others may read or write is
 * refused. -1 with *cause (caller frees). */
int config_read_password_file(struct config *c, const char *path, char **cause);

/* Longest message, trimmed, in UTF-16 code units (what the shim counts) or
 * in code points, that can match a stop word: the UTF-8 length of the
 * longest stop word's key, decomposed (NFD). */
size_t config_max_stop_len(const struct config *c);

/* Is text, trimmed of Unicode White_Space, a stop word? Text and word match
 * when their keys are equal: their Unicode full case folding (CaseFolding.txt
 * C+F, not the Turkic T mappings) after canonical decomposition, composed
 * again (NFC). So "СТОП" matches "стоп", "ΣΤΟΠ" "στοπ", "É" and "E" with
 * U+0301 both match "é", "STRASSE" matches "straße"; "I" matches "i", while
 * dotless "ı" matches only itself and "İ" only itself or "i" with U+0307.
 * Text that is not UTF-8 is no stop word. */
bool config_is_stop_word(const struct config *c, const char *text, size_t len);

#endif
