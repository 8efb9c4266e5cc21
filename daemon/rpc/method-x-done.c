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
	const msgpack_object *verdict, *by;
	bool aborted = true, is_abort, alone;
	struct rpc_x x;
	int rc;

	if ((rc = rpc_x_read(opts, &x, msg)) != 0)
		return rc;
	verdict = proto_map_get(opts, "verdict");
	by = proto_map_get(opts, "by");
	is_abort = verdict != NULL && proto_str_eq(verdict, "abort");
	alone = by != NULL && proto_str_eq(by, "shim");
	if ((!is_abort && (verdict == NULL || !proto_str_eq(verdict, "clear"))) ||
	    (!alone && (by == NULL || !proto_str_eq(by, "daemon"))) ||
	    proto_map_bool(opts, "aborted", &aborted) == PROTO_ERR) {
		*msg = "x.done needs verdict (\"abort\" or \"clear\") and by (\"shim\" or "
		       "\"daemon\"); aborted is a boolean";
		return PROTO_EBADREQ;
	}
	/* A stop that waits for the shim's abort of the session, or left it to
	 * the shim, is this x's, even when the shim says it decided alone: the
	 * daemon's verdict reached it after its deadline. That stop, counted
	 * and told already, goes on: the shim's abort is on its way no more,
	 * returned or failed (then the daemon sends it). Another x the shim
	 * decided alone (another message_id) is that x's own. */
	if (is_abort && (!alone || x.message_id[0] == '\0' || rpc_x_was_answered(call, &x)) &&
	    stop_shim_aborts(rpc_engine(call), x.session)) {
		stop_caller_done(rpc_engine(call), x.session, clock_now_ms());
		if (!aborted)
			stop_abort_skipped(rpc_engine(call), x.session, clock_now_ms());
		return 0;
	}
	if (alone) {
		rpc_x_verdict(call, &x, is_abort ? "abort" : "clear");
		if (is_abort)
			rpc_x_stop(call, &x, RPC_X_ALONE | (aborted ? RPC_X_SHIM_ABORTED : 0));
	}
	return 0;
}

const struct method_entry method_x_done_entry = {
	.name = PROTO_M_X_DONE,
	.how = METHOD_NOTIFY,
	.exec = method_x_done,
};
