#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistd.h>
#include <unistr.h>

#include "core/config.h"
#include "proto.h"

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->quiet_ms = CONFIG_DEFAULT_QUIET_MS;
	c->stop_timeout_ms = CONFIG_DEFAULT_STOP_TIMEOUT_MS;
	c->idle_exit_s = CONFIG_DEFAULT_IDLE_EXIT_S;
}

static void free_words(struct config *c)
{
	size_t i;

	for (i = 0; i < c->n_stop_words; i++)
		free(c->stop_words[i]);
	c->n_stop_words = 0;
	c->max_match_len = 0;
}

void config_clear(struct config *c)
{
	size_t i;

	free(c->file);
	free(c->socket_path);
	for (i = 0; i < c->n_urls; i++)
		free(c->urls[i]);
	free(c->username);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free_words(c);
	memset(c, 0, sizeof(*c));
}

char *config_default_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char *path = NULL;

	if (xdg != NULL && xdg[0] == '/') {
		if (asprintf(&path, "%s/ocstop/config", xdg) < 0)
			return NULL;
	} else if (home != NULL && home[0] == '/') {
		if (asprintf(&path, "%s/.config/ocstop/config", home) < 0)
			return NULL;
	}
	return path;
}

/* Trim ASCII whitespace in place; returns the start. */
static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* What a stop word and a message are compared by (config.h): s's full
 * case folding after canonical decomposition, composed again (NFC), as
 * libunistring's u8_casefold() makes it. Returns its length in bytes, or -1
 * when s is not UTF-8 or its key does not fit out: then it is no stop word. */
static ssize_t stop_key(const char *s, size_t len, char out[CONFIG_MAX_STOP_KEY])
{
	size_t n = CONFIG_MAX_STOP_KEY;
	uint8_t *key;

	if (u8_check((const uint8_t *)s, len) != NULL)
		return -1;
	key = u8_casefold((const uint8_t *)s, len, NULL, UNINORM_NFC, (uint8_t *)out, &n);
	if (key == (uint8_t *)out)
		return (ssize_t)n;
	free(key); /* longer than any stop word's key, or out of memory */
	return -1;
}

/* Unicode White_Space at either end of valid UTF-8 s is skipped. */
static const char *trim_space(const char *s, size_t *len)
{
	const uint8_t *start = (const uint8_t *)s, *end = start + *len, *prev;
	ucs4_t uc;
	int n;

	while (start < end && (n = u8_mbtouc(&uc, start, (size_t)(end - start))) > 0 &&
	    uc_is_property_white_space(uc))
		start += n;
	while ((prev = u8_prev(&uc, end, start)) != NULL && uc_is_property_white_space(uc))
		end = prev;
	*len = (size_t)(end - start);
	return (const char *)start;
}

/* Any Unicode White_Space in valid UTF-8 s? */
static bool has_space(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;
	ucs4_t uc;
	int n;

	for (; p < end && (n = u8_mbtouc(&uc, p, (size_t)(end - p))) > 0; p += n)
		if (uc_is_property_white_space(uc))
			return true;
	return false;
}

int config_add_stop_word(struct config *c, const char *word, const char **cause)
{
	size_t len = strlen(word);
	char key[CONFIG_MAX_STOP_KEY], *copy;
	size_t nfd_len = 0;
	uint8_t *nfd;
	ssize_t key_len;

	if (len == 0 || len > CONFIG_MAX_STOP_LEN) {
		*cause = "a stop word must be 1 to 32 bytes";
		return -1;
	}
	if (u8_check((const uint8_t *)word, len) != NULL) {
		*cause = "a stop word must be UTF-8";
		return -1;
	}
	if (has_space(word, len)) {
		*cause = "a stop word cannot contain whitespace";
		return -1;
	}
	if (c->n_stop_words >= CONFIG_MAX_STOP_WORDS) {
		*cause = "too many stop words (at most 16)";
		return -1;
	}
	if ((key_len = stop_key(word, len, key)) < 0 ||
	    (nfd = u8_normalize(UNINORM_NFD, (const uint8_t *)key, (size_t)key_len, NULL,
		 &nfd_len)) == NULL) {
		*cause = "out of memory";
		return -1;
	}
	free(nfd);
	if ((copy = strndup(key, (size_t)key_len)) == NULL) {
		*cause = "out of memory";
		return -1;
	}
	c->stop_words[c->n_stop_words++] = copy;
	/* Decomposing and folding a text never makes it fewer code points,
	 * and none of those is longer in UTF-16 than in UTF-8: so no message
	 * longer than its key's NFD in bytes can match. */
	if (nfd_len > c->max_match_len)
		c->max_match_len = nfd_len;
	return 0;
}

