/*
 * text/event-stream parser, fed bytes in any split. It keeps no line
 * buffer: the field name is matched as it arrives and a data value is
 * appended straight to the event, so memory is bounded by max_event.
 *
 *                ':' after "data"        ' ' (skipped) or any
 *   [NAME] ------------------------> [SPACE] ------------------> [VALUE]
 *      |   ':' after another name
 *      `-------------------------> [SKIP]    (comment or ignored field)
 *
 *   EOL in NAME, no name yet:  blank line, dispatch the event
 *   EOL in NAME after "data":  a data field with an empty value
 *   EOL in any state:          back to NAME
 *
 * EOL is "\n", "\r\n" or "\r"; a '\n' right after a '\r' is swallowed,
 * even when the two arrive in different feeds. *
 * A data value or a skipped line is taken as a span up to its line end
 * (memchr), not byte by byte: on OpenCode's stream that is nearly all of
 * the bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "io/sse.h"

enum sse_state {
	SSE_NAME,  /* at a line start or inside a field name */
	SSE_SPACE, /* after "data:", where one space is skipped */
	SSE_VALUE, /* inside a data value */
	SSE_SKIP,  /* inside a comment or a field we ignore */
};

enum sse_discard {
	SSE_KEEP,
	SSE_OVERSIZE, /* over max_event: counted in dropped */
	SSE_NOMEM,
};

struct sse_parser {
	size_t max_event;
	sse_event_cb cb;
	void *arg;

	enum sse_state state;
	char name[4];    /* only "data" matters, so 4 bytes are kept */
	size_t name_len; /* full length, to tell "data" from "database" */
	int after_cr;    /* last byte was '\r': a '\n' now ends nothing */
	size_t bom_len;  /* bytes of a leading BOM seen so far */
	int at_start;    /* no byte of the stream processed yet */

	char *data; /* event data, '\n'-joined, NUL-terminated */
	size_t data_len;
	size_t data_cap;
	int has_data; /* a data field was seen in this event */
	enum sse_discard discard;

	size_t dropped;
};

static const char sse_bom[] = "\xef\xbb\xbf";

struct sse_parser *sse_parser_new(size_t max_event, sse_event_cb cb, void *arg)
{
	struct sse_parser *p;

	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	p->max_event = max_event;
	p->cb = cb;
	p->arg = arg;
	sse_parser_reset(p);
	return p;
}

void sse_parser_free(struct sse_parser *p)
{
	if (p == NULL)
		return;
	free(p->data);
	free(p);
}

static void sse_event_clear(struct sse_parser *p)
{
	p->data_len = 0;
	p->has_data = 0;
	p->discard = SSE_KEEP;
}

void sse_parser_reset(struct sse_parser *p)
{
	sse_event_clear(p);
	p->state = SSE_NAME;
	p->name_len = 0;
	p->after_cr = 0;
	p->bom_len = 0;
	p->at_start = 1;
}

size_t sse_parser_dropped(const struct sse_parser *p)
{
	return p->dropped;
}

/* Append n bytes of event data; -1 when memory ran out. Going over the
 * bound is not an error: the event is just marked for dropping. */
static int sse_append_span(struct sse_parser *p, const char *buf, size_t n)
{
	size_t cap;
	char *d;

	if (p->discard != SSE_KEEP)
		return 0;
	if (n > p->max_event - p->data_len) {
		p->discard = SSE_OVERSIZE;
		return 0;
	}
	if (p->data_len + n >= p->data_cap) {
		cap = p->data_cap != 0 ? p->data_cap * 2 : 256;
		while (cap <= p->data_len + n)
			cap *= 2;
		if (cap > p->max_event + 1)
			cap = p->max_event + 1;
		if ((d = realloc(p->data, cap)) == NULL) {
			p->discard = SSE_NOMEM;
			return -1;
		}
		p->data = d;
		p->data_cap = cap;
	}
	memcpy(p->data + p->data_len, buf, n);
	p->data_len += n;
	return 0;
}

