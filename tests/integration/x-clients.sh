#!/bin/bash
# x-clients.sh — what each OpenCode client shows when x stops a session. The shim's chosen display
# path (a thrown value OpenCode's HTTP layer answers as 200) must keep working on the pinned
# version: if it stops, these checks fail loudly rather than let users see "server error".
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# The HTTP API, synchronous route: the forged response makes the blocked prompt a plain 200.
S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 10 ocstop_connected "$OC_URL"
stream "$S" hello
code=$(oc_curl -o "$T/sync.out" -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d '{"parts":[{"type":"text","text":"x"}]}' "$OC_URL/session/$S/message")
tap_ok "POST /session/:id/message \"x\" answers 200 (display path intact)" test "$code" = 200
tap_ok "... with the body {}" test "$(cat "$T/sync.out")" = "{}"
tap_ok "... and the session is idle" wait_until 5 oc_is_idle "$S"

# The event stream (what web clients and chat bridges such as Kimaki read): one session.error whose
# message is our sentence.
stream "$S" hello
oc_prompt "$S" x
wait_until 5 oc_is_idle "$S"
tap_ok "session.error says \"Error: ocstop: stopped (x)\"" \
  wait_until 5 grep -q '"type":"session.error".*"message":"Error: ocstop: stopped (x)' "$T/events.sse"
grep -o '"type":"session.error","properties":{[^}]*}[^}]*}' "$T/events.sse" | grep ocstop | tail -n1 >"$T/session-error.txt"
tap_diag "$(cat "$T/session-error.txt")"

# opencode run --attach to the serve, on the busy session.
stream "$S" hello
OPENCODE_SERVER_PASSWORD=$OC_PASSWORD timeout 20 "$(oc_bin)" run --attach "$OC_URL" --session "$S" x \
  >"$T/run-attach.out" 2>&1
rc=$?
tap_ok "opencode run --attach ... x: the session stops" wait_until 5 oc_is_idle "$S"
tap_ok "opencode run --attach ... x: no server error printed" not grep -qi "server error" "$T/run-attach.out"
tap_diag "exit $rc: $(cat "$T/run-attach.out")"

# opencode run (its own in-process server, no port) with nothing running: cleared.
n=$(fake_requests)
( cd "$PROJ" && timeout 60 "$(oc_bin)" run x ) >"$T/run.out" 2>&1
rc=$?
tap_ok "opencode run x with nothing running: no model request" test "$(fake_requests)" = "$n"
tap_ok "opencode run x: no server error printed" not grep -qi "server error" "$T/run.out"
tap_diag "exit $rc: $(cat "$T/run.out")"

tap_done
