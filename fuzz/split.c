#include "split.h"

void split_init(struct split *s, const uint8_t *data, size_t size)
{
	bool moves = false;
	size_t i;

	s->n_sizes = 0;
	if (size > 0) {
		s->n_sizes = data[0] % (SPLIT_MAX_SIZES + 1);
		if (s->n_sizes > size - 1)
			s->n_sizes = size - 1;
		data++;
		size--;
	}
	for (i = 0; i < s->n_sizes; i++) {
		s->sizes[i] = data[i];
		moves = moves || data[i] != 0;
	}
	s->stream = data + s->n_sizes;
	s->len = size - s->n_sizes;
	if (!moves)
		s->n_sizes = 0;
	split_rewind(s);
}

void split_rewind(struct split *s)
{
	s->pos = 0;
	s->turn = 0;
}

bool split_next(struct split *s, const uint8_t **chunk, size_t *len)
{
	size_t n = s->len - s->pos, want;

	if (n == 0)
		return false;
	if (s->n_sizes > 0 && (want = s->sizes[s->turn++ % s->n_sizes]) < n)
		n = want;
	*chunk = s->stream + s->pos;
	*len = n;
	s->pos += n;
	return true;
}
