/*
 * Incremental parser for text/event-stream. Bytes may be split anywhere;
 * each complete event's data lines, joined with '\n', go to the callback.
 * Lines end in "\n", "\r\n" or "\r"; comments and fields other than data
 * are skipped. An event larger than the bound is dropped whole (counted),
 * and parsing goes on with the next one.
 */
#ifndef OCSTOP_IO_SSE_H
#define OCSTOP_IO_SSE_H

#include <stddef.h>

/* data is NUL-terminated and borrowed for the duration of the call. */
typedef void (*sse_event_cb)(const char *data, size_t len, void *arg);

struct sse_parser;

/* NULL on allocation failure; caller frees with sse_parser_free(). */
struct sse_parser *sse_parser_new(size_t max_event, sse_event_cb cb, void *arg);
void sse_parser_free(struct sse_parser *p);

/* 0, or -1 when memory ran out (the partial event is dropped). */
int sse_parser_feed(struct sse_parser *p, const char *buf, size_t len);

/* Forget any partial event, for a new connection. */
void sse_parser_reset(struct sse_parser *p);

/* Events dropped for being over the bound since creation. */
size_t sse_parser_dropped(const struct sse_parser *p);

#endif
