/* Small helpers every daemon module uses. */
#ifndef OCSTOP_UTIL_H
#define OCSTOP_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* True when path equals dir or lies inside it (component-wise). */
bool path_within(const char *path, const char *dir);

#endif