static int sse_append(struct sse_parser *p, char c)
{
	return sse_append_span(p, &c, 1);
}

/* A data field starts: join it to the previous one with '\n'. */
static int sse_data_begin(struct sse_parser *p)
{
	if (!p->has_data) {
		p->has_data = 1;
		return 0;
	}
	return sse_append(p, '\n');
}

static int sse_name_is_data(const struct sse_parser *p)
{
	return p->name_len == 4 && memcmp(p->name, "data", 4) == 0;
}

static void sse_dispatch(struct sse_parser *p)
{
	if (p->discard == SSE_OVERSIZE)
		p->dropped++;
	else if (p->discard == SSE_KEEP && p->has_data) {
		if (p->data != NULL)
			p->data[p->data_len] = '\0';
		p->cb(p->data != NULL ? p->data : "", p->data_len, p->arg);
	}
	sse_event_clear(p);
}

/* A line ended in the current state. */
static int sse_eol(struct sse_parser *p)
{
	int rc = 0;

	if (p->state == SSE_NAME) {
		if (p->name_len == 0)
			sse_dispatch(p);
		else if (sse_name_is_data(p))
			rc = sse_data_begin(p);
	}
	p->state = SSE_NAME;
	p->name_len = 0;
	return rc;
}

static int sse_byte(struct sse_parser *p, char c)
{
	if (p->after_cr) {
		p->after_cr = 0;
		if (c == '\n')
			return 0;
	}
	if (c == '\r' || c == '\n') {
		p->after_cr = c == '\r';
		return sse_eol(p);
	}

	switch (p->state) {
	case SSE_NAME:
		if (c != ':') {
			if (p->name_len < sizeof p->name)
				p->name[p->name_len] = c;
			p->name_len++;
			return 0;
		}
		if (!sse_name_is_data(p)) {
			p->state = SSE_SKIP;
			return 0;
		}
		p->state = SSE_SPACE;
		return sse_data_begin(p);
	case SSE_SPACE:
		p->state = SSE_VALUE;
		if (c == ' ')
			return 0;
		return sse_append(p, c);
	case SSE_VALUE:
		return sse_append(p, c);
	case SSE_SKIP:
		break;
	}
	return 0;
}

/* Pass stream bytes on, minus one leading BOM. A BOM can be split across
 * feeds, and a prefix that turns out not to be one is replayed. */
static int sse_input(struct sse_parser *p, char c)
{
	size_t i;
	int rc = 0;

	if (!p->at_start)
		return sse_byte(p, c);
	if (c == sse_bom[p->bom_len]) {
		if (++p->bom_len == sizeof sse_bom - 1)
			p->at_start = 0;
		return 0;
	}
	p->at_start = 0;
	for (i = 0; i < p->bom_len; i++)
		rc |= sse_byte(p, sse_bom[i]);
	return sse_byte(p, c) | rc;
}

/* The length of the line's rest in buf[0..len): up to its first '\r' or
 * '\n', or all of it. */
static size_t sse_line_rest(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);
	const char *cr = memchr(buf, '\r', nl != NULL ? (size_t)(nl - buf) : len);

	if (cr != NULL)
		return (size_t)(cr - buf);
	return nl != NULL ? (size_t)(nl - buf) : len;
}

int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len)
{
	size_t i = 0, n;
	int rc = 0;

	while (i < len) {
		/* A value or skipped line goes as one span; its line end, the
		 * field names and a '\n' after a '\r' one byte at a time. */
		if (!p->at_start && !p->after_cr &&
		    (p->state == SSE_VALUE || p->state == SSE_SKIP)) {
			n = sse_line_rest(buf + i, len - i);
			if (p->state == SSE_VALUE)
				rc |= sse_append_span(p, buf + i, n);
			i += n;
			if (i == len)
				break;
		}
		rc |= sse_input(p, buf[i++]);
	}
	return rc;
}
