/*
 * A JSON text checked and read in one pass without building a tree: the
 * value at each of a few key paths, by type, and a string's raw bytes. For
 * the event stream's hot path, where jansson's tree (an allocation per
 * member) costs more than the rest of the event's handling.
 *
 * It vouches only for what jansson's json_loadb(..., 0) takes too, the same
 * way: a text it reads is one object jansson reads, with the same values at
 * the paths (a repeated key: the last one, as jansson keeps). What it cannot
 * vouch for cheaply it refuses, and the caller reads the text with jansson:
 * "\u0000", an unpaired surrogate, a number with an exponent or longer than
 * JSCAN_MAX_NUMBER bytes, nesting deeper than JSCAN_MAX_NEST, an escaped key
 * on the way to a path.
 */
#ifndef OCSTOP_CORE_JSCAN_H
#define OCSTOP_CORE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSCAN_MAX_NEST 32   /* objects and arrays inside each other */
#define JSCAN_MAX_NUMBER 15 /* no such number overflows a long long or a double */
#define JSCAN_MAX_FIELDS 8  /* paths read in one pass */
#define JSCAN_MAX_PATH 4    /* keys in a path */

enum jscan_type {
	JSCAN_ABSENT,
	JSCAN_STRING,
	JSCAN_OBJECT,
	JSCAN_OTHER, /* array, number, true, false, null */
};

struct jscan_field {
	const char *path[JSCAN_MAX_PATH + 1]; /* keys from the top object, NULL-terminated */
	/* Out: */
	enum jscan_type type;
	const char *str; /* JSCAN_STRING: its bytes inside the quotes, as written */
	size_t len;
	bool escaped; /* the string has escapes: str is not its value */
};

/* Check json[0..len) and fill each field's out part; 0, or -1 when the text
 * is not one JSON object or is one this reader does not vouch for. */
int jscan(const char *json, size_t len, struct jscan_field *fields, size_t n);

#endif
