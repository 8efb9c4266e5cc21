/*
 * Streaming msgpack-rpc reader.
 *
 * msgpack-c allocates a container's element storage as soon as it reads the
 * header, so a 5-byte header claiming 100M elements would cost gigabytes.
 * Bytes therefore pass a scanner first that allocates nothing: it walks the
 * msgpack headers, bounds every declared length by what is left of the frame
 * budget, and counts complete frames. Only validated bytes are kept, and
 * msgpack-c is asked to unpack only a whole frame, so its allocations are
 * bounded by the bytes actually received. It unpacks into one zone that is
 * cleared for each message, so a message costs no allocation once the zone
 * has grown to the size of the messages a peer sends.
 *
 * The scanner keeps its state between feeds, so each byte is looked at once
 * however the stream is split:
 *
 *   feed(bytes) --> [header] --fixed payload or str/bin/ext--> [skip n bytes]
 *                      |  ^                                         |
 *                      |  +------------- value done <---------------+
 *                      |  |                 |
 *                      +--+ array/map:      +--> depth 0: frame complete
 *                           push count
 *
 * Any malformed byte, oversized frame or allocation failure breaks the stream
 * for good (hiredis's sticky error). The frames completed before a bad byte
 * are still returned, so a peer is answered what it asked before it erred;
 * then the stream reports the error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack/unpack_define.h>

#include "proto.h"

/* msgpack-c refuses to nest deeper than its fixed stack; stay within it so a
 * validated frame always unpacks. */
_Static_assert(PROTO_MAX_DEPTH <= MSGPACK_EMBED_STACK_SIZE, "depth beyond msgpack-c's stack");

/* Start small: most connections carry tiny requests. */
#define READER_INIT_BUFFER 4096

/* Longest msgpack header: ext32 is marker, 4-byte length, type byte. */
#define HEADER_MAX 6

/* skip and frame_used are kept apart: side by side, GCC packs their updates
 * into one 16-byte load and store, and the 8-byte store of frame_used on
 * each header byte then stalls that load (half the scanner's time). */
struct scanner {
	uint8_t hdr[HEADER_MAX]; /* header bytes split across feeds */
	size_t hdr_len;
	uint64_t skip;                  /* payload bytes of the current item still due */
	size_t depth;                   /* open containers */
	size_t frame_used;              /* bytes of the frame being scanned so far */
	uint64_t left[PROTO_MAX_DEPTH]; /* items still due in each open container */
	uint64_t min_left;              /* sum of left[]: each item needs at least a byte */
};

struct proto_reader {
	int err;
	char errstr[128];
	size_t max_frame;
	size_t frames_ready; /* validated frames waiting in buf */
	struct scanner scan;
	char *buf;    /* validated bytes: frames, then the head of the next */
	size_t start; /* where the next frame begins */
	size_t len;
	size_t cap;
	char *retired;     /* a buffer the last message still points into */
	msgpack_zone zone; /* behind the last message */
	msgpack_object obj;
};

