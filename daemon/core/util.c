#include <stdlib.h>
#include <string.h>

#include "core/util.h"

bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	/* An empty string names no directory, so it contains nothing. */
	if (n == 0)
		return false;
	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	if (strncmp(path, dir, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

int str_replace(char **field, const char *value)
{
	char *copy;

	if (value == NULL || (*field != NULL && strcmp(*field, value) == 0))
		return 0;
	if ((copy = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

char *str_dup_or_null(const char *s, bool *failed)
{
	char *copy;

	if (s == NULL)
		return NULL;
	if ((copy = strdup(s)) == NULL)
		*failed = true;
	return copy;
}

bool is_power_of_ten(uint64_t n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n == 1;
}
