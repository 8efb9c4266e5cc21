/* Small things the unit tests share. */
#ifndef OCSTOP_TESTS_HELPERS_H
#define OCSTOP_TESTS_HELPERS_H

#include <stdint.h>

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
/* A wait of ms, longer by the factor OCSTOP_TEST_TIME_SCALE says (the valgrind test setup sets it:
 * everything runs tens of times slower there). */
int64_t test_wait_ms(int64_t ms);

#endif
