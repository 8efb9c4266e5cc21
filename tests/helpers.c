#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static FILE *caught;
static int saved_fd = -1;

void stderr_catch(void)
{
	fflush(stderr);
	assert_non_null(caught = tmpfile());
	assert_true((saved_fd = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fileno(caught), STDERR_FILENO) >= 0);
}

const char *stderr_release(void)
{
	static char text[1 << 20];
	size_t n;

	fflush(stderr);
	assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
	close(saved_fd);
	rewind(caught);
	n = fread(text, 1, sizeof(text) - 1, caught);
	text[n] = '\0';
	fclose(caught);
	return text;
}

size_t count_lines(const char *text, const char *needle)
{
	const char *end;
	size_t n = 0;

	for (; *text != '\0'; text = *end != '\0' ? end + 1 : end) {
		end = strchrnul(text, '\n');
		if (memmem(text, (size_t)(end - text), needle, strlen(needle)) != NULL)
			n++;
	}
	return n;
}

int64_t test_wait_ms(int64_t ms)
{
	const char *scale = getenv("OCSTOP_TEST_TIME_SCALE");
	long n = scale != NULL ? strtol(scale, NULL, 10) : 1;

	return n > 1 ? ms * n : ms;
}
