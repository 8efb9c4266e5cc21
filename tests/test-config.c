/*
 * Settings: stop-word matching and validation, and config files written to
 * a private temporary directory, each error checked for "PATH:LINE: reason".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <unictype.h>

#include "core/config.h"
#include "proto.h"

/* A config with the daemon's built-in stop word, as main.c sets it up. */
static void init_default(struct config *c)
{
	const char *why = NULL;

	config_init(c);
	assert_int_equal(config_add_stop_word(c, "x", &why), 0);
}

/*
 * Prints LABEL and TEXT quoted as a TAP comment line, with control characters, quotes and
 * backslashes escaped: a raw newline would end the comment and leave the rest as stray output.
 */
static void print_case(const char *label, const char *text)
{
	char buf[160];
	size_t n = 0;

	for (; *text != '\0' && n + 5 < sizeof(buf); text++) {
		unsigned char ch = (unsigned char)*text;

		if (ch == '\n' || ch == '\r' || ch == '\t' || ch == '"' || ch == '\\') {
			buf[n++] = '\\';
			buf[n++] = ch == '\n' ? 'n'
			    : ch == '\r'      ? 'r'
			    : ch == '\t'      ? 't'
					      : (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\\x%02x", ch);
		} else {
			buf[n++] = (char)ch;
		}
	}
	buf[n] = '\0';
	print_message("# %s\"%s%s\"\n", label, buf, *text != '\0' ? "..." : "");
}

static bool is_stop(const struct config *c, const char *text)
{
	return config_is_stop_word(c, text, strlen(text));
}

static void test_stop_word_default(void **state)
{
	static const struct {
		const char *text;
		bool match;
	} cases[] = {
		{ "x", true },
		{ "X", true },
		{ " X\n", true },
		{ "\tx ", true },
		{ "\r\n x \r\n", true },
		{ "xx", false },
		{ "x y", false },
		{ "fix", false },
		{ "X.", false },
		{ "x!", false },
		{ "", false },
		{ " ", false },
		{ "\n\t", false },
		{ "y", false },
		{ "stop", false },
	};
	struct config c;
	size_t i;

	(void)state;
	init_default(&c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case("", cases[i].text);
		assert_int_equal(is_stop(&c, cases[i].text), cases[i].match);
	}
	config_clear(&c);
}

/* Only len bytes count: the text need not end there. */
static void test_stop_word_len(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		bool match;
	} cases[] = {
		{ "xyz", 1, true },
		{ "x and more", 2, true },
		{ " X\nsomething", 3, true },
		{ "xyz", 2, false },
		{ "xyz", 0, false },
	};
	struct config c;
	size_t i;

	(void)state;
	init_default(&c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(config_is_stop_word(&c, cases[i].text, cases[i].len),
		    cases[i].match);
	config_clear(&c);
}

/* Plain ASCII text takes a path of its own: every byte around a word is
 * trimmed exactly when Unicode says it is White_Space, and its case folds
 * as Unicode folds it, also onto words written with other letters. */
static void test_stop_word_ascii(void **state)
{
	static const struct {
		const char *words, *text;
	} folds[] = {
		{ "\u212a", "k" }, /* KELVIN SIGN folds to k */
		{ "\u212a", "K" },
		{ "\u00df", "SS" }, /* sharp s folds to ss */
		{ "stop", "sToP" },
		{ "q,z", "Z" },
	};
	const char *why = NULL;
	struct config c;
	char text[3];
	int ch;
	size_t i;

	(void)state;
	init_default(&c);
	for (ch = 0; ch < 0x80; ch++) {
		text[0] = text[2] = (char)ch;
		text[1] = 'X';
		assert_int_equal(config_is_stop_word(&c, text, 3), uc_is_property_white_space(ch));
	}
	for (i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
		assert_int_equal(config_set_stop_words(&c, folds[i].words, &why), 0);
		print_case("", folds[i].text);
		assert_true(is_stop(&c, folds[i].text));
	}
	config_clear(&c);
}

static void test_stop_words_several(void **state)
{
	static const struct {
		const char *text;
		bool match;
	} cases[] = {
		{ "x", true },
		{ "stop", true },
		{ "STOP", true },
		{ " Stop\r\n", true },
		{ "halt", true },
		{ "x, stop", false },
		{ "stopx", false },
		{ "sto", false },
		{ "stop stop", false },
	};
	const char *why = NULL;
	struct config c;
	size_t i;

	(void)state;
	init_default(&c);
	/* Replaces the default; case and spaces around words do not matter. */
	assert_int_equal(config_set_stop_words(&c, "stop, HALT ,x", &why), 0);
	assert_int_equal(c.n_stop_words, 3);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case("", cases[i].text);
		assert_int_equal(is_stop(&c, cases[i].text), cases[i].match);
	}
	assert_int_equal(config_max_stop_len(&c), 4);

	assert_int_equal(config_set_stop_words(&c, "halt", &why), 0);
	assert_false(is_stop(&c, "x"));
	assert_false(is_stop(&c, "stop"));
	assert_true(is_stop(&c, "HALT"));
	config_clear(&c);
}

