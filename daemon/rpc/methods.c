#include <string.h>

#include "rpc/rpc-int.h"

/* Keep alphabetized. On the wire, only exact names match. */
static const struct method_entry *const method_table[] = {
	&method_abort_entry,
	&method_check_entry,
	&method_fence_hit_entry,
	&method_message_entry,
	&method_opencode_event_entry,
	&method_ping_entry,
	&method_register_entry,
	&method_status_entry,
	&method_subscribe_entry,
	&method_x_done_entry,
	NULL,
};

const struct method_entry *method_find(const char *name, size_t len)
{
	const struct method_entry *const *m;

	for (m = method_table; *m != NULL; m++)
		if (strlen((*m)->name) == len && memcmp((*m)->name, name, len) == 0)
			return *m;
	return NULL;
}
