#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
