/* Small helpers every daemon layer uses. */
#ifndef OCSTOP_CORE_UTIL_H
#define OCSTOP_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A numeric constant as a string literal, so a message quotes a limit from
 * its one definition. */
#define NUM_STR(x) NUM_STR_(x)
#define NUM_STR_(x) #x

/* Elements in a fixed array. */
#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* True when path equals dir or lies inside it (component-wise). */
bool path_within(const char *path, const char *dir);

/* Replace *field with a copy of value when value is not NULL and differs;
 * -1 when memory runs out (*field is then unchanged). */
int str_replace(char **field, const char *value);

/* strdup that passes NULL through and sets *failed when memory runs out;
 * lets a constructor copy several optional strings and check once. */
char *str_dup_or_null(const char *s, bool *failed);

/* True for 1, 10, 100...: repeated events are logged at those counts only,
 * so a flood of them cannot flood the log. */
bool is_power_of_ten(uint64_t n);

#endif