static void test_stop_words_invalid(void **state)
{
	static const struct {
		const char *list;
		const char *cause; /* a word the reason must contain */
	} cases[] = {
		{ "", "empty" }, { " ", "empty" }, { ",", "empty word" },
		{ "x, ,stop", "empty word" }, { "a b", "whitespace" }, { "x,a\tb", "whitespace" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1 to 32" },  /* 33 bytes */
		{ "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "too many" }, /* 17 words */
	};
	static const struct {
		const char *word;
		const char *cause;
	} words[] = {
		{ "", "1 to 32" },
		{ "a b", "whitespace" },
		{ " a", "whitespace" },
		{ "a\n", "whitespace" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1 to 32" },
	};
	const char *why;
	struct config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case("list ", cases[i].list);
		init_default(&c);
		why = NULL;
		assert_int_equal(config_set_stop_words(&c, cases[i].list, &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, cases[i].cause));
		config_clear(&c);
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		print_case("word ", words[i].word);
		init_default(&c);
		why = NULL;
		assert_int_equal(config_add_stop_word(&c, words[i].word, &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, words[i].cause));
		/* The refused word is not half-added. */
		assert_int_equal(c.n_stop_words, 1);
		assert_true(is_stop(&c, "x"));
		config_clear(&c);
	}
}

/* The bounds themselves are allowed: 32 bytes, 16 words. */
static void test_stop_words_bounds(void **state)
{
	const char *word32 = "abcdefghijklmnopqrstuvwxyz012345";
	const char *why = NULL;
	struct config c;

	(void)state;
	config_init(&c);
	assert_int_equal(config_max_stop_len(&c), 0);
	assert_false(is_stop(&c, "x"));
	assert_false(is_stop(&c, ""));

	assert_int_equal(strlen(word32), 32);
	assert_int_equal(config_set_stop_words(&c, word32, &why), 0);
	assert_int_equal(config_max_stop_len(&c), 32);
	assert_true(is_stop(&c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"));

	assert_int_equal(config_set_stop_words(&c, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p", &why), 0);
	assert_int_equal(c.n_stop_words, 16);
	assert_true(is_stop(&c, "P"));
	assert_int_equal(config_max_stop_len(&c), 1);
	assert_int_equal(config_add_stop_word(&c, "q", &why), -1);
	assert_non_null(strstr(why, "too many"));
	assert_false(is_stop(&c, "q"));
	config_clear(&c);
}

/*
 * Stop words in Unicode: a message matches when it equals a stop word under full case folding
 * and canonical equivalence (config.h). tests/js/stop-word.test.mjs runs the shim's matcher over
 * the same kinds of cases against this one.
 */
static void test_stop_words_unicode(void **state)
{
	static const struct {
		const char *words; /* the whole list */
		const char *text;
		bool match;
	} cases[] = {
		/* Cyrillic */
		{ "стоп", "стоп", true },
		{ "стоп", "СТОП", true },
		{ "СТОП", "Стоп", true },
		{ "стоп", " стоп\n", true },
		{ "стоп", "\u00a0стоп\u3000", true }, /* no-break and ideographic spaces */
		{ "стоп", "стоп!", false },
		{ "стоп", "стопп", false },
		{ "стоп", "cтоп", false }, /* a Latin c */
		{ "ёж", "ЁЖ", true },
		{ "ёж", "е\u0308ж", true }, /* ё decomposed */
		{ "ёж", "еж", false },
		/* Greek, final sigma included */
		{ "ΣΤΟΠ", "στοπ", true },
		{ "στοπ", "Στοπ", true },
		{ "σας", "ΣΑΣ", true },
		{ "σας", "σασ", true },
		{ "ΣΑΣ", "σας", true },
		{ "άλτ", "ΆΛΤ", true },
		{ "άλτ", "αλτ", false },
		/* Latin with accents, composed or not */
		{ "café", "CAFÉ", true },
		{ "café", "cafe\u0301", true },
		{ "cafe\u0301", "CAFÉ", true },
		{ "café", "cafe", false },
		{ "café", "cafè", false },
		{ "ǖ", "u\u0308\u0304", true },
		{ "ǖ", "Ǖ", true },
		/* German sharp s: full folding, so ß, ẞ and ss are one */
		{ "straße", "STRASSE", true },
		{ "straße", "strasse", true },
		{ "straße", "STRAẞE", true },
		{ "STRASSE", "Straße", true },
		{ "ss", "ß", true },
		{ "straße", "strase", false },
		/* Turkish i: the default mappings, not the Turkic ones */
		{ "i", "I", true },
		{ "i", "ı", false },
		{ "i", "İ", false },
		{ "ı", "ı", true },
		{ "ı", "I", false },
		{ "ı", "i", false },
		{ "İ", "İ", true },
		{ "İ", "i\u0307", true },
		{ "İ", "I\u0307", true },
		{ "İ", "i", false },
		/* Other scripts */
		{ "ա", "Ա", true },      /* Armenian */
		{ "ⴀ", "Ⴀ", true },      /* Georgian */
		{ "ﬃ", "FFI", true },    /* a ligature folds to its letters */
		{ "k", "\u212a", true }, /* the Kelvin sign */
		{ "停", "停", true },    /* no case */
		{ "停", "停止", false },
		{ "x", "\U0001D465", false }, /* a mathematical x is another letter */
		/* ASCII still */
		{ "x", "X", true },
		{ "stop,x", "x", true },
		{ "стоп,x", "X", true },
		{ "стоп,x", "СТОП", true },
	};
	const char *why = NULL;
	struct config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case(cases[i].words, cases[i].text);
		config_init(&c);
		assert_int_equal(config_set_stop_words(&c, cases[i].words, &why), 0);
		assert_int_equal(is_stop(&c, cases[i].text), cases[i].match);
		config_clear(&c);
	}
}

/* Bytes that are not UTF-8 are never a stop word, and never a crash. */
static void test_stop_words_bad_utf8(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} texts[] = {
		{ "x\xff", 2 }, { "\xffx", 2 }, { "\xff", 1 }, { "\xc3", 1 }, /* a cut sequence */
		{ "\xc0\xb8", 2 },                                            /* an overlong x */
		{ "\xed\xa0\x80", 3 },                                        /* a surrogate */
		{ "\xf4\x90\x80\x80", 4 }, { " \x80 ", 3 },
		{ "\xd1\x81\xd1\x82\xd0\xbe\xd0", 7 }, /* "сто" then a cut "п" */
	};
	static const char *words[] = { "\xff", "x\x80", "\xc3", "\xd1\x81\xd1" };
	const char *why = NULL;
	struct config c;
	size_t i;

	(void)state;
	config_init(&c);
	assert_int_equal(config_set_stop_words(&c, "x,стоп", &why), 0);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		assert_false(config_is_stop_word(&c, texts[i].text, texts[i].len));
	/* Only len bytes count: a character cut there is not UTF-8. */
	assert_false(config_is_stop_word(&c, "стоп", 7));
	assert_true(config_is_stop_word(&c, "стоп", 8));
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		print_case("word ", words[i]);
		why = NULL;
		assert_int_equal(config_add_stop_word(&c, words[i], &why), -1);
		assert_non_null(why);
		assert_non_null(strstr(why, "UTF-8"));
	}
	assert_int_equal(c.n_stop_words, 2);
	/* A space of another script is still a space. */
	assert_int_equal(config_add_stop_word(&c, "a\u00a0b", &why), -1);
	assert_non_null(strstr(why, "whitespace"));
	assert_int_equal(config_add_stop_word(&c, "\u3000a", &why), -1);
	assert_non_null(strstr(why, "whitespace"));
	config_clear(&c);
}

/* max_len bounds what the shim counts (UTF-16 code units of the trimmed message) for every
 * message that can match: a decomposed or unfolded form may be longer than the word. */
static void test_stop_words_max_len(void **state)
{
	static const struct {
		const char *words;
		size_t max;
	} cases[] = {
		{ "x", 1 }, { "стоп", 8 }, /* already decomposed */
		{ "ǖ", 5 },                /* u, U+0308, U+0304: three code points, five bytes */
		{ "café,x", 6 },           /* e and U+0301 */
		{ "straße", 7 },           /* "strasse" */
		{ "ﬃ", 3 },                /* "ffi" */
		{ "İ", 3 },                /* i and U+0307 */
	};
	const char *why = NULL;
	struct config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case("", cases[i].words);
		config_init(&c);
		assert_int_equal(config_set_stop_words(&c, cases[i].words, &why), 0);
		assert_int_equal(config_max_stop_len(&c), cases[i].max);
		config_clear(&c);
	}
	/* "ǖ" fully decomposed is three code units, more than its two bytes. */
	config_init(&c);
	assert_int_equal(config_set_stop_words(&c, "ǖ", &why), 0);
	assert_true(is_stop(&c, "u\u0308\u0304"));
	assert_true(3 <= config_max_stop_len(&c));
	config_clear(&c);
}

/* A private directory for config files, removed at teardown. */
struct files {
	char dir[64];
	char paths[8][128];
	size_t n;
};

static int setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ocstop-test-config.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct files *f = *state;
	size_t i;

	for (i = 0; i < f->n; i++)
		unlink(f->paths[i]);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Write (or rewrite) a file named name in the private directory; returns
 * its path. */
static const char *write_file(struct files *f, const char *name, const char *content)
{
	char want[128], *path = NULL;
	size_t i;
	FILE *fp;

	snprintf(want, sizeof(want), "%s/%s", f->dir, name);
	for (i = 0; i < f->n; i++)
		if (strcmp(f->paths[i], want) == 0)
			path = f->paths[i];
	if (path == NULL) {
		assert_true(f->n < 8);
		path = f->paths[f->n++];
		strcpy(path, want);
	}
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(content, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	/* Private, as a password file must be; tests that want it open say so. */
	assert_int_equal(chmod(path, 0600), 0);
	return path;
}

/* Stop words in other scripts from the file; bytes that are not UTF-8 are
 * refused with the line. */
static void test_load_file_unicode(void **state)
{
	struct files *f = *state;
	const char *path = write_file(f, "uni", "stop_words = стоп, Straße\n");
	char *cause = NULL, want[256];
	struct config c;

	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), 0);
	assert_true(is_stop(&c, "СТОП"));
	assert_true(is_stop(&c, "STRASSE"));
	assert_false(is_stop(&c, "x"));
	config_clear(&c);

	path = write_file(f, "bad", "# not UTF-8\nstop_words = x, st\xf6p\n");
	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), -1);
	snprintf(want, sizeof(want), "%s:2: stop_words: a stop word must be UTF-8", path);
	assert_string_equal(cause, want);
	free(cause);
	config_clear(&c);
}

