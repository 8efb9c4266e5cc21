/*
 * How a fuzz input says where a stream is cut: its first byte is the number
 * of chunk sizes that follow (0 to SPLIT_MAX_SIZES, taken modulo), one byte
 * each, and the rest is the stream, fed in chunks of those sizes in turn. No
 * sizes (or only zeros) feeds the stream whole. A size of 0 is an empty feed,
 * which a parser must take too.
 */
#ifndef OCSTOP_FUZZ_SPLIT_H
#define OCSTOP_FUZZ_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPLIT_MAX_SIZES 16

struct split {
	const uint8_t *stream;
	size_t len;
	uint8_t sizes[SPLIT_MAX_SIZES];
	size_t n_sizes;
	size_t pos;  /* bytes of the stream handed out */
	size_t turn; /* chunks handed out */
};

/* Read the sizes from data; the stream is what follows them. */
void split_init(struct split *s, const uint8_t *data, size_t size);
/* Start handing out the stream again, with the same cuts. */
void split_rewind(struct split *s);
/* The next chunk (maybe empty); false at the end of the stream. */
bool split_next(struct split *s, const uint8_t **chunk, size_t *len);

#endif
