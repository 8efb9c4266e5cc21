/* Small things the unit tests share. */
#ifndef OCSTOP_TESTS_HELPERS_H
#define OCSTOP_TESTS_HELPERS_H

#include <jansson.h>

/* A JSON value from a printf format, for test payloads; fails the test
 * when the text is not JSON. Caller decrefs. */
json_t *jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The daemon's log (stderr) into a buffer, from stderr_catch() until
 * stderr_release(), which returns what was written (static; NUL-ended) and
 * puts stderr back. */
void stderr_catch(void);
const char *stderr_release(void);
/* Lines of text that contain needle (every line when needle is ""). */
size_t count_lines(const char *text, const char *needle);

#endif
