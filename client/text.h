/*
 * Showing text that came from the daemon (and through it from OpenCode) on
 * a terminal: safe copies, and columns aligned by display width.
 */
#ifndef OCSTOP_CLIENT_TEXT_H
#define OCSTOP_CLIENT_TEXT_H

#include <stddef.h>
#include <stdio.h>

/* Copy of s[0..len) with control characters (C0, DEL and UTF-8 encoded C1)
 * turned into '?', so that a session title cannot drive the terminal.
 * Caller frees with free(); NULL when memory runs out. */
char *text_safe(const char *s, size_t len);

/* Columns as the terminal shows them; needs setlocale(LC_CTYPE, ""). Bytes
 * that do not decode count one column each. */
size_t text_width(const char *s);

struct table;

/* A table whose first row is header, a NULL-terminated list of 1 to 8
 * column names. Caller frees with table_free(). NULL when memory runs out. */
struct table *table_new(const char *const *header);
void table_free(struct table *t);

/* Appends a safe copy of s[0..len) as the next cell, filling rows left to
 * right; NULL shows as "-". -1 when memory runs out. */
int table_add(struct table *t, const char *s, size_t len);

/* Rows added after the header; complete ones only. */
size_t table_rows(const struct table *t);

/* Prints the rows, padding every column but the last to its widest cell. */
void table_print(const struct table *t, FILE *f);

#endif