static void test_load_file(void **state)
{
	struct files *f = *state;
	const char *pw = write_file(f, "pw", "s3cret\nignored second line\n");
	char content[1024], *cause = NULL;
	const char *path;
	struct config c;
	size_t i;
	bool has_url = false;

	snprintf(content, sizeof(content),
	    "# ocstop settings\n"
	    "\n"
	    "   \t\n"
	    "  stop_words = halt, Stop \n"
	    "quiet_ms=250\n"
	    "\tstop_timeout_ms = 5000\n"
	    "x_force = true\n"
	    "opencode_url = http://127.0.0.1:5000\n"
	    "   # an indented comment = not a key\n"
	    "username = alice\n"
	    "password_file = %s\n",
	    pw);
	path = write_file(f, "config", content);

	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), 0);
	assert_null(cause);
	assert_int_equal(c.n_stop_words, 2);
	assert_true(is_stop(&c, "halt"));
	assert_true(is_stop(&c, "STOP"));
	assert_false(is_stop(&c, "x"));
	assert_int_equal(c.quiet_ms, 250);
	assert_int_equal(c.stop_timeout_ms, 5000);
	assert_true(c.x_force);
	for (i = 0; i < c.n_urls; i++)
		if (strcmp(c.urls[i], "http://127.0.0.1:5000") == 0)
			has_url = true;
	assert_true(has_url);
	assert_string_equal(c.username, "alice");
	assert_string_equal(c.password, "s3cret");
	config_clear(&c);

	/* Untouched keys keep their defaults. */
	path = write_file(f, "partial", "quiet_ms = 0\n");
	init_default(&c);
	assert_int_equal(config_load_file(&c, path, false, &cause), 0);
	assert_int_equal(c.quiet_ms, 0);
	assert_int_equal(c.stop_timeout_ms, 3000);
	assert_false(c.x_force);
	assert_true(is_stop(&c, "x"));
	assert_null(c.username);
	assert_null(c.password);
	assert_int_equal(c.n_urls, 0);
	config_clear(&c);
}