/* config_set_stop_words(); *bad (caller frees; may be NULL) gets the word
 * that was refused. */
static int set_stop_words(struct config *c, const char *comma_list, const char **cause, char **bad)
{
	char *list = strdup(comma_list), *next, *tok;
	bool several = strchr(comma_list, ',') != NULL;
	int rc = 0;

	if (list == NULL) {
		*cause = "out of memory";
		return -1;
	}
	free_words(c);
	for (next = list; next != NULL && rc == 0;) {
		tok = strsep(&next, ",");
		tok = trim(tok);
		/* "x, " or "x,,y": a word lost to a typo, or to a '#' that
		 * started a comment ("x, #"), is said, not dropped. */
		if (*tok == '\0' && several) {
			*cause = "an empty word in the list (a '#' after a space starts a comment)";
			rc = -1;
			break;
		}
		if (*tok == '\0')
			continue;
		if ((rc = config_add_stop_word(c, tok, cause)) < 0) {
			/* Named in the error, unless it is no text to show. */
			if (bad != NULL && u8_check((const uint8_t *)tok, strlen(tok)) == NULL)
				*bad = strdup(tok);
			break;
		}
	}
	free(list);
	if (rc == 0 && c->n_stop_words == 0) {
		*cause = "stop_words is empty";
		rc = -1;
	}
	return rc;
}

int config_set_stop_words(struct config *c, const char *comma_list, const char **cause)
{
	return set_stop_words(c, comma_list, cause, NULL);
}

/* The '@' that ends the user info of url, or NULL; *host is where the
 * authority starts. */
static const char *url_userinfo_end(const char *url, const char **host)
{
	*host = strstr(url, "://");
	*host = *host != NULL ? *host + 3 : url;
	return memchr(*host, '@', strcspn(*host, "/?#"));
}

bool config_url_has_credentials(const char *url)
{
	const char *host;

	return url_userinfo_end(url, &host) != NULL;
}

/* A port from 1 to 65535, in decimal, from p up to end. */
static bool valid_port(const char *p, const char *end)
{
	long port = 0;

	if (p == end || end - p > 5)
		return false;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return false;
		port = port * 10 + (*p - '0');
	}
	return port >= 1 && port <= 65535;
}

/* The host of a URL, from p up to end: a name or an IPv4 address (letters,
 * digits, '-', '.', '_'), or an IPv6 address in brackets. Checked only for
 * its characters: whether it resolves is learnt when the daemon connects. */
