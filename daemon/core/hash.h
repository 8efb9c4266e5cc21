/*
 * uthash (Debian's uthash-dev) as the daemon uses it: a failed allocation
 * leaves the element out instead of calling exit(). After HASH_ADD*, the
 * element is in the table exactly when its handle's tbl is not NULL.
 * Include this, never <uthash.h> directly, so every table behaves alike.
 */
#ifndef OCSTOP_CORE_HASH_H
#define OCSTOP_CORE_HASH_H

#define HASH_NONFATAL_OOM 1
#include <uthash.h>

#endif
