#!/bin/bash
# core-abort.sh — ocstopd + ocstop stop a real OpenCode (serve, with a password), verified by events.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 45
world_start
mkdir -p "$PROJ/src/deep"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
# ocstopd_with_password [ARGS...] — (re)start the daemon with the server password in its environment.
ocstopd_with_password() { OPENCODE_SERVER_PASSWORD=$OC_PASSWORD ocstopd_start "$T" --opencode "$OC_URL" "$@"; }
ocstopd_with_password || tap_bail "ocstopd did not start"
tap_ok "daemon connects to OpenCode with the password" wait_until 30 ocstop_connected "$OC_URL"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# 1. ocstop abort SESSION on a streaming session.
S=$(oc_session_new "$PROJ") || tap_bail "no session"
stream "$S" hello || tap_bail "no stream"
tap_ok "the event capture sees the reply's parts" wait_until 30 sse_has_parts "$T/events.sse" "$S"
tap_run "ocstop abort SESSION exits 0" 0 ocstop -j abort "$S"
tap_ok "result says stopped=true for $S" abort_stopped "$OUT" "$S"
ms=$(abort_ms "$OUT" "$S")
tap_ok "result carries the stop latency (${ms:-no} ms)" test "${ms:--1}" -ge 0
tap_ok "OpenCode reports the session idle" oc_is_idle "$S"
tap_ok "the model stream is closed" wait_until 30 fake_no_open_stream
n=$(fake_requests); parts=$(sse_parts_for "$T/events.sse" "$S")
tap_ok "no model request for 1 s after the stop" stays_false 1 fake_requests_gt "$n"
tap_eq "no part event for 1 s after the stop" "$parts" "$(sse_parts_for "$T/events.sse" "$S")"

# 2. `ocstop` with no arguments, from a subfolder of the session's directory.
stream "$S" "hello again" || tap_bail "no stream"
tap_run "bare ocstop in a subfolder exits 0" 0 in_dir "$PROJ/src/deep" ocstop
tap_ok "bare ocstop in a subfolder stops the project's session" said_stopped "$OUT" "$S"
tap_diag "$OUT"
tap_ok "session idle after bare ocstop" oc_is_idle "$S"

# 3. A bash tool running `sleep 300` is killed, and the model gets no tool result.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S2" 'TOOL(sleep 300)' || tap_bail "prompt_async failed"
tap_ok "bash tool runs sleep 300" wait_until 30 oc_proc_running 'sleep 300'
P=$(oc_proc_pid 'sleep 300')
wait_until 30 ocstop_knows_busy "$S2" || tap_bail "the daemon never saw $S2 busy"
n=$(fake_requests)
tap_run "abort during a bash tool exits 0" 0 ocstop -j abort "$S2"
tap_ok "stop during a bash tool is verified" abort_stopped "$OUT" "$S2"
tap_ok "sleep 300 is gone" wait_until 30 pid_gone "$P"
tap_ok "no model request with the tool result" stays_false 1 fake_requests_gt "$n"

# 4. A subagent: the child session is stopped with its parent.
S3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S3" 'TASK(write a poem)' || tap_bail "prompt_async failed"
wait_until 30 oc_has_children "$S3" || tap_bail "no child session"
C=$(oc_child_ids "$S3" | head -n1)
child_streams() { fake_has_open_stream && ocstop_knows_busy "$1"; }
tap_ok "child session streams" wait_until 30 child_streams "$C"
tap_run "abort of the child exits 0" 0 ocstop -j abort "$C"
tap_ok "aborting the child stops the whole tree (root $S3)" abort_tree_stopped "$OUT" "$S3" "$C"
tap_diag "$OUT"
both_idle() { oc_is_idle "$1" && oc_is_idle "$2"; }
tap_ok "parent and child idle" both_idle "$S3" "$C"
n=$(fake_requests)
tap_ok "no model request after the tree stop" stays_false 1 fake_requests_gt "$n"