static int fail(struct proto_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Break the stream for good, saying why. */
static int fail(struct proto_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
	va_end(ap);
	r->err = PROTO_ERR;
	return PROTO_ERR;
}

struct proto_reader *proto_reader_new(size_t max_frame)
{
	struct proto_reader *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	if (!msgpack_zone_init(&r->zone, READER_INIT_BUFFER)) {
		free(r);
		return NULL;
	}
	r->max_frame = max_frame != 0 ? max_frame : PROTO_MAX_FRAME;
	return r;
}

void proto_reader_free(struct proto_reader *r)
{
	if (r == NULL)
		return;
	msgpack_zone_destroy(&r->zone);
	free(r->buf);
	free(r->retired);
	free(r);
}

const char *proto_reader_error(const struct proto_reader *r)
{
	return r->errstr;
}

/* Total header length for a marker byte, 0 for the reserved 0xc1. */
static size_t header_len(uint8_t b)
{
	switch (b) {
	case 0xc1:
		return 0;
	case 0xc4:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
	case 0xd9:
		return 2;
	case 0xc5:
	case 0xc7:
	case 0xda:
	case 0xdc:
	case 0xde:
		return 3;
	case 0xc8:
		return 4;
	case 0xc6:
	case 0xdb:
	case 0xdd:
	case 0xdf:
		return 5;
	case 0xc9:
		return 6;
	default:
		return 1;
	}
}

static uint64_t be16(const uint8_t *p)
{
	return (uint64_t)p[0] << 8 | p[1];
}

static uint64_t be32(const uint8_t *p)
{
	return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

/* Whether an item still needing `need` bytes fits in the frame budget along
 * with one byte for each item its open containers still expect. The item
 * itself and each open container but the root are counted in min_left as
 * in-progress items of their parents; depth takes them back out. */
static bool fits(const struct proto_reader *r, uint64_t need)
{
	const struct scanner *s = &r->scan;

	return need + s->min_left - s->depth <= r->max_frame - s->frame_used;
}

/* One item is complete: count it against its containers, closing those it
 * fills. True when that completes the frame. */
static bool value_done(struct scanner *s)
{
	while (s->depth > 0) {
		s->min_left--;
		if (--s->left[s->depth - 1] > 0)
			return false;
		s->depth--;
	}
	return true;
}

static void frame_done(struct proto_reader *r)
{
	r->frames_ready++;
	r->scan.frame_used = 0;
}

/* Act on a complete header: start a payload skip or a container, or finish a
 * scalar. */
static int header_done(struct proto_reader *r)
{
	struct scanner *s = &r->scan;
	const uint8_t *h = s->hdr;
	uint64_t n;
	bool container = false;

	if (h[0] <= 0x7f || h[0] >= 0xe0 || h[0] == 0xc0 || h[0] == 0xc2 || h[0] == 0xc3)
		n = 0;
	else if (h[0] <= 0x8f)
		n = 2 * (uint64_t)(h[0] & 0x0f), container = true;
	else if (h[0] <= 0x9f)
		n = h[0] & 0x0f, container = true;
	else if (h[0] <= 0xbf)
		n = h[0] & 0x1f;
	else {
		switch (h[0]) {
		case 0xc4:
		case 0xc7:
		case 0xd9:
			n = h[1];
			break;
		case 0xc5:
		case 0xc8:
		case 0xda:
			n = be16(h + 1);
			break;
		case 0xc6:
		case 0xc9:
		case 0xdb:
			n = be32(h + 1);
			break;
		case 0xcc:
		case 0xd0:
		case 0xd4:
			n = 1;
			break;
		case 0xcd:
		case 0xd1:
		case 0xd5:
			n = 2;
			break;
		case 0xca:
		case 0xce:
		case 0xd2:
		case 0xd6:
			n = 4;
			break;
		case 0xcb:
		case 0xcf:
		case 0xd3:
		case 0xd7:
			n = 8;
			break;
		case 0xd8:
			n = 16;
			break;
		case 0xdc:
			n = be16(h + 1), container = true;
			break;
		case 0xdd:
			n = be32(h + 1), container = true;
			break;
		case 0xde:
			n = 2 * be16(h + 1), container = true;
			break;
		default:
			n = 2 * be32(h + 1), container = true;
			break; /* 0xdf */
		}
	}

	if (container && s->depth == PROTO_MAX_DEPTH)
		return fail(r, "nesting deeper than %d", PROTO_MAX_DEPTH);
	if (!fits(r, n))
		return fail(r, "declared %s of %llu %s does not fit in a %zu-byte frame",
		    container ? "container" : "payload", (unsigned long long)n,
		    container ? "items" : "bytes", r->max_frame);
	if (n == 0) {
		if (value_done(s))
			frame_done(r);
	} else if (container) {
		s->left[s->depth++] = n;
		s->min_left += n;
	} else {
		s->skip = n;
	}
	return PROTO_OK;
}

/* Validate bytes and count the frames they complete; *used is how many
 * bytes were good, also when some were not. */
static int scan(struct proto_reader *r, const uint8_t *p, size_t n, size_t *used)
{
	struct scanner *s = &r->scan;
	size_t i = 0;

	*used = 0;
	while (i < n) {
		if (s->skip > 0) {
			/* fits() already bounded skip by the frame budget. */
			size_t take = s->skip < n - i ? (size_t)s->skip : n - i;

			i += take;
			s->skip -= take;
			s->frame_used += take;
			if (s->skip == 0 && value_done(s))
				frame_done(r);
			continue;
		}
		if (s->frame_used == r->max_frame)
			return fail(r, "frame exceeds %zu bytes", r->max_frame);
		*used = i;
		s->hdr[s->hdr_len++] = p[i++];
		s->frame_used++;
		size_t want = header_len(s->hdr[0]);
		if (want == 0)
			return fail(r, "malformed msgpack: reserved byte 0xc1");
		if (s->hdr_len < want)
			continue;
		s->hdr_len = 0;
		if (header_done(r) != PROTO_OK)
			return PROTO_ERR;
	}
	*used = n;
	return PROTO_OK;
}

/* Append validated bytes. The last message returned points into buf, so
 * bytes are never moved here: a buffer that must grow is replaced, and the
 * old one kept until the next proto_reader_next(). */
static int keep(struct proto_reader *r, const void *bytes, size_t n)
{
	size_t cap, live = r->len - r->start;
	char *fresh;

	if (n == 0)
		return 0;
	if (n > r->cap - r->len) {
		for (cap = READER_INIT_BUFFER; cap < 2 * (live + n); cap *= 2)
			;
		if ((fresh = malloc(cap)) == NULL)
			return -1;
		if (live > 0)
			memcpy(fresh, r->buf + r->start, live);
		free(r->retired);
		r->retired = r->buf;
		r->buf = fresh;
		r->cap = cap;
		r->start = 0;
		r->len = live;
	}
	memcpy(r->buf + r->len, bytes, n);
	r->len += n;
	return 0;
}

int proto_reader_feed(struct proto_reader *r, const void *buf, size_t len)
{
	size_t used;
	int rc;

	if (r->err)
		return PROTO_ERR;
	rc = scan(r, buf, len, &used);
	/* Complete frames and the validated head of the next one; the latter
	 * is not unpacked until its frame completes (it never does once the
	 * stream is broken). */
	if (keep(r, buf, used) < 0) {
		r->frames_ready = 0;
		return fail(r, "out of memory");
	}
	return rc;
}

bool proto_reader_partial(const struct proto_reader *r)
{
	return r->scan.frame_used > 0;
}

/* Read msgid at index 1 of a request or response into msg. */
static bool read_msgid(const msgpack_object_array *a, struct proto_msg *msg)
{
	const msgpack_object *id;

	if (a->size < 2)
		return false;
	id = &a->ptr[1];
	if (id->type != MSGPACK_OBJECT_POSITIVE_INTEGER || id->via.u64 > UINT32_MAX)
		return false;
	msg->has_msgid = true;
	msg->msgid = (uint32_t)id->via.u64;
	return true;
}

/* The frame is consumed; the stream goes on. */
static int invalid(struct proto_reader *r, const char *why)
{
	snprintf(r->errstr, sizeof(r->errstr), "%s", why);
	return PROTO_INVALID;
}

/* Check method and params at a[i], a[i + 1]. */
static int read_call(struct proto_reader *r, const msgpack_object_array *a, size_t i,
    struct proto_msg *msg)
{
	const msgpack_object *m = &a->ptr[i];
	const char *name;
	size_t len;

	/* pynvim's session layer sends its method names as bin. */
	if (m->type == MSGPACK_OBJECT_STR)
		name = m->via.str.ptr, len = m->via.str.size;
	else if (m->type == MSGPACK_OBJECT_BIN)
		name = m->via.bin.ptr, len = m->via.bin.size;
	else
		return invalid(r, "method must be a string (str or bin)");
	if (len == 0)
		return invalid(r, "method must not be empty");
	if (len > PROTO_MAX_METHOD)
		return invalid(r, "method name too long");
	if (a->ptr[i + 1].type != MSGPACK_OBJECT_ARRAY)
		return invalid(r, "params must be an array");
	msg->method = name;
	msg->method_len = len;
	msg->params = &a->ptr[i + 1];
	return PROTO_OK;
}

/* Check an unpacked frame's shape and fill msg. */
static int check_message(struct proto_reader *r, const msgpack_object *o, struct proto_msg *msg)
{
	const msgpack_object_array *a;
	const msgpack_object *e;

	if (o->type != MSGPACK_OBJECT_ARRAY)
		return invalid(r, "message must be an array");
	a = &o->via.array;
	if (a->size == 0 || a->ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a->ptr[0].via.u64 > PROTO_NOTIFY)
		return invalid(r, "message type must be 0, 1 or 2");
	msg->kind = (enum proto_kind)a->ptr[0].via.u64;

	if (msg->kind == PROTO_NOTIFY) {
		if (a->size != 3)
			return invalid(r, "notification must have 3 elements");
		return read_call(r, a, 1, msg);
	}
	/* The msgid first, so a malformed request can still be answered. */
	if (!read_msgid(a, msg))
		return invalid(r, "msgid must be an unsigned 32-bit integer");
	if (a->size != 4)
		return invalid(r,
		    msg->kind == PROTO_REQUEST ? "request must have 4 elements"
					       : "response must have 4 elements");
	if (msg->kind == PROTO_REQUEST)
		return read_call(r, a, 2, msg);
	e = &a->ptr[2];
	if (e->type != MSGPACK_OBJECT_NIL &&
	    (e->type != MSGPACK_OBJECT_ARRAY || e->via.array.size != 2))
		return invalid(r, "error must be nil or [kind, message]");
	msg->error = e;
	msg->result = &a->ptr[3];
	return PROTO_OK;
}

int proto_reader_next(struct proto_reader *r, struct proto_msg *msg)
{
	size_t off;

	memset(msg, 0, sizeof(*msg));
	if (r->frames_ready == 0)
		return r->err ? PROTO_ERR : PROTO_AGAIN;

	/* Frees the previous message, as the API promises; its bytes may now
	 * move. */
	msgpack_zone_clear(&r->zone);
	free(r->retired);
	r->retired = NULL;
	if (r->start > r->cap / 2) {
		r->len -= r->start;
		memmove(r->buf, r->buf + r->start, r->len);
		r->start = 0;
	}
	off = 0;
	switch (msgpack_unpack(r->buf + r->start, r->len - r->start, &off, &r->zone, &r->obj)) {
	case MSGPACK_UNPACK_SUCCESS:
	case MSGPACK_UNPACK_EXTRA_BYTES:
		break;
	case MSGPACK_UNPACK_NOMEM_ERROR:
		r->frames_ready = 0;
		return fail(r, "out of memory");
	default:
		/* The scanner accepted what msgpack-c refused: a bug, but
		 * the stream is as broken as if the peer had erred. */
		r->frames_ready = 0;
		return fail(r, "msgpack-c rejected a validated frame");
	}
	r->start += off;
	r->frames_ready--;
	return check_message(r, &r->obj, msg);
}