/* Values at the edges of their ranges are accepted. */
static void test_load_file_bounds(void **state)
{
	static const struct {
		const char *content;
		int64_t quiet_ms, stop_timeout_ms;
	} cases[] = {
		{ "quiet_ms = 0\n", 0, 3000 },
		{ "quiet_ms = 10000\n", 10000, 3000 },
		{ "stop_timeout_ms = 100\n", 100, 100 },
		{ "stop_timeout_ms = 60000", 100, 60000 }, /* no final newline */
		{ "", 100, 3000 },
	};
	struct files *f = *state;
	const char *path;
	char *cause = NULL;
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		config_init(&c);
		path = write_file(f, "bounds", cases[i].content);
		assert_int_equal(config_load_file(&c, path, true, &cause), 0);
		assert_int_equal(c.quiet_ms, cases[i].quiet_ms);
		assert_int_equal(c.stop_timeout_ms, cases[i].stop_timeout_ms);
		config_clear(&c);
	}
}

static void test_load_file_errors(void **state)
{
	static const struct {
		const char *content;
		int line;
		const char *reason; /* must appear after "PATH:LINE: " */
	} cases[] = {
		{ "bogus = 1\n", 1, "unknown key" },
		{ "# a comment\n\nquiet_ms = 50\nstop_words\n", 4, "expected key = value" },
		{ "= x\n", 1, "unknown key" },
		{ "Quiet_ms = 50\n", 1, "unknown key" },
		{ "quiet_ms = abc\n", 1, "quiet_ms" },
		{ "quiet_ms = 12ms\n", 1, "quiet_ms" },
		{ "quiet_ms =\n", 1, "quiet_ms" },
		{ "quiet_ms = -1\n", 1, "quiet_ms" },
		{ "quiet_ms = 10001\n", 1, "quiet_ms" },
		{ "quiet_ms = 99999999999999999999999\n", 1, "quiet_ms" },
		{ "\n\nstop_timeout_ms = 99\n", 3, "stop_timeout_ms" },
		{ "stop_timeout_ms = 60001\n", 1, "stop_timeout_ms" },
		{ "x_force = yes\n", 1, "x_force: must be true or false, not 'yes'" },
		{ "x_force =\n", 1, "x_force" },
		{ "opencode_url = ftp://host/\n", 1, "http://" },
		{ "opencode_url = http://u:pw@host:1\n", 1, CONFIG_URL_CREDENTIALS },
		{ "opencode_url = http://u@host:1/\n", 1, CONFIG_URL_CREDENTIALS },
		{ "stop_words = a b\n", 1, "whitespace" },
		{ "stop_words =\n", 1, "empty" },
		{ "password_file = /nonexistent/ocstop-pw\n", 1, "/nonexistent/ocstop-pw" },
		{ "quiet_ms = 5\nquiet_ms = 5 5\n", 2, "quiet_ms" },
	};
	struct files *f = *state;
	char want[256], *cause;
	const char *path;
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# error case %zu\n", i + 1);
		path = write_file(f, "bad", cases[i].content);
		init_default(&c);
		cause = NULL;
		assert_int_equal(config_load_file(&c, path, false, &cause), -1);
		assert_non_null(cause);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		assert_int_equal(strncmp(cause, want, strlen(want)), 0);
		assert_non_null(strstr(cause + strlen(want), cases[i].reason));
		free(cause);
		config_clear(&c);
	}
}

