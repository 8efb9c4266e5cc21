/*
 * The daemon's stop-word matcher (core/config.c), for tests/js/stop-word.test.mjs to compare the
 * shim's with:
 *
 *   stop-word keys           every assigned character but NUL (no private use, no surrogates) as
 *                            "HEX" when it is its own key, else "HEX K1 K2..." (its key's code
 *                            points); "HEX -" when it cannot be a stop word (whitespace)
 *   stop-word match WORD...  prints "max_len N", then for each line of hex-coded UTF-8 on stdin
 *                            "1" when it is a stop word, else "0"; "error: why" and exit 1 for a
 *                            word the daemon refuses
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unistr.h>

#include "core/config.h"

static void print_key(ucs4_t c)
{
	const uint8_t *p, *end;
	struct config cfg;
	const char *why;
	uint8_t s[6];
	ucs4_t k;
	int n;

	n = u8_uctomb(s, c, sizeof s);
	s[n] = '\0';
	config_init(&cfg);
	printf("%X", (unsigned)c);
	if (config_add_stop_word(&cfg, (const char *)s, &why) < 0) {
		printf(" -\n");
		return;
	}
	p = (const uint8_t *)cfg.stop_words[0];
	end = p + strlen(cfg.stop_words[0]);
	if ((size_t)(end - p) != (size_t)n || memcmp(p, s, (size_t)n) != 0)
		for (; p < end; p += n) {
			n = u8_mbtouc(&k, p, (size_t)(end - p));
			printf(" %X", (unsigned)k);
		}
	printf("\n");
	config_clear(&cfg);
}

static int keys(void)
{
	ucs4_t c;

	for (c = 1; c <= 0x10ffff; c++)
		if ((c < 0xd800 || c > 0xdfff) && !uc_is_general_category(c, UC_CATEGORY_Cn) &&
		    !uc_is_general_category(c, UC_CATEGORY_Co))
			print_key(c);
	return 0;
}

static int match(int argc, char **argv)
{
	char line[4096], text[sizeof line / 2];
	struct config cfg;
	const char *why;
	unsigned byte;
	size_t len;
	int i;

	config_init(&cfg);
	for (i = 0; i < argc; i++) {
		if (config_add_stop_word(&cfg, argv[i], &why) < 0) {
			printf("error: %s\n", why);
			return 1;
		}
	}
	printf("max_len %zu\n", config_max_stop_len(&cfg));
	while (fgets(line, sizeof line, stdin) != NULL) {
		for (len = 0; sscanf(line + 2 * len, "%2x", &byte) == 1; len++)
			text[len] = (char)byte;
		printf("%d\n", config_is_stop_word(&cfg, text, len));
	}
	config_clear(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "keys") == 0)
		return keys();
	if (argc >= 2 && strcmp(argv[1], "match") == 0)
		return match(argc - 2, argv + 2);
	fprintf(stderr, "usage: stop-word keys | stop-word match WORD...\n");
	return 2;
}
