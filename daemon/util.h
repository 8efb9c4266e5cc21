/* Small helpers every daemon module uses. */
#ifndef OCSTOP_UTIL_H
#define OCSTOP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* strdup that accepts NULL (returns NULL). Sets *failed on allocation failure
 * of a non-NULL input so callers can report it. */
char *xstrdup_or_null(const char *s, bool *failed);

/* True when path equals dir or lies inside it (component-wise). */
bool path_within(const char *path, const char *dir);

#endif