/* The password is the first line, up to PROTO_MAX_PASSWORD bytes without
 * its line end. */
static void test_password_file_bounds(void **state)
{
	static const struct {
		size_t len;
		const char *end;
		bool ok;
	} cases[] = {
		{ 1, "", true },
		{ PROTO_MAX_PASSWORD, "", true },
		{ PROTO_MAX_PASSWORD, "\n", true },
		{ PROTO_MAX_PASSWORD, "\r\n", true },
		{ PROTO_MAX_PASSWORD, "\nsecond line\n", true },
		{ PROTO_MAX_PASSWORD + 1, "", false },
		{ PROTO_MAX_PASSWORD + 1, "\n", false },
		{ PROTO_MAX_PASSWORD + 3, "\n", false },
		{ 0, "\n", false },
		{ 0, "", false },
	};
	struct files *f = *state;
	char content[PROTO_MAX_PASSWORD + 32], *cause;
	const char *path;
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# password of %zu bytes then \"%s\"\n", cases[i].len,
		    cases[i].end[0] == '\n'       ? "LF"
			: cases[i].end[0] == '\r' ? "CR LF"
						  : "");
		memset(content, 'p', cases[i].len);
		strcpy(content + cases[i].len, cases[i].end);
		path = write_file(f, "pw", content);
		init_default(&c);
		cause = NULL;
		if (cases[i].ok) {
			assert_int_equal(config_read_password_file(&c, path, &cause), 0);
			assert_null(cause);
			assert_int_equal(strlen(c.password), cases[i].len);
		} else {
			assert_int_equal(config_read_password_file(&c, path, &cause), -1);
			assert_non_null(strstr(cause, "is empty or longer than 1024 bytes"));
			assert_null(c.password);
			free(cause);
		}
		config_clear(&c);
	}
}

/* As ssh does with a private key: a file that others can read or change is
 * refused, and the password in it is not taken. */
static void test_password_file_mode(void **state)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	struct files *f = *state;
	const char *path = write_file(f, "pw", "s3cret\n");
	char want[256], *cause = NULL;
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		assert_int_equal(chmod(path, modes[i]), 0);
		init_default(&c);
		assert_int_equal(config_read_password_file(&c, path, &cause), -1);
		snprintf(want, sizeof(want),
		    "%s: others can read or change it (mode %04o); refusing it as a password file: "
		    "chmod 600 it",
		    path, (unsigned)modes[i]);
		assert_string_equal(cause, want);
		assert_null(c.password);
		free(cause);
		config_clear(&c);
	}
	assert_int_equal(chmod(path, 0400), 0);
	init_default(&c);
	assert_int_equal(config_read_password_file(&c, path, &cause), 0);
	assert_string_equal(c.password, "s3cret");
	config_clear(&c);
}

/* Credentials in a server URL are refused wherever the URL comes from, and
 * the error shows the URL without them. */
