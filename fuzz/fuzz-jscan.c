/*
 * The event stream's cheap read, differentially: whatever the input (taken
 * whole as one event's data), jscan() may only read a text jansson reads,
 * and read each path's value as jansson's tree has it; a frame
 * oc_frame_read_delta() takes must read through jansson and oc_event_read()
 * as the same message.part.delta of the same session and directory.
 */
#include <string.h>

#include <jansson.h>

#include "core/jscan.h"
#include "core/opencode.h"
#include "fuzz.h"

static enum jscan_type type_of(const json_t *v)
{
	if (v == NULL)
		return JSCAN_ABSENT;
	if (json_is_string(v))
		return JSCAN_STRING;
	return json_is_object(v) ? JSCAN_OBJECT : JSCAN_OTHER;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct oc_frame f;
	struct jscan_field r[] = {
		{ .path = { "directory" } },
		{ .path = { "payload" } },
		{ .path = { "payload", "type" } },
		{ .path = { "payload", "properties", "sessionID" } },
	};
	const char *text = (const char *)data;
	json_t *tree = json_loadb(text, size, 0, NULL), *v, *payload;
	struct oc_event ev;
	size_t i, k;

	if (jscan(text, size, r, 4) == 0) {
		CHECK(json_is_object(tree));
		for (i = 0; i < 4; i++) {
			for (v = tree, k = 0; r[i].path[k] != NULL; k++)
				v = json_object_get(v, r[i].path[k]);
			CHECK(type_of(v) == r[i].type);
			/* A string without escapes is its own value. */
			if (r[i].type == JSCAN_STRING && !r[i].escaped)
				CHECK(json_string_length(v) == r[i].len &&
				    memcmp(json_string_value(v), r[i].str, r[i].len) == 0);
		}
	}
	if (oc_frame_read_delta(text, size, &f) == 1) {
		payload = json_object_get(tree, "payload");
		CHECK(json_is_object(payload) && oc_event_read(payload, &ev) == OC_PART);
		CHECK(
		    strcmp(ev.type, f.ev.type) == 0 && strcmp(ev.session_id, f.ev.session_id) == 0);
		CHECK(ev.background == NULL && f.ev.background == NULL);
		v = json_object_get(tree, "directory");
		CHECK(json_is_string(v)
			? f.directory != NULL && strcmp(f.directory, json_string_value(v)) == 0
			: f.directory == NULL);
	}
	json_decref(tree);
	return 0;
}
