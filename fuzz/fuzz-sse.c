/*
 * The text/event-stream parser, differentially: the same stream fed whole
 * and fed in the cuts split.h reads from the input must give the same
 * events and the same count of dropped ones. The input's first byte picks
 * the event bound (small ones reach it with small inputs), then come the
 * cuts, then the stream. Each event must also be what the parser promises:
 * NUL-terminated, within the bound, and free of CR, which only ends lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "fuzz.h"
#include "io/sse.h"
#include "split.h"

/* A bound no input reaches at libFuzzer's default -max_len. */
#define FUZZ_BIG_EVENT (1u << 20)

struct run {
	size_t max_event;
	msgpack_sbuffer events; /* each event's data, as a msgpack bin */
	msgpack_packer pk;
	size_t n;     /* events so far */
	char last[2]; /* the last event, when it was short */
};

static void on_event(const char *data, size_t len, void *arg)
{
	struct run *r = arg;

	CHECK(len <= r->max_event && data[len] == '\0');
	CHECK(len == 0 || memchr(data, '\r', len) == NULL);
	msgpack_pack_bin_with_body(&r->pk, data, len);
	r->n++;
	memset(r->last, 0, sizeof(r->last));
	if (len < sizeof(r->last))
		memcpy(r->last, data, len);
}

static void feed(struct split *sp, struct run *r)
{
	struct sse_parser *p = sse_parser_new(r->max_event, on_event, r);
	const uint8_t *chunk;
	size_t len, n;

	CHECK(p != NULL);
	r->n = 0;
	msgpack_sbuffer_init(&r->events);
	msgpack_packer_init(&r->pk, &r->events, msgpack_sbuffer_write);
	split_rewind(sp);
	while (split_next(sp, &chunk, &len))
		CHECK(sse_parser_feed(p, (const char *)chunk, len) == 0);
	msgpack_pack_uint64(&r->pk, sse_parser_dropped(p));
	/* A new connection starts clean: the tail of this stream is gone. */
	sse_parser_reset(p);
	n = r->n;
	CHECK(sse_parser_feed(p, "data: x\n\n", 9) == 0);
	CHECK(r->n == n + 1 && strcmp(r->last, "x") == 0);
	sse_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct split cut, whole;
	struct run a, b;

	if (size == 0)
		return 0;
	a.max_event = data[0] == 0 ? FUZZ_BIG_EVENT : data[0];
	b.max_event = a.max_event;
	split_init(&cut, data + 1, size - 1);
	whole = cut;
	whole.n_sizes = 0;
	feed(&cut, &a);
	feed(&whole, &b);
	CHECK(a.events.size == b.events.size &&
	    memcmp(a.events.data, b.events.data, a.events.size) == 0);
	msgpack_sbuffer_destroy(&a.events);
	msgpack_sbuffer_destroy(&b.events);
	return 0;
}
