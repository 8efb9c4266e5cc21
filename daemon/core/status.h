/* A session's run state, as OpenCode reports it. */
#ifndef OCSTOP_CORE_STATUS_H
#define OCSTOP_CORE_STATUS_H

#include <stdbool.h>

enum session_status {
	SESSION_IDLE,
	SESSION_BUSY,
	SESSION_RETRY, /* waiting to retry a failed model request: still running */
};

/* "idle", "busy", "retry": the wire names (PROTOCOL.md). */
const char *session_status_name(enum session_status s);
bool session_status_running(enum session_status s);

#endif
