/* msgpack objects to jansson values. Depth is bounded by the proto reader
 * (PROTO_MAX_DEPTH), so the recursion is too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tojson.h"

static json_t *tojson_fail(char **cause, const char *why);
static json_t *tojson_array(const msgpack_object_array *a, char **cause);
static json_t *tojson_map(const msgpack_object_map *m, char **cause);

/* Sets *cause; NULL when even that allocation fails (reported as out of
 * memory). */
static json_t *tojson_fail(char **cause, const char *why)
{
	*cause = strdup(why);
	return NULL;
}

static json_t *tojson_array(const msgpack_object_array *a, char **cause)
{
	json_t *arr, *v;
	uint32_t i;

	if ((arr = json_array()) == NULL)
		return tojson_fail(cause, "out of memory");
	for (i = 0; i < a->size; i++) {
		if ((v = tojson(&a->ptr[i], cause)) == NULL) {
			json_decref(arr);
			return NULL;
		}
		if (json_array_append_new(arr, v) == -1) {
			json_decref(arr);
			return tojson_fail(cause, "out of memory");
		}
	}
	return arr;
}

static json_t *tojson_map(const msgpack_object_map *m, char **cause)
{
	const msgpack_object *k;
	json_t *obj, *v;
	char *key;
	uint32_t i;

	if ((obj = json_object()) == NULL)
		return tojson_fail(cause, "out of memory");
	for (i = 0; i < m->size; i++) {
		k = &m->ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR) {
			json_decref(obj);
			return tojson_fail(cause, "a map key is not a string");
		}
		/* jansson keys are C strings: a key holding NUL has no JSON form here. */
		if (memchr(k->via.str.ptr, '\0', k->via.str.size) != NULL) {
			json_decref(obj);
			return tojson_fail(cause, "a map key holds a NUL byte");
		}
		if ((key = strndup(k->via.str.ptr, k->via.str.size)) == NULL) {
			json_decref(obj);
			return tojson_fail(cause, "out of memory");
		}
		if ((v = tojson(&m->ptr[i].val, cause)) == NULL) {
			free(key);
			json_decref(obj);
			return NULL;
		}
		if (json_object_set_new(obj, key, v) == -1) {
			free(key);
			json_decref(obj);
			return tojson_fail(cause, "a map key is not UTF-8");
		}
		free(key);
	}
	return obj;
}

json_t *tojson(const msgpack_object *o, char **cause)
{
	json_t *v;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		v = json_null();
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		v = json_boolean(o->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		/* json_int_t is signed; past its range keep the magnitude. */
		if (o->via.u64 > (uint64_t)INT64_MAX)
			v = json_real((double)o->via.u64);
		else
			v = json_integer((json_int_t)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		v = json_integer((json_int_t)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		/* JSON has no NaN or infinity. */
		v = isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
		break;
	case MSGPACK_OBJECT_STR:
		if ((v = json_stringn(o->via.str.ptr, o->via.str.size)) == NULL)
			return tojson_fail(cause, "a string is not UTF-8");
		return v;
	case MSGPACK_OBJECT_ARRAY:
		return tojson_array(&o->via.array, cause);
	case MSGPACK_OBJECT_MAP:
		return tojson_map(&o->via.map, cause);
	default:
		return tojson_fail(cause, "binary or extension data");
	}
	if (v == NULL)
		return tojson_fail(cause, "out of memory");
	return v;
}
