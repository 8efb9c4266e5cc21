#include <string.h>

#include "core/clock.h"
#include "engine/engine.h"
#include "engine/stop.h"
#include "proto.h"
#include "rpc/rpc.h"

/* What the shim did with an x: {session, message_id?, directory?, verdict:
 * "abort"|"clear", by: "daemon"|"shim", aborted: bool}. by "shim": the
 * daemon's verdict came too late or not at all, so the shim decided alone;
 * the daemon counts that verdict and proves that stop too. aborted false:
 * the shim's own abort of the session failed, so the daemon's stop sends it. */
static int method_x_done(const struct rpc_call *call, const msgpack_object *opts, const char **msg)
{
	const char *verdict = NULL, *by = NULL;
	size_t verdict_len = 0, by_len = 0;
	bool aborted = true, alone;
	struct rpc_x x;
	int rc;

	if ((rc = rpc_x_read(opts, &x, msg)) != 0)
		return rc;
	if (proto_map_str(opts, "verdict", &verdict, &verdict_len) != PROTO_OK ||
	    proto_map_str(opts, "by", &by, &by_len) != PROTO_OK ||
	    proto_map_bool(opts, "aborted", &aborted) == PROTO_ERR ||
	    !((verdict_len == 5 && memcmp(verdict, "abort", 5) == 0) ||
		(verdict_len == 5 && memcmp(verdict, "clear", 5) == 0)) ||
	    !((by_len == 4 && memcmp(by, "shim", 4) == 0) ||
		(by_len == 6 && memcmp(by, "daemon", 6) == 0))) {
		*msg = "x.done needs verdict (\"abort\" or \"clear\") and by (\"shim\" or "
		       "\"daemon\"); aborted is a boolean";
		return PROTO_EBADREQ;
	}
	alone = by_len == 4;
	if (alone) {
		rpc_x_verdict(call, x.session, verdict[0] == 'a' ? "abort" : "clear");
		if (verdict[0] == 'a')
			rpc_x_stop(call, &x, RPC_X_ALONE | (aborted ? RPC_X_SHIM_ABORTED : 0));
		return 0;
	}
	if (!aborted && verdict[0] == 'a')
		stop_abort_skipped(rpc_engine(call), x.session, clock_now_ms());
	return 0;
}

const struct method_entry method_x_done_entry = {
	.name = PROTO_M_X_DONE,
	.how = METHOD_NOTIFY,
	.exec = method_x_done,
};