# 5. Nothing to stop: an idle session, an unknown one.
tap_run "abort of an idle session exits 0" 0 ocstop abort "$S"
tap_eq "abort of an idle session: nothing to stop" "nothing to stop" "$OUT"
# An id OpenCode does not know is not found, said with the id and exit 4, apart from an idle one.
tap_run "abort of an unknown session exits 4" 4 ocstop abort ses_doesnotexist
tap_contains "abort of an unknown session: not found, with the id" "no such session: ses_doesnotexist" "$ERR"
tap_run "abort -j of an unknown session exits 4" 4 ocstop -j abort ses_doesnotexist
tap_ok "abort -j of an unknown session: the not_found error as JSON" \
  jq -e '.error[0] == 3 and (.error[1] | contains("ses_doesnotexist"))' <<<"$OUT"
tap_run "abort of an id OpenCode cannot have made exits 4" 4 ocstop abort hello
tap_contains "abort hello: not found" "no such session: hello" "$ERR"
tap_run "abort of an idle and an unknown session exits 4" 4 ocstop abort "$S" ses_doesnotexist
tap_eq "abort of an idle and an unknown session: nothing to stop, and which was not found" \
  "$(printf 'nothing to stop\nses_doesnotexist not found: no OpenCode server knows it')" "$OUT"

# 6. A retrying session (provider answers 429) is stopped.
S4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S4" 'FAIL429(2)' || tap_bail "prompt_async failed"
tap_ok "daemon sees the session retrying" wait_until 30 ocstop_knows_status "$S4" retry
tap_run "abort during retry exits 0" 0 ocstop -j abort "$S4"
tap_ok "stop during retry is verified" abort_stopped "$OUT" "$S4"

# 7. A session the daemon never saw: it started before this daemon, in a directory the daemon has
#    not heard of, and sits silently in a long tool. Asked for by id, it is looked up and stopped.
OTHER=$T/other
mkdir -p "$OTHER"
S5=$(oc_session_new "$OTHER") || tap_bail "no session"
ocstopd_stop || tap_bail "ocstopd did not stop"
oc_prompt "$S5" 'TOOL(sleep 300)' || tap_bail "prompt_async failed"
wait_until 30 oc_proc_running 'sleep 300' || tap_bail "no sleep 300"
P=$(oc_proc_pid 'sleep 300')
ocstopd_with_password || tap_bail "ocstopd did not restart"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the new daemon did not connect"
tap_ok "a new daemon has not seen the silent session" not ocstop_knows_busy "$S5"
tap_run "ocstop abort ID of an unseen session exits 0" 0 ocstop -j abort "$S5"
tap_ok "ocstop abort ID looks it up and stops it" abort_stopped "$OUT" "$S5"
tap_ok "its sleep 300 is gone" wait_until 30 pid_gone "$P"
ocstopd_stop || tap_bail "ocstopd did not stop"

# 8. Wrong password: a clear error, not "nothing to stop", that says the daemon needs the password
#    and where it goes: the shell that runs ocstop has no say.
OPENCODE_SERVER_PASSWORD=not-the-pw-$$ ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not restart"
wait_until 30 ocstop_server_error_has "$OC_URL" 401 || tap_bail "the daemon reports no 401"
tap_run "wrong password: abort exits 2" 2 ocstop abort --all
tap_contains "wrong password: the error names the cause and where to fix it" \
  "401 unauthorized (ocstopd's password for it is wrong: fix OPENCODE_SERVER_PASSWORD in ocstopd's environment or its password_file, then restart ocstopd)" "$ERR"
tap_diag "$ERR"
tap_ok "no password appears in the log" not grep -qF -e "$OC_PASSWORD" -e "not-the-pw-$$" "$OCSTOPD_LOG"
ocstopd_stop
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not restart"
wait_until 30 ocstop_server_error_has "$OC_URL" 401 || tap_bail "the daemon reports no 401"
tap_run "no password: abort exits 2" 2 ocstop abort --all
tap_contains "no password: the error says the daemon needs one, where, and the restart" \
  "ocstopd has no password for it: give ocstopd OPENCODE_SERVER_PASSWORD in its environment or password_file in its config file and restart ocstopd" "$ERR"
ocstopd_stop
tap_ok "SIGTERM removes the socket" test ! -e "$OCSTOP_SOCKET"

tap_done