static void test_url_credentials(void **state)
{
	static const struct {
		const char *url, *shown;
	} bad[] = {
		{ "http://u:s3cret@127.0.0.1:4096", "http://...@127.0.0.1:4096: " },
		{ "https://u:s3cret@host/path", "https://...@host/path: " },
		{ "http://:s3cret@host", "http://...@host: " },
		{ "http://s3cret@host?q", "http://...@host?q: " },
	};
	struct config_overrides o = { .no_default_server = true };
	char *cause = NULL;
	const char *why;
	struct config c;
	size_t i;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	unsetenv("OCSTOP_OPENCODE_URL");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_case("URL ", bad[i].url);
		init_default(&c);
		why = NULL;
		assert_int_equal(config_add_url(&c, bad[i].url, &why), -1);
		assert_string_equal(why, CONFIG_URL_CREDENTIALS);
		assert_int_equal(c.n_urls, 0);
		config_clear(&c);
		o.urls[0] = bad[i].url;
		o.n_urls = 1;
		assert_int_equal(config_load(&c, &o, &cause), -1);
		assert_int_equal(strncmp(cause, bad[i].shown, strlen(bad[i].shown)), 0);
		assert_string_equal(cause + strlen(bad[i].shown), CONFIG_URL_CREDENTIALS);
		free(cause);
		o.n_urls = 0;
		setenv("OCSTOP_OPENCODE_URL", bad[i].url, 1);
		assert_int_equal(config_load(&c, &o, &cause), -1);
		assert_null(strstr(cause, "s3cret"));
		assert_int_equal(strncmp(cause, "OCSTOP_OPENCODE_URL: ", 21), 0);
		assert_non_null(strstr(cause, bad[i].shown));
		free(cause);
		unsetenv("OCSTOP_OPENCODE_URL");
	}
	/* An @ past the host is not user info. */
	init_default(&c);
	assert_int_equal(config_add_url(&c, "http://host:1/a@b", &why), 0);
	assert_int_equal(config_add_url(&c, "http://host:2?to=a@b", &why), 0);
	assert_int_equal(c.n_urls, 2);
	config_clear(&c);
	unsetenv("XDG_CONFIG_HOME");
}

/* A line past the 1024-byte bound is refused, not split. */
static void test_load_file_long_line(void **state)
{
	struct files *f = *state;
	char content[2100], *cause = NULL;
	const char *path;
	struct config c;

	memset(content, '#', sizeof(content) - 2);
	content[sizeof(content) - 2] = '\n';
	content[sizeof(content) - 1] = '\0';
	path = write_file(f, "long", content);
	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, ":1: "));
	assert_non_null(strstr(cause, "too long"));
	free(cause);
	config_clear(&c);
}

static void test_load_file_missing(void **state)
{
	struct files *f = *state;
	char path[160], *cause = NULL;
	struct config c;

	snprintf(path, sizeof(path), "%s/does-not-exist", f->dir);
	init_default(&c);
	assert_int_equal(config_load_file(&c, path, false, &cause), 0);
	assert_null(cause);
	assert_int_equal(c.quiet_ms, 100);
	assert_true(is_stop(&c, "x"));

	assert_int_equal(config_load_file(&c, path, true, &cause), -1);
	assert_non_null(cause);
	assert_int_equal(strncmp(cause, path, strlen(path)), 0);
	free(cause);
	config_clear(&c);
}

/* A '#' at the start of a line or after whitespace starts a comment, on a
 * line with a key too; one inside a value is part of it. */
static void test_load_file_comments(void **state)
{
	struct files *f = *state;
	const char *path = write_file(f, "comments",
	    "stop_words = x, stop   # whole message, trimmed\n"
	    "opencode_url = http://127.0.0.1:5000 # repeatable\n"
	    "opencode_url = http://127.0.0.1:5001\t# a tab before it\n"
	    "quiet_ms = 250 #\n"
	    "x_force = true#glued\n");
	const char *glued = write_file(f, "glued", "stop_words = c#, f#\nusername = bob#1 # me\n");
	char *cause = NULL, want[256];
	struct config c;

	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), -1);
	snprintf(want, sizeof(want), "%s:5: x_force: must be true or false, not 'true#glued'",
	    path);
	assert_string_equal(cause, want);
	free(cause);
	config_clear(&c);

	path = write_file(f, "comments",
	    "stop_words = x, stop   # whole message, trimmed\n"
	    "opencode_url = http://127.0.0.1:5000 # repeatable\n"
	    "opencode_url = http://127.0.0.1:5001\t# a tab before it\n"
	    "quiet_ms = 250 #\n");
	init_default(&c);
	assert_int_equal(config_load_file(&c, path, true, &cause), 0);
	assert_int_equal(c.n_stop_words, 2);
	assert_true(is_stop(&c, "x"));
	assert_true(is_stop(&c, "STOP"));
	assert_int_equal(c.n_urls, 2);
	assert_string_equal(c.urls[0], "http://127.0.0.1:5000");
	assert_string_equal(c.urls[1], "http://127.0.0.1:5001");
	assert_int_equal(c.quiet_ms, 250);
	assert_string_equal(c.file, path);
	config_clear(&c);

	init_default(&c);
	assert_int_equal(config_load_file(&c, glued, true, &cause), 0);
	assert_true(is_stop(&c, "c#"));
	assert_true(is_stop(&c, "F#"));
	assert_false(is_stop(&c, "c"));
	assert_string_equal(c.username, "bob#1");
	config_clear(&c);
}

