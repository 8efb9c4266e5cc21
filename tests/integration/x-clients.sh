#!/bin/bash
# x-clients.sh — what each OpenCode client shows when x stops a session. The shim's chosen display
# path (a thrown value OpenCode's HTTP layer answers as 200) and its quiet end of a prompt_async
# prompt must keep working on the pinned version: if they stop, these checks fail loudly rather than
# let users see "server error" or a stack trace.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 14
world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
monitor_start
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# The HTTP API, synchronous route: the forged response makes the blocked prompt a plain 200.
S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the shim did not register the server"
stream "$S" hello || tap_bail "no stream"
code=$(oc_curl -o "$T/sync.out" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"parts":[{"type":"text","text":"x"}]}' "$OC_URL/session/$S/message")
tap_eq "POST /session/:id/message \"x\" answers 200 (display path intact)" 200 "$code"
tap_eq "... with the body {}" "{}" "$(cat "$T/sync.out")"
tap_ok "... and the session is idle" wait_until 30 oc_is_idle "$S"

# The event stream (what web clients and chat bridges such as Kimaki read): no error for the x (the
# shim ends that prompt without one, client/opencode-plugin/src/detached.js), only the aborted
# reply's MessageAbortedError, and the stop's sentence in a toast addressed to the session.
other_errors() { grep '"type":"session.error"' "$T/events.sse" | grep -vc MessageAbortedError; }
OUR_TOAST="\"type\":\"tui.toast.show\".*\"message\":\"ocstop: stopped in [0-9]+ ms[^\"]* $S\""
errors=$(other_errors)
toasts=$(sse_count "$T/events.sse" "$OUR_TOAST")
stream "$S" hello || tap_bail "no stream"
oc_prompt "$S" x || tap_bail "prompt_async failed"
tap_ok "prompt_async \"x\": the session stops" wait_until 30 oc_is_idle "$S"
tap_ok "prompt_async \"x\": a toast \"ocstop: stopped in N ms\" addressed to the session" \
  wait_until 30 sse_count_gt "$T/events.sse" "$OUR_TOAST" "$toasts"
tap_eq "prompt_async \"x\": no session.error but the aborted reply's" "$errors" "$(other_errors)"
grep -Eo "$OUR_TOAST" "$T/events.sse" | tail -n1 >"$T/toast.txt"
tap_diag "$(cat "$T/toast.txt")"

# opencode run --attach to the serve, on the busy session: the session stops and the run exits 0,
# printing at most the interrupted turn's "Error: Aborted" (whether it sees that turn's error depends
# on when its own event stream starts: the one abort, the shim's, comes while its prompt is in
# flight).
stream "$S" hello || tap_bail "no stream"
OPENCODE_SERVER_PASSWORD=$OC_PASSWORD timeout 30 "$(oc_bin)" run --attach "$OC_URL" --session "$S" x \
  >"$T/run-attach.out" 2>&1
rc=$?
tap_ok "opencode run --attach ... x: the session stops" wait_until 30 oc_is_idle "$S"
tap_eq "opencode run --attach ... x: exit 0" 0 "$rc"
tap_ok "opencode run --attach ... x: no model request afterwards" stays_false 2 fake_requests_gt "$(fake_requests)"
tap_ok "opencode run --attach ... x: prints nothing but the interrupted turn" \
  not grep -v -e '^$' -e 'Error: .*Aborted$' <(sed 's/\x1b\[[0-9;]*m//g' "$T/run-attach.out")
tap_diag "exit $rc: $(cat "$T/run-attach.out")"

# opencode run (its own in-process server, no port) with nothing running: cleared. Its shim asks the
# daemon when it has connected by then (a clear verdict), else it decides alone (it aborts, and the
# run ends).
n=$(fake_requests)
clears=$(verdicts_for "" clear)
( cd "$PROJ" && timeout 30 "$(oc_bin)" run x ) >"$T/run.out" 2>&1
rc=$?
tap_diag "exit $rc: $(cat "$T/run.out")"
cleared=$(($(verdicts_for "" clear) - clears))
tap_ok "opencode run x: the shim took the x (daemon clears: $cleared, exit $rc)" \
  test "$cleared" = 1 -o "$rc" = 0
tap_eq "opencode run x with nothing running: no model request" "$n" "$(fake_requests)"
tap_ok "opencode run x: no server error printed" not grep -qi "server error" "$T/run.out"
if [ "$cleared" = 1 ]; then
  # It exits on the session's idle event, which the shim's abort makes OpenCode say.
  tap_eq "opencode run x, cleared by the daemon: exit 0" 0 "$rc"
else
  tap_skip "opencode run x, cleared by the daemon: exit 0" "the shim decided alone (not connected yet)"
fi

tap_done
