/*
 * Recursive descent over RFC 8259's grammar. Each object member's key is
 * matched against the paths still "live" at that depth (a bit per field);
 * a key that ends a path records its value, a key on the way to one clears
 * what an earlier member of the same name recorded below it, so the last of
 * repeated keys wins at every level, as in jansson's tree.
 */
#include <string.h>

#include "core/jscan.h"
#include "proto.h"

struct scan {
	const char *p, *end;
	struct jscan_field *f;
	size_t n;
	int nest;
};

struct val {
	enum jscan_type type;
	const char *str;
	size_t len;
	bool escaped;
};

static int scan_value(struct scan *s, unsigned live, size_t depth, struct val *v);

static void skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
	unsigned v = 0, d;
	int i;

	for (i = 0; i < 4; i++) {
		if (p[i] >= '0' && p[i] <= '9')
			d = p[i] - '0';
		else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f')
			d = (p[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* A "\u" escape at p (end - p >= 6 checked by the caller) and, for a high
 * surrogate, the low one that must follow; the bytes taken, or -1. */
static int scan_unicode(const unsigned char *p, const unsigned char *end)
{
	unsigned u, lo;

	if (hex4(p + 2, &u) < 0 || u == 0 || (u >= 0xdc00 && u <= 0xdfff))
		return -1;
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) < 0 || lo < 0xdc00 ||
	    lo > 0xdfff)
		return -1;
	return 12;
}

/* The bytes a string may hold as they are: ASCII but controls, '"' and '\\'. */
static const bool plain[256] = {
	[' '] = true,
	['!'] = true,
	['#' ... '['] = true,
	[']' ... '~'] = true,
	[0x7f] = true,
};

/* A string, s->p at its opening quote; s->p ends past the closing one. */
static int scan_string(struct scan *s, struct val *v)
{
	const unsigned char *start = (const unsigned char *)s->p + 1, *p = start;
	const unsigned char *end = (const unsigned char *)s->end;
	bool high = false, escaped = false;
	int n;

	for (;;) {
		/* Most of a string is plain ASCII: one table lookup a byte. */
		while (p < end && plain[*p])
			p++;
		if (p == end || *p < 0x20)
			return -1;
		if (*p == '"')
			break;
		if (*p >= 0x80) {
			high = true;
			p++;
			continue;
		}
		escaped = true;
		if (end - p < 2)
			return -1;
		if (strchr("\"\\/bfnrt", p[1]) != NULL && p[1] != '\0') {
			p += 2;
			continue;
		}
		if (p[1] != 'u' || end - p < 6 || (n = scan_unicode(p, end)) < 0)
			return -1;
		p += n;
	}
	if (high && !proto_utf8_valid((const char *)start, (size_t)(p - start)))
		return -1;
	v->type = JSCAN_STRING;
	v->str = (const char *)start;
	v->len = (size_t)(p - start);
	v->escaped = escaped;
	s->p = (const char *)p + 1;
	return 0;
}

static bool digit(const char *p, const char *end)
{
	return p < end && *p >= '0' && *p <= '9';
}

static int scan_number(struct scan *s)
{
	const char *p = s->p;

	if (p < s->end && *p == '-')
		p++;
	if (!digit(p, s->end))
		return -1;
	if (*p++ != '0')
		while (digit(p, s->end))
			p++;
	if (p < s->end && *p == '.') {
		if (!digit(++p, s->end))
			return -1;
		while (digit(p, s->end))
			p++;
	}
	if ((p < s->end && (*p == 'e' || *p == 'E')) || p - s->p > JSCAN_MAX_NUMBER)
		return -1;
	s->p = p;
	return 0;
}

static int scan_literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

/* Which of the live fields a key goes on to (inner) or ends at (hit). */
static int match_key(struct scan *s, unsigned live, size_t depth, const struct val *key,
    unsigned *hit, unsigned *inner)
{
	const char *k;
	size_t i;

	*hit = *inner = 0;
	if (live == 0)
		return 0;
	if (key->escaped)
		return -1;
	for (i = 0; i < s->n; i++) {
		if (!(live & 1u << i) || (k = s->f[i].path[depth]) == NULL ||
		    strlen(k) != key->len || memcmp(k, key->str, key->len) != 0)
			continue;
		if (s->f[i].path[depth + 1] == NULL)
			*hit |= 1u << i;
		else
			*inner |= 1u << i;
	}
	return 0;
}

static void record(struct scan *s, unsigned bits, const struct val *v)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!(bits & 1u << i))
			continue;
		s->f[i].type = v->type;
		s->f[i].str = v->type == JSCAN_STRING ? v->str : NULL;
		s->f[i].len = v->type == JSCAN_STRING ? v->len : 0;
		s->f[i].escaped = v->type == JSCAN_STRING && v->escaped;
	}
}

/* Whether the next byte, after blanks, is c; taken if so. */
static bool take(struct scan *s, char c)
{
	skip_ws(s);
	if (s->p == s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

static int scan_object(struct scan *s, unsigned live, size_t depth)
{
	static const struct val absent = { .type = JSCAN_ABSENT };
	struct val key, v;
	unsigned hit, inner;

	s->p++;
	if (take(s, '}'))
		return 0;
	do {
		skip_ws(s);
		if (s->p == s->end || *s->p != '"' || scan_string(s, &key) < 0 ||
		    match_key(s, live, depth, &key, &hit, &inner) < 0 || !take(s, ':'))
			return -1;
		record(s, inner, &absent);
		if (scan_value(s, inner, depth + 1, &v) < 0)
			return -1;
		record(s, hit, &v);
	} while (take(s, ','));
	return take(s, '}') ? 0 : -1;
}

static int scan_array(struct scan *s)
{
	struct val v;

	s->p++;
	if (take(s, ']'))
		return 0;
	do {
		if (scan_value(s, 0, 0, &v) < 0)
			return -1;
	} while (take(s, ','));
	return take(s, ']') ? 0 : -1;
}

static int scan_value(struct scan *s, unsigned live, size_t depth, struct val *v)
{
	int rc;

	skip_ws(s);
	memset(v, 0, sizeof(*v));
	v->type = JSCAN_OTHER;
	if (s->p == s->end)
		return -1;
	switch (*s->p) {
	case '"':
		return scan_string(s, v);
	case '{':
	case '[':
		if (++s->nest > JSCAN_MAX_NEST)
			return -1;
		if (*s->p == '{') {
			v->type = JSCAN_OBJECT;
			rc = scan_object(s, live, depth);
		} else {
			rc = scan_array(s);
		}
		s->nest--;
		return rc;
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	}
	return scan_number(s);
}

int jscan(const char *json, size_t len, struct jscan_field *fields, size_t n)
{
	struct scan s = { .p = json, .end = json + len, .f = fields, .n = n };
	static const struct val absent = { .type = JSCAN_ABSENT };
	unsigned live = 0;
	struct val v;
	size_t i;

	if (n > JSCAN_MAX_FIELDS)
		return -1;
	for (i = 0; i < n; i++)
		if (fields[i].path[0] != NULL)
			live |= 1u << i;
	record(&s, (1u << n) - 1, &absent);
	skip_ws(&s);
	if (s.p == s.end || *s.p != '{' || scan_value(&s, live, 0, &v) < 0)
		return -1;
	skip_ws(&s);
	return s.p == s.end ? 0 : -1;
}