static bool valid_host(const char *p, const char *end)
{
	bool ipv6 = p < end && *p == '[';
	unsigned char ch;

	if (ipv6) {
		if (end - p < 3 || end[-1] != ']')
			return false;
		p++;
		end--;
	}
	if (p == end)
		return false;
	for (; p < end; p++) {
		ch = (unsigned char)*p;
		if (ipv6 ? !(isxdigit(ch) || ch == ':' || ch == '.')
			 : !(isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
			return false;
	}
	return true;
}

/* Why url is no OpenCode URL (config.h), or NULL. Pure text: no lookup. */
static const char *url_refusal(const char *url)
{
	const char *host, *end, *colon, *p;

	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return "an OpenCode URL must start with http:// or https://";
	for (p = url; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20 || *p == 0x7f)
			return "an OpenCode URL cannot contain whitespace or control characters "
			       "(one URL per opencode_url line)";
	/* Refused, not stripped: by now it has been in argv, the environment
	 * or a file, and a URL is what logs and status show. */
	if (url_userinfo_end(url, &host) != NULL)
		return CONFIG_URL_CREDENTIALS;
	end = host + strcspn(host, "/?#");
	/* The port's colon is the last one, past an IPv6 address's brackets. */
	colon = memrchr(host, ':', (size_t)(end - host));
	if (colon != NULL && memchr(colon, ']', (size_t)(end - colon)) != NULL)
		colon = NULL;
	if (!valid_host(host, colon != NULL ? colon : end))
		return "an OpenCode URL needs a host: a name, an IPv4 address or an IPv6 address "
		       "in brackets (http://127.0.0.1:4096)";
	if (colon != NULL && !valid_port(colon + 1, end))
		return "an OpenCode URL's port must be a number from 1 to 65535";
	return NULL;
}

int config_add_url(struct config *c, const char *url, const char **cause)
{
	size_t i;

	if ((*cause = url_refusal(url)) != NULL)
		return -1;
	for (i = 0; i < c->n_urls; i++)
		if (strcmp(c->urls[i], url) == 0)
			return 0;
	if (c->n_urls >= CONFIG_MAX_URLS) {
		*cause = "too many OpenCode URLs (at most 32)";
		return -1;
	}
	if ((c->urls[c->n_urls] = strdup(url)) == NULL) {
		*cause = "out of memory";
		return -1;
	}
	c->n_urls++;
	return 0;
}

/* The URL as an error message may show it: without its credentials. */
static char *url_shown(const char *url)
{
	const char *host, *at = url_userinfo_end(url, &host);
	char *s;

	if (at == NULL)
		return strdup(url);
	if (asprintf(&s, "%.*s...%s", (int)(host - url), url, at) < 0)
		return NULL;
	return s;
}

/* A file the settings name, opened to read: a regular file only, since
 * reading a FIFO or a device could wait for ever, in a reload on the event
 * loop too. NULL with *why (static) and errno set. */
static FILE *open_regular(const char *path, const char **why)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		*why = strerror(errno);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		*why = strerror(errno);
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		*why = strerror(errno);
		close(fd);
	}
	return f;
}