/* Every error names the file, the line and the key, and says what is
 * wrong, in those words. */
static void test_load_file_error_text(void **state)
{
	static const struct {
		const char *content, *error; /* after "PATH:" */
	} cases[] = {
		{ "bogus = 1\n", "1: unknown key 'bogus'" },
		{ "\nstop_word = x # singular\n", "2: unknown key 'stop_word'" },
		{ "stop_words = x, a b\n",
		    "1: stop_words: 'a b': a stop word cannot contain whitespace" },
		{ "stop_words = x, 0123456789012345678901234567890123\n",
		    "1: stop_words: '0123456789012345678901234567890123': a stop word must be 1 to 32 "
		    "bytes" },
		{ "stop_words = # none\n", "1: stop_words: stop_words is empty" },
		{ "stop_words = x, # and y\n",
		    "1: stop_words: an empty word in the list (a '#' after a space starts a comment)" },
		{ "stop_words = x,,y\n",
		    "1: stop_words: an empty word in the list (a '#' after a space starts a comment)" },
		{ "stop_words = x\nquiet_ms = 5\nstop_words = y\n",
		    "3: stop_words: given again (first on line 1)" },
		{ "x_force = true\n\nx_force = false\n",
		    "3: x_force: given again (first on line 1)" },
		{ "quiet_ms = 5 5\n",
		    "1: quiet_ms: must be a whole number of milliseconds from 0 to "
		    "10000, not '5 5'" },
		{ "stop_timeout_ms = 99\n",
		    "1: stop_timeout_ms: must be a whole number of "
		    "milliseconds from 100 to 60000, not '99'" },
		{ "idle_exit = -1\n",
		    "1: idle_exit: must be a whole number of seconds from 0 to 86400, not '-1'" },
		{ "idle_exit = 86401\n",
		    "1: idle_exit: must be a whole number of seconds from 0 to 86400, not '86401'" },
		{ "x_force = 1\n", "1: x_force: must be true or false, not '1'" },
		{ "verbose = yes\n", "1: verbose: must be true or false, not 'yes'" },
		{ "opencode_url = http://127.0.0.1:4096 http://127.0.0.1:4097\n",
		    "1: opencode_url: http://127.0.0.1:4096 http://127.0.0.1:4097: an OpenCode URL "
		    "cannot contain whitespace or control characters (one URL per opencode_url "
		    "line)" },
		{ "opencode_url = http://:4096\n",
		    "1: opencode_url: http://:4096: an OpenCode URL "
		    "needs a host: a name, an IPv4 address or an "
		    "IPv6 address in brackets "
		    "(http://127.0.0.1:4096)" },
		{ "opencode_url = http://host:0\n",
		    "1: opencode_url: http://host:0: an OpenCode "
		    "URL's port must be a number from 1 to 65535" },
		{ "opencode_url = ftp://host\n",
		    "1: opencode_url: ftp://host: an OpenCode URL must start with http:// or "
		    "https://" },
		{ "opencode_url = http://u:pw@host\n",
		    "1: opencode_url: http://...@host: " CONFIG_URL_CREDENTIALS },
		{ "username = a:b\n",
		    "1: username: must be 1 to 256 bytes without ':' or control "
		    "characters" },
		{ "username =\n",
		    "1: username: must be 1 to 256 bytes without ':' or control "
		    "characters" },
		{ "password_file = /nonexistent/pw\n",
		    "1: password_file: /nonexistent/pw: No such file or directory" },
	};
	struct files *f = *state;
	char want[512], *cause;
	const char *path;
	struct config c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_case("config ", cases[i].content);
		path = write_file(f, "bad", cases[i].content);
		init_default(&c);
		cause = NULL;
		assert_int_equal(config_load_file(&c, path, true, &cause), -1);
		snprintf(want, sizeof(want), "%s:%s", path, cases[i].error);
		assert_string_equal(cause, want);
		free(cause);
		config_clear(&c);
	}
}

