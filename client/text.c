/* Safe, aligned text for the terminal. */
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "text.h"

/* Space between columns. */
#define TABLE_GAP 2

/* The widest table a command prints. */
#define TABLE_MAX_COLS 8

struct table {
	size_t ncols;
	size_t ncells;
	size_t cap;
	char **cells; /* row-major, each from text_safe() */
};

char *text_safe(const char *s, size_t len)
{
	unsigned char c;
	char *out;
	size_t i;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	memcpy(out, s, len);
	out[len] = '\0';
	for (i = 0; i < len; i++) {
		c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f)
			out[i] = '?';
		/* U+0080..U+009F, which some terminals take as CSI and friends. */
		if (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] >= 0x80 &&
		    (unsigned char)out[i + 1] <= 0x9f) {
			out[i] = '?';
			out[i + 1] = '?';
			i++;
		}
	}
	return out;
}

size_t text_width(const char *s)
{
	mbstate_t st;
	size_t width = 0, n, left = strlen(s);
	wchar_t wc;
	int w;

	memset(&st, 0, sizeof st);
	while (left > 0) {
		n = mbrtowc(&wc, s, left, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
			memset(&st, 0, sizeof st);
			n = 1;
			w = 1;
		} else if ((w = wcwidth(wc)) < 0) {
			w = 1;
		}
		width += (size_t)w;
		s += n;
		left -= n;
	}
	return width;
}

struct table *table_new(const char *const *header)
{
	struct table *t;
	size_t i;

	for (i = 0; header[i] != NULL; i++)
		;
	if (i == 0 || i > TABLE_MAX_COLS || (t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	t->ncols = i;
	for (i = 0; header[i] != NULL; i++) {
		if (table_add(t, header[i], strlen(header[i])) == -1) {
			table_free(t);
			return NULL;
		}
	}
	return t;
}

void table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int table_add(struct table *t, const char *s, size_t len)
{
	char **cells, *cell;
	size_t cap;

	if (t->ncells == t->cap) {
		cap = t->cap == 0 ? 32 : t->cap * 2;
		if ((cells = reallocarray(t->cells, cap, sizeof *cells)) == NULL)
			return -1;
		t->cells = cells;
		t->cap = cap;
	}
	if (s == NULL) {
		s = "-";
		len = 1;
	}
	if ((cell = text_safe(s, len)) == NULL)
		return -1;
	t->cells[t->ncells++] = cell;
	return 0;
}

size_t table_rows(const struct table *t)
{
	return t->ncells / t->ncols - 1;
}

void table_print(const struct table *t, FILE *f)
{
	size_t width[TABLE_MAX_COLS] = { 0 };
	size_t i, col, w;

	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		if ((w = text_width(t->cells[i])) > width[col])
			width[col] = w;
	}
	for (i = 0; i < t->ncells; i++) {
		col = i % t->ncols;
		fputs(t->cells[i], f);
		if (col == t->ncols - 1 || i == t->ncells - 1) {
			fputc('\n', f);
			continue;
		}
		for (w = text_width(t->cells[i]); w < width[col] + TABLE_GAP; w++)
			fputc(' ', f);
	}
}
