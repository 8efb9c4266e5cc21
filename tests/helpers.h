/* Small things the unit tests share. */
#ifndef OCSTOP_TESTS_HELPERS_H
#define OCSTOP_TESTS_HELPERS_H

#include <jansson.h>

/* A JSON value from a printf format, for test payloads; fails the test
 * when the text is not JSON. Caller decrefs. */
json_t *jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
