/*
 * The settings as ocstopd loads them: a config file, then the environment,
 * then the command line. The input is NUL-separated parts: the first is the
 * config file's text; each further one is an override named by its first
 * byte (u: --opencode, w: --stop-word, q: --quiet-ms, t: --stop-timeout-ms,
 * s: --socket, n: --no-default-server, p: a --password-file's text, U:
 * OCSTOP_OPENCODE_URL, P: OPENCODE_SERVER_PASSWORD, m: a message to match
 * against the stop words). A load either fails with a cause and a cleared
 * config, or gives one that keeps every bound config.h names.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/config.h"
#include "fuzz.h"

#define FUZZ_MAX_PARTS 64

/* Files the loader opens by name: their text comes from the input. */
struct file {
	int fd;
	char path[64];
};

static struct file conf_file, pw_file;

static void file_open(struct file *f, const char *name)
{
	f->fd = memfd_create(name, MFD_CLOEXEC);
	CHECK(f->fd >= 0);
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

static void file_set(struct file *f, const char *text, size_t len)
{
	CHECK(ftruncate(f->fd, 0) == 0);
	CHECK(pwrite(f->fd, text, len, 0) == (ssize_t)len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	file_open(&conf_file, "config");
	file_open(&pw_file, "password");
	unsetenv("OCSTOP_SOCKET");
	unsetenv("OCSTOP_OPENCODE_URL");
	unsetenv("OPENCODE_SERVER_PASSWORD");
	unsetenv("OPENCODE_SERVER_USERNAME");
	return 0;
}

/* A file the config names could be a terminal or a pipe that never ends:
 * such inputs are not the parser's business. Relative paths count too. */
static bool safe_text(const char *text)
{
	return strstr(text, "dev/") == NULL && strstr(text, "proc/") == NULL &&
	    strstr(text, "sys/") == NULL;
}

static bool has_space_or_upper(const char *w)
{
	for (; *w != '\0'; w++)
		if (isspace((unsigned char)*w) || (*w >= 'A' && *w <= 'Z'))
			return true;
	return false;
}

static void check_loaded(const struct config *c, bool no_default)
{
	size_t i, j, len, max = 0;
	char padded[CONFIG_MAX_STOP_KEY + 3];

	CHECK(c->socket_path != NULL);
	CHECK(c->n_urls <= CONFIG_MAX_URLS && (c->n_urls > 0 || no_default));
	for (i = 0; i < c->n_urls; i++) {
		CHECK(strncmp(c->urls[i], "http://", 7) == 0 ||
		    strncmp(c->urls[i], "https://", 8) == 0);
		for (j = 0; j < i; j++)
			CHECK(strcmp(c->urls[i], c->urls[j]) != 0);
	}
	CHECK(c->n_stop_words > 0 && c->n_stop_words <= CONFIG_MAX_STOP_WORDS);
	for (i = 0; i < c->n_stop_words; i++) {
		/* Stored as its key, which folding can make longer than the word
		 * typed: "İ" (2 bytes) folds to "i" and a combining dot (3). */
		len = strlen(c->stop_words[i]);
		CHECK(
		    len > 0 && len <= CONFIG_MAX_STOP_KEY && !has_space_or_upper(c->stop_words[i]));
		/* A stop word typed as it is, or with blanks around it, stops. */
		CHECK(config_is_stop_word(c, c->stop_words[i], len));
		CHECK((size_t)snprintf(padded, sizeof(padded), " %s\n", c->stop_words[i]) <
		    sizeof(padded));
		CHECK(config_is_stop_word(c, padded, len + 2));
		max = len > max ? len : max;
	}
	/* The bound the shim filters by covers every stop word as stored; it may
	 * be longer, since it also covers the words' decomposed forms. */
	CHECK(config_max_stop_len(c) >= max);
	CHECK(c->quiet_ms >= 0 && c->quiet_ms <= CONFIG_MAX_QUIET_MS);
	CHECK(c->stop_timeout_ms >= CONFIG_MIN_STOP_TIMEOUT_MS &&
	    c->stop_timeout_ms <= CONFIG_MAX_STOP_TIMEOUT_MS);
	CHECK(c->password == NULL || c->password[0] != '\0');
}

static void check_cleared(const struct config *c)
{
	CHECK(c->socket_path == NULL && c->n_urls == 0 && c->username == NULL &&
	    c->password == NULL && c->n_stop_words == 0);
}

static void set_env(const char *name, const char *value)
{
	CHECK(setenv(name, value, 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_overrides o = { 0 };
	const char *parts[FUZZ_MAX_PARTS], *messages[FUZZ_MAX_PARTS];
	size_t n_parts = 0, n_messages = 0, i;
	struct config c;
	char *text, *cause = NULL, *p;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (p = text; p <= text + size && n_parts < FUZZ_MAX_PARTS; p += strlen(p) + 1)
		parts[n_parts++] = p;
	if (!safe_text(parts[0])) {
		free(text);
		return 0;
	}
	file_set(&conf_file, parts[0], strlen(parts[0]));
	o.config_file = conf_file.path;
	for (i = 1; i < n_parts; i++) {
		const char *v = parts[i] + (parts[i][0] != '\0');

		switch (parts[i][0]) {
		case 'u':
			if (o.n_urls < CONFIG_MAX_URLS)
				o.urls[o.n_urls++] = v;
			break;
		case 'w':
			if (o.n_stop_words < CONFIG_MAX_STOP_WORDS)
				o.stop_words[o.n_stop_words++] = v;
			break;
		case 'q':
			o.quiet_ms = v;
			break;
		case 't':
			o.stop_timeout_ms = v;
			break;
		case 's':
			o.socket = v;
			break;
		case 'n':
			o.no_default_server = true;
			break;
		case 'p':
			file_set(&pw_file, v, strlen(v));
			o.password_file = pw_file.path;
			break;
		case 'U':
			set_env("OCSTOP_OPENCODE_URL", v);
			break;
		case 'P':
			set_env("OPENCODE_SERVER_PASSWORD", v);
			break;
		case 'm':
			messages[n_messages++] = v;
			break;
		}
	}

	if (config_load(&c, &o, &cause) == 0) {
		CHECK(cause == NULL);
		check_loaded(&c, o.no_default_server);
		for (i = 0; i < n_messages; i++)
			(void)config_is_stop_word(&c, messages[i], strlen(messages[i]));
		config_clear(&c);
	} else {
		/* Only a failed allocation leaves no cause. */
		CHECK(cause != NULL && cause[0] != '\0');
		check_cleared(&c);
		free(cause);
	}
	unsetenv("OCSTOP_OPENCODE_URL");
	unsetenv("OPENCODE_SERVER_PASSWORD");
	free(text);
	return 0;
}
