/* The JSON form of a reply, for -j: msgpack maps become objects, and so on. */
#ifndef OCSTOP_CLIENT_TOJSON_H
#define OCSTOP_CLIENT_TOJSON_H

#include <jansson.h>
#include <msgpack.h>

/* Caller frees with json_decref(). NULL with *cause set (caller frees) when
 * o has no JSON form: a key that is not a string, binary or extension data,
 * a string that is not UTF-8. */
json_t *tojson(const msgpack_object *o, char **cause);

#endif