int config_read_password_file(struct config *c, const char *path, char **cause)
{
	/* Room for the longest password, a CR LF, and a byte that tells a
	 * longer one. */
	char buf[PROTO_MAX_PASSWORD + 4];
	struct stat st;
	size_t n;
	const char *why = NULL;
	FILE *f = open_regular(path, &why);
	int rc = 0;

	*cause = NULL;
	if (f == NULL) {
		if (asprintf(cause, "%s: %s", path, why) < 0)
			*cause = NULL;
		return -1;
	}
	/* As ssh treats a private key: what others can read is no secret. */
	if (fstat(fileno(f), &st) < 0) {
		if (asprintf(cause, "%s: %s", path, strerror(errno)) < 0)
			*cause = NULL;
		fclose(f);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		fclose(f);
		if (asprintf(cause,
			"%s: others can read or change it (mode %04o); refusing it as a "
			"password file: chmod 600 it",
			path, (unsigned)(st.st_mode & 07777)) < 0)
			*cause = NULL;
		return -1;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The first line is the password; its line end is not. */
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	if (n == 0 || n > PROTO_MAX_PASSWORD) {
		if (asprintf(cause,
			"%s: the password (its first line) is empty or longer than %d bytes", path,
			PROTO_MAX_PASSWORD) < 0)
			*cause = NULL;
		rc = -1;
	} else {
		free(c->password);
		if ((c->password = strdup(buf)) == NULL) {
			*cause = strdup("out of memory");
			rc = -1;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static int parse_ms(const char *value, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* -1, with *why (caller frees) made from fmt. */
static int say(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int say(char **why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(why, fmt, ap) < 0)
		*why = NULL;
	va_end(ap);
	return -1;
}

/* A whole number of unit from min to max for key. */
static int parse_number(const char *key, const char *value, const char *unit, int64_t min,
    int64_t max, int64_t *out, char **why)
{
	if (parse_ms(value, min, max, out) == 0)
		return 0;
	return say(why, "%s: must be a whole number of %s from %lld to %lld, not '%s'", key, unit,
	    (long long)min, (long long)max, value);
}

static int parse_bool(const char *key, const char *value, bool *out, char **why)
{
	if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
		return say(why, "%s: must be true or false, not '%s'", key, value);
	*out = strcmp(value, "true") == 0;
	return 0;
}

/* A user name for HTTP Basic auth, which cannot hold a ':'. */
static int set_username(struct config *c, const char *value, char **why)
{
	const char *p;

	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ':')
			break;
	if (*value == '\0' || *p != '\0' || strlen(value) > CONFIG_MAX_USERNAME)
		return say(why, "username: must be 1 to %d bytes without ':' or control characters",
		    CONFIG_MAX_USERNAME);
	free(c->username);
	if ((c->username = strdup(value)) == NULL)
		return say(why, "out of memory");
	return 0;
}

/* Apply one line's key and value; -1 with *why (caller frees: "KEY: what is
 * wrong"; NULL when memory ran out). */
static int config_apply(struct config *c, const char *key, const char *value, char **why)
{
	const char *cause = NULL;
	char *bad = NULL, *err = NULL;
	bool verbose = false;
	int rc;

	if (strcmp(key, "stop_words") == 0) {
		if (set_stop_words(c, value, &cause, &bad) == 0)
			return 0;
		rc = bad != NULL ? say(why, "stop_words: '%s': %s", bad, cause)
				 : say(why, "stop_words: %s", cause);
		free(bad);
		return rc;
	}
	if (strcmp(key, "quiet_ms") == 0)
		return parse_number(key, value, "milliseconds", 0, CONFIG_MAX_QUIET_MS,
		    &c->quiet_ms, why);
	if (strcmp(key, "stop_timeout_ms") == 0)
		return parse_number(key, value, "milliseconds", CONFIG_MIN_STOP_TIMEOUT_MS,
		    CONFIG_MAX_STOP_TIMEOUT_MS, &c->stop_timeout_ms, why);
	if (strcmp(key, "idle_exit") == 0)
		return parse_number(key, value, "seconds", 0, CONFIG_MAX_IDLE_EXIT_S,
		    &c->idle_exit_s, why);
	if (strcmp(key, "x_force") == 0)
		return parse_bool(key, value, &c->x_force, why);
	if (strcmp(key, "verbose") == 0) {
		if (parse_bool(key, value, &verbose, why) < 0)
			return -1;
		/* Adds to -v; false leaves what the command line asked for. */
		if (verbose && c->verbosity < 1)
			c->verbosity = 1;
		return 0;
	}
	if (strcmp(key, "opencode_url") == 0) {
		if (config_add_url(c, value, &cause) == 0)
			return 0;
		if ((bad = url_shown(value)) == NULL)
			return say(why, "out of memory");
		rc = say(why, "opencode_url: %s: %s", bad, cause);
		free(bad);
		return rc;
	}
	if (strcmp(key, "username") == 0)
		return set_username(c, value, why);
	if (strcmp(key, "password_file") == 0) {
		if (config_read_password_file(c, value, &err) == 0)
			return 0;
		rc = say(why, "password_file: %s", err != NULL ? err : "out of memory");
		free(err);
		return rc;
	}
	return say(why, "unknown key '%s'", key);
}

/* A '#' at the start of s or after whitespace starts a comment: cut it. */
static void cut_comment(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
}

/* Keys a file may give once: a second line would silently replace the
 * first. opencode_url is the one that repeats. */
static const char *const once_keys[] = {
	"stop_words",
	"quiet_ms",
	"stop_timeout_ms",
	"idle_exit",
	"x_force",
	"verbose",
	"username",
	"password_file",
};
#define N_ONCE_KEYS (sizeof(once_keys) / sizeof(once_keys[0]))

/* -1 with *why when key was given before (its line in seen[]). */
static int given_once(const char *key, int lineno, int seen[N_ONCE_KEYS], char **why)
{
	size_t i;

	for (i = 0; i < N_ONCE_KEYS; i++) {
		if (strcmp(key, once_keys[i]) != 0)
			continue;
		if (seen[i] != 0)
			return say(why, "%s: given again (first on line %d)", key, seen[i]);
		seen[i] = lineno;
	}
	return 0;
}

int config_load_file(struct config *c, const char *path, bool must_exist, char **cause)
{
	char line[CONFIG_MAX_LINE + 2], *key, *value, *eq, *why = NULL;
	const char *open_why = NULL;
	int lineno = 0, rc = 0, seen[N_ONCE_KEYS] = { 0 };
	FILE *f = open_regular(path, &open_why);

	if (f == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (asprintf(cause, "%s: %s", path, open_why) < 0)
			*cause = NULL;
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strlen(line) > CONFIG_MAX_LINE) {
			rc = say(&why, "line too long (at most %d bytes)", CONFIG_MAX_LINE);
			break;
		}
		cut_comment(line);
		key = trim(line);
		if (*key == '\0')
			continue;
		if ((eq = strchr(key, '=')) == NULL) {
			rc = say(&why, "expected key = value");
			break;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if ((rc = config_apply(c, key, value, &why)) < 0 ||
		    (rc = given_once(key, lineno, seen, &why)) < 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = say(&why, "%s", strerror(errno));
	fclose(f);
	if (rc < 0) {
		if (asprintf(cause, "%s:%d: %s", path, lineno,
			why != NULL ? why : "out of memory") < 0)
			*cause = NULL;
		free(why);
		return -1;
	}
	free(c->file);
	if ((c->file = strdup(path)) == NULL) {
		*cause = strdup("out of memory");
		return -1;
	}
	return 0;
}

size_t config_max_stop_len(const struct config *c)
{
	return c->max_match_len;
}

/* Not all ASCII: ascii_key() leaves it to libunistring. */
#define KEY_NOT_ASCII (-2)

/* stop_key() of trim_space() of plain ASCII, the usual message, without
 * libunistring's passes and buffers: there White_Space is \t to \r and the
 * space, and case folding and NFC are the lower case of A to Z. -1 when
 * longer than a key, KEY_NOT_ASCII when s is not all ASCII. */
static ssize_t ascii_key(const char *s, size_t len, char out[CONFIG_MAX_STOP_KEY])
{
	const unsigned char *p = (const unsigned char *)s;
	size_t start = 0, end = len, i;

	for (i = 0; i < len; i++)
		if (p[i] >= 0x80)
			return KEY_NOT_ASCII;
	while (start < end && (p[start] == ' ' || (p[start] >= '\t' && p[start] <= '\r')))
		start++;
	while (end > start && (p[end - 1] == ' ' || (p[end - 1] >= '\t' && p[end - 1] <= '\r')))
		end--;
	if (end - start > CONFIG_MAX_STOP_KEY)
		return -1;
	for (i = start; i < end; i++)
		out[i - start] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
	return (ssize_t)(end - start);
}

bool config_is_stop_word(const struct config *c, const char *text, size_t len)
{
	char key[CONFIG_MAX_STOP_KEY];
	ssize_t key_len;
	size_t i;

	if ((key_len = ascii_key(text, len, key)) == KEY_NOT_ASCII) {
		if (u8_check((const uint8_t *)text, len) != NULL)
			return false;
		text = trim_space(text, &len);
		key_len = stop_key(text, len, key);
	}
	if (key_len < 0)
		return false;
	for (i = 0; i < c->n_stop_words; i++)
		if (strlen(c->stop_words[i]) == (size_t)key_len &&
		    memcmp(c->stop_words[i], key, (size_t)key_len) == 0)
			return true;
	return false;
}

static int fail(struct config *c, char **cause, const char *fmt, const char *a, const char *b)
{
	if (asprintf(cause, fmt, a, b) < 0)
		*cause = NULL;
	config_clear(c);
	return -1;
}

/* fail() for a bad URL, which is shown without its credentials. */
static int fail_url(struct config *c, char **cause, const char *where, const char *url,
    const char *why)
{
	char *shown = url_shown(url), *what = NULL;
	int rc;

	if (shown == NULL || asprintf(&what, "%s%s", where, shown) < 0)
		rc = fail(c, cause, "%s%s", "out of memory", "");
	else
		rc = fail(c, cause, "%s: %s", what, why);
	free(what);
	free(shown);
	return rc;
}

/* Replace *field with value when the environment gives a non-empty one and
 * nothing set it yet. */
static int from_env(char **field, const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0' || *field != NULL)
		return 0;
	return (*field = strdup(v)) == NULL ? -1 : 0;
}

static int add_env_urls(struct config *c, char **cause)
{
	const char *env = getenv("OCSTOP_OPENCODE_URL"), *why = NULL;
	char *list, *tok, *save = NULL;
	int rc = 0;

	if (env == NULL)
		return 0;
	if ((list = strdup(env)) == NULL)
		return fail(c, cause, "%s%s", "out of memory", "");
	for (tok = strtok_r(list, ", ", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ", ", &save))
		if (config_add_url(c, tok, &why) < 0)
			rc = fail_url(c, cause, "OCSTOP_OPENCODE_URL: ", tok, why);
	free(list);
	return rc;
}

static int apply_overrides(struct config *c, const struct config_overrides *o, char **cause)
{
	const char *why = NULL;
	size_t i;

	for (i = 0; i < o->n_urls; i++)
		if (config_add_url(c, o->urls[i], &why) < 0)
			return fail_url(c, cause, "", o->urls[i], why);
	if (c->n_urls == 0 && !o->no_default_server) {
		if (config_add_url(c, CONFIG_DEFAULT_URL, &why) < 0)
			return fail(c, cause, "%s: %s", CONFIG_DEFAULT_URL, why);
		c->url_is_default = true;
	}
	if (o->n_stop_words > 0) {
		free_words(c);
		for (i = 0; i < o->n_stop_words; i++)
			if (config_add_stop_word(c, o->stop_words[i], &why) < 0)
				return fail(c, cause, "--stop-word %s: %s", o->stop_words[i], why);
	}
	if (o->quiet_ms != NULL && parse_ms(o->quiet_ms, 0, CONFIG_MAX_QUIET_MS, &c->quiet_ms) < 0)
		return fail(c, cause, "--quiet-ms must be a number of milliseconds from 0 to %s%s",
		    "10000", "");
	if (o->stop_timeout_ms != NULL &&
	    parse_ms(o->stop_timeout_ms, CONFIG_MIN_STOP_TIMEOUT_MS, CONFIG_MAX_STOP_TIMEOUT_MS,
		&c->stop_timeout_ms) < 0)
		return fail(c, cause,
		    "--stop-timeout-ms must be a number of milliseconds from %s to %s", "100",
		    "60000");
	if (o->idle_exit != NULL &&
	    parse_ms(o->idle_exit, 0, CONFIG_MAX_IDLE_EXIT_S, &c->idle_exit_s) < 0)
		return fail(c, cause, "--idle-exit must be a number of seconds from %s to %s", "0",
		    "86400");
	return 0;
}

static int set_socket(struct config *c, const char *given, char **cause)
{
	char path[PROTO_MAX_SOCKET_PATH + 1];
	const char *why = NULL;

	if (given == NULL) {
		if (proto_socket_path(path, sizeof(path), &why) < 0)
			return fail(c, cause, "%s%s", why, "");
		given = path;
	}
	if ((c->socket_path = strdup(given)) == NULL)
		return fail(c, cause, "%s%s", "out of memory", "");
	return 0;
}

int config_load(struct config *c, const struct config_overrides *o, char **cause)
{
	char *path = o->config_file != NULL ? strdup(o->config_file) : config_default_path();
	const char *why = NULL;
	int rc;

	*cause = NULL;
	config_init(c);
	c->verbosity = o->verbosity;
	if (config_add_stop_word(c, CONFIG_DEFAULT_STOP_WORD, &why) < 0) {
		free(path);
		return fail(c, cause, "%s%s", why, "");
	}
	rc = path != NULL ? config_load_file(c, path, o->config_file != NULL, cause) : 0;
	free(path);
	if (rc < 0) {
		config_clear(c);
		return -1;
	}
	if (from_env(&c->password, "OPENCODE_SERVER_PASSWORD") < 0 ||
	    from_env(&c->username, "OPENCODE_SERVER_USERNAME") < 0)
		return fail(c, cause, "%s%s", "out of memory", "");
	if (o->password_file != NULL && config_read_password_file(c, o->password_file, cause) < 0) {
		config_clear(c);
		return -1;
	}
	if (add_env_urls(c, cause) < 0 || apply_overrides(c, o, cause) < 0)
		return -1;
	return set_socket(c, o->socket, cause);
}
