#!/bin/bash
# core-abort.sh — ocstopd + ocstop stop a real OpenCode (serve, with a password), verified by events.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

world_start
mkdir -p "$PROJ/src/deep"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
export OPENCODE_SERVER_PASSWORD=$OC_PASSWORD
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not start"
unset OPENCODE_SERVER_PASSWORD
tap_ok "daemon connects to OpenCode with the password" wait_until 10 ocstop_connected "$OC_URL"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# 1. ocstop abort SESSION on a streaming session.
S=$(oc_session_new "$PROJ") || tap_bail "no session"
stream "$S" hello || tap_bail "no stream"
out=$(ocstop -j abort "$S"); rc=$?
tap_ok "ocstop abort SESSION exits 0" test "$rc" = 0
tap_ok "result says stopped=true for $S" grep -q "\"session\":\"$S\",\"stopped\":true" <<<"$out"
ms=$(json_field "$out" ms)
tap_ok "result carries the stop latency ($ms ms)" test "${ms:--1}" -ge 0
tap_ok "OpenCode reports the session idle" oc_is_idle "$S"
tap_ok "the model stream is closed" wait_until 2 fake_no_open_stream
n=$(fake_requests); parts=$(sse_parts_for "$T/events.sse" "$S")
tap_ok "no model request for 1 s after the stop" stays_false 1 fake_requests_gt "$n"
tap_ok "no part event for 1 s after the stop" test "$(sse_parts_for "$T/events.sse" "$S")" = "$parts"

# 2. `ocstop` with no arguments, from a subfolder of the session's directory.
stream "$S" "hello again" || tap_bail "no stream"
out=$(cd "$PROJ/src/deep" && ocstop); rc=$?
tap_ok "bare ocstop in a subfolder stops the project's session" \
  eval '[ "$rc" = 0 ] && [[ $out == "stopped $S"*"(verified)"* ]]'
tap_diag "$out"
tap_ok "session idle after bare ocstop" oc_is_idle "$S"

# 3. A bash tool running `sleep 300` is killed, and the model gets no tool result.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S2" 'TOOL(sleep 300)'
tap_ok "bash tool runs sleep 300" wait_until 30 oc_proc_running 'sleep 300'
wait_until 10 ocstop_knows_busy "$S2"
n=$(fake_requests)
out=$(ocstop -j abort "$S2")
tap_ok "stop during a bash tool is verified" grep -q '"stopped":true' <<<"$out"
tap_ok "sleep 300 is gone" wait_until 5 oc_proc_gone 'sleep 300'
tap_ok "no model request with the tool result" stays_false 1 fake_requests_gt "$n"

# 4. A subagent: the child session is stopped with its parent.
S3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S3" 'TASK(write a poem)'
wait_until 30 oc_has_children "$S3"
C=$(oc_child_ids "$S3" | head -n1)
tap_ok "child session streams" wait_until 30 eval 'fake_has_open_stream && ocstop_knows_busy "$C"'
out=$(ocstop -j abort "$C")
tap_ok "aborting the child stops the whole tree (root $S3)" \
  grep -q "\"session\":\"$S3\",\"stopped\":true,\"children\":\[\"$C\"\]" <<<"$out"
tap_diag "$out"
tap_ok "parent and child idle" eval 'oc_is_idle "$S3" && oc_is_idle "$C"'
n=$(fake_requests)
tap_ok "no model request after the tree stop" stays_false 1 fake_requests_gt "$n"

# 5. Nothing to stop: an idle session, an unknown one.
out=$(ocstop abort "$S"); rc=$?
tap_ok "abort of an idle session: nothing to stop, exit 0" eval '[ $rc = 0 ] && [ "$out" = "nothing to stop" ]'
out=$(ocstop -j abort ses_doesnotexist); rc=$?
tap_ok "abort of an unknown session: empty results, exit 0" eval '[ $rc = 0 ] && [ "$out" = "{\"results\":[]}" ]'

# 6. A retrying session (provider answers 429) is stopped.
S4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S4" 'FAIL429(2)'
tap_ok "daemon sees the session retrying" wait_until 30 eval 'ocstop -j status | grep -q "\"id\":\"$S4\"[^}]*\"status\":\"retry\""'
out=$(ocstop -j abort "$S4")
tap_ok "stop during retry is verified" grep -q '"stopped":true' <<<"$out"

# 7. A session the daemon never saw: it started before this daemon, in a directory the daemon has
#    not heard of, and sits silently in a long tool. Asked for by id, it is looked up and stopped.
OTHER=$T/other
mkdir -p "$OTHER"
S5=$(oc_session_new "$OTHER") || tap_bail "no session"
ocstopd_stop
oc_prompt "$S5" 'TOOL(sleep 300)'
wait_until 30 oc_proc_running 'sleep 300'
export OPENCODE_SERVER_PASSWORD=$OC_PASSWORD
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not restart"
unset OPENCODE_SERVER_PASSWORD
wait_until 10 ocstop_connected "$OC_URL"
tap_ok "a new daemon has not seen the silent session" not ocstop_knows_busy "$S5"
out=$(ocstop -j abort "$S5")
tap_ok "ocstop abort ID looks it up and stops it" grep -q "\"session\":\"$S5\",\"stopped\":true" <<<"$out"
tap_ok "its sleep 300 is gone" wait_until 5 oc_proc_gone 'sleep 300'
ocstopd_stop

# 8. Wrong password: a clear error, not "nothing to stop".
export OPENCODE_SERVER_PASSWORD=not-the-pw-$$
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not restart"
unset OPENCODE_SERVER_PASSWORD
wait_until 5 eval 'ocstop -j status | grep -q 401'
err=$(ocstop abort --all 2>&1); rc=$?
tap_ok "wrong password: abort exits 2" test "$rc" = 2
tap_ok "wrong password: the error names the cause" grep -q "401 unauthorized (wrong or missing password" <<<"$err"
tap_diag "$err"
tap_ok "no password appears in the log" not grep -qF -e "$OC_PASSWORD" -e "not-the-pw-$$" "$OCSTOPD_LOG"
ocstopd_stop
tap_ok "SIGTERM removes the socket" test ! -e "$OCSTOP_SOCKET"

tap_done
