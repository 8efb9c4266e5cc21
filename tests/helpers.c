#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "helpers.h"

json_t *jsonf(const char *fmt, ...)
{
	char text[4096];
	json_error_t err;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if ((j = json_loads(text, JSON_DECODE_ANY, &err)) == NULL)
		fail_msg("bad test JSON %s: %s", text, err.text);
	return j;
}

int64_t test_wait_ms(int64_t ms)
{
	const char *scale = getenv("OCSTOP_TEST_TIME_SCALE");
	long n = scale != NULL ? strtol(scale, NULL, 10) : 1;

	return n > 1 ? ms * n : ms;
}