/* What an OpenCode URL may be: checked as text, before anything connects. */
static void test_url_forms(void **state)
{
	static const char *const good[] = {
		"http://127.0.0.1:4096",
		"http://localhost",
		"https://opencode.example.com/",
		"http://host_1.lan:65535/prefix",
		"http://[::1]:4096",
		"http://[fe80::1]",
		"http://h:1?q=a",
	};
	static const char *const bad[] = {
		"http://",
		"http:///path",
		"http://host:",
		"http://host:65536",
		"http://host:123456",
		"http://host:-1",
		"http://host:8o",
		"http://ho st",
		"http://host\t",
		"http://[::1",
		"http://[]:1",
		"http://[::g]",
		"http://a;b",
		"HTTP://host",
		"http:/host",
	};
	const char *why;
	struct config c;
	size_t i;

	(void)state;
	config_init(&c);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		print_case("good URL ", good[i]);
		why = NULL;
		assert_int_equal(config_add_url(&c, good[i], &why), 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_case("bad URL ", bad[i]);
		why = NULL;
		assert_int_equal(config_add_url(&c, bad[i], &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(c.n_urls, sizeof(good) / sizeof(good[0]));
	config_clear(&c);
}

/* A FIFO or a device named as the config or password file is refused at
 * once: reading one could wait for ever, in a reload on the event loop. */
static void test_not_regular(void **state)
{
	struct files *f = *state;
	char fifo[160], want[256], *cause = NULL;
	struct config c;

	snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	init_default(&c);
	assert_int_equal(config_load_file(&c, fifo, true, &cause), -1);
	snprintf(want, sizeof(want), "%s: not a regular file", fifo);
	assert_string_equal(cause, want);
	free(cause);
	assert_int_equal(config_read_password_file(&c, fifo, &cause), -1);
	assert_string_equal(cause, want);
	free(cause);
	assert_int_equal(config_load_file(&c, "/dev/null", false, &cause), -1);
	assert_string_equal(cause, "/dev/null: not a regular file");
	free(cause);
	assert_int_equal(unlink(fifo), 0);
	config_clear(&c);
}

/* verbose = true adds to -v; false leaves what -v asked for. */
static void test_verbose(void **state)
{
	static const struct {
		const char *content;
		int v, want;
	} cases[] = {
		{ "verbose = true\n", 0, 1 },
		{ "verbose = false\n", 0, 0 },
		{ "verbose = false\n", 2, 2 },
		{ "verbose = true\n", 2, 2 },
		{ "", 1, 1 },
	};
	struct files *f = *state;
	struct config_overrides o = { .no_default_server = true };
	char *cause = NULL;
	struct config c;
	size_t i;

	unsetenv("OCSTOP_OPENCODE_URL");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.config_file = write_file(f, "verbose", cases[i].content);
		o.verbosity = cases[i].v;
		assert_int_equal(config_load(&c, &o, &cause), 0);
		assert_int_equal(c.verbosity, cases[i].want);
		config_clear(&c);
	}
}

/* idle_exit from the file, and --idle-exit over it. */
static void test_idle_exit(void **state)
{
	struct files *f = *state;
	const char *path = write_file(f, "idle", "idle_exit = 600\n");
	struct config_overrides o = { .config_file = path, .no_default_server = true };
	char *cause = NULL;
	struct config c;

	unsetenv("OCSTOP_OPENCODE_URL");
	assert_int_equal(config_load(&c, &o, &cause), 0);
	assert_int_equal(c.idle_exit_s, 600);
	assert_string_equal(c.file, path);
	config_clear(&c);
	o.idle_exit = "0";
	assert_int_equal(config_load(&c, &o, &cause), 0);
	assert_int_equal(c.idle_exit_s, 0);
	config_clear(&c);
	o.idle_exit = "1m";
	assert_int_equal(config_load(&c, &o, &cause), -1);
	assert_string_equal(cause, "--idle-exit must be a number of seconds from 0 to 86400");
	free(cause);
	o.idle_exit = NULL;
	o.config_file = NULL;
	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	assert_int_equal(config_load(&c, &o, &cause), 0);
	assert_int_equal(c.idle_exit_s, 0);
	assert_null(c.file);
	config_clear(&c);
	unsetenv("XDG_CONFIG_HOME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_word_default),
		cmocka_unit_test(test_stop_word_len),
		cmocka_unit_test(test_stop_word_ascii),
		cmocka_unit_test(test_stop_words_several),
		cmocka_unit_test(test_stop_words_invalid),
		cmocka_unit_test(test_stop_words_bounds),
		cmocka_unit_test(test_stop_words_unicode),
		cmocka_unit_test(test_stop_words_bad_utf8),
		cmocka_unit_test(test_stop_words_max_len),
		cmocka_unit_test_setup_teardown(test_load_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_unicode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_error_text, setup, teardown),
		cmocka_unit_test(test_url_forms),
		cmocka_unit_test_setup_teardown(test_idle_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verbose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_file_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_file_mode, setup, teardown),
		cmocka_unit_test(test_url_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
