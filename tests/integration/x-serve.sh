#!/bin/bash
# x-serve.sh — typing x stops a real `opencode serve` session through the plugin shim and ocstopd:
# verdicts, the whole tree, tools, retries, the fail-safe without the daemon, two servers at once.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
monitor_start
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# history_clean SID — no user message with text x (any case/space) and no user message without parts.
history_clean() {
  oc_get "/session/$1/message" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const bad = JSON.parse(s).filter((m) => m.info.role === "user" &&
        (m.parts.length === 0 || m.parts.some((p) => p.type === "text" && p.text.trim().toLowerCase() === "x")));
      process.exit(bad.length ? 1 : 0); });'
}
no_busy_for() { stays_false "$2" ocstop_knows_busy "$1"; }

S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 10 ocstop_connected "$OC_URL"
tap_ok "the shim registered the server; the daemon reaches it over HTTP" ocstop_connected "$OC_URL"

# 1. x on a streaming session.
stream "$S" hello || tap_bail "no stream"
oc_prompt "$S" x
tap_ok "x: the daemon reports a verified stop" wait_until 5 eval '[ "$(stops_for "$S")" -ge 1 ]'
tap_ok "x: OpenCode reports the session idle" oc_is_idle "$S"
n=$(fake_requests); parts=$(sse_parts_for "$T/events.sse" "$S")
tap_ok "x: no busy status for 2 s" no_busy_for "$S" 2
tap_ok "x: no model request for 2 s" test "$(fake_requests)" = "$n"
tap_ok "x: no part event for 2 s" test "$(sse_parts_for "$T/events.sse" "$S")" = "$parts"
tap_ok "x: no x and no empty user message in the history" history_clean "$S"

# 2. What counts as the stop word.
stream "$S" hello || tap_bail "no stream"
oc_prompt "$S" $' X\n'
tap_ok "' X\\n' stops it too" wait_until 5 eval '[ "$(stops_for "$S")" -ge 2 ]'
for w in xx "x y" fix; do
  n=$(fake_requests)
  oc_prompt "$S" "$w"
  tap_ok "'$w' passes and reaches the model" \
    wait_until 15 eval 'grep -q "\"last_user\":$(json_str "$w")" "$FAKE_LOG"'
  wait_until 10 fake_has_open_stream; ocstop -q abort "$S"
done

# 3. x while a bash tool runs `sleep 300`.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S2" 'TOOL(sleep 300)'
wait_until 30 oc_proc_running 'sleep 300'; wait_until 10 ocstop_knows_busy "$S2"
n=$(fake_requests)
oc_prompt "$S2" x
tap_ok "x during a bash tool: verified stop" wait_until 5 eval '[ "$(stops_for "$S2")" -ge 1 ]'
tap_ok "x during a bash tool: sleep 300 is gone" wait_until 5 oc_proc_gone 'sleep 300'
tap_ok "x during a bash tool: the model never gets the tool result" stays_false 2 fake_requests_gt "$n"

# 4. x while a subagent's child session streams: parent and child stop.
S3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S3" 'TASK(write a poem)'
wait_until 30 oc_has_children "$S3"; C=$(oc_child_ids "$S3" | head -n1)
wait_until 30 eval 'fake_has_open_stream && ocstop_knows_busy "$C"'
oc_prompt "$S3" x
tap_ok "x during a subagent: the tree stop is verified" wait_until 5 eval '[ "$(stops_for "$S3")" -ge 1 ]'
tap_ok "x during a subagent: parent and child idle" eval 'oc_is_idle "$S3" && oc_is_idle "$C"'
tap_ok "x during a subagent: stays stopped 2 s" no_busy_for "$C" 2

# 5. x while OpenCode retries a failing provider.
S4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S4" 'FAIL429(2)'
wait_until 30 oc_is_retry "$S4"
oc_prompt "$S4" x
tap_ok "x during retry: verified stop" wait_until 5 eval '[ "$(stops_for "$S4")" -ge 1 ]'
n=$(fake_requests)
tap_ok "x during retry: no further attempt" stays_false 3 fake_requests_gt "$n"

# 6. x on an idle session: cleared, nothing reaches the model.
n=$(fake_requests)
oc_prompt "$S" x
tap_ok "x on an idle session: verdict clear" wait_until 5 grep -q "\"verdict\":\"clear\"" "$T/monitor.jsonl"
tap_ok "x on an idle session: no model request" stays_false 2 fake_requests_gt "$n"
tap_ok "x on an idle session: nothing in the history" history_clean "$S"

# 7. ocstopd hung (connected, never answering), then down: the shim stops the session alone.
stream "$S" hello
kill -STOP "$OCSTOPD_PID"
ms=$(node "$OCSTOP_SRCDIR/tests/lib/send-x.mjs" "$OC_URL" "$OC_PASSWORD" "$PROJ" "$S")
kill -CONT "$OCSTOPD_PID"
tap_ok "with ocstopd hung, x still stops the session within 200 ms ($ms ms)" test "${ms:-999}" -lt 200
tap_ok "with ocstopd hung: no x in the history" history_clean "$S"
ocstopd_stop
stream_plain() { oc_prompt "$1" "$2" && wait_until 30 fake_has_open_stream; }
stream_plain "$S" hello
ms=$(node "$OCSTOP_SRCDIR/tests/lib/send-x.mjs" "$OC_URL" "$OC_PASSWORD" "$PROJ" "$S")
tap_ok "without ocstopd, x still stops the session within 200 ms ($ms ms)" test "${ms:-999}" -lt 200
n=$(fake_requests)
tap_ok "without ocstopd: no model request afterwards" stays_false 2 fake_requests_gt "$n"
tap_ok "without ocstopd: no x in the history" history_clean "$S"

# 8. Two servers at once: x in each stops only its own session.
ocstopd_start "$T" || tap_bail "ocstopd did not restart"
monitor_start
A_URL=$OC_URL A_PID=$OC_PID
mkdir -p "$T/b"
oc_serve_start "$T/b" "$T/projb" "pw-$$" || tap_bail "second opencode serve did not start"
B_URL=$OC_URL
OC_URL=$A_URL; SA=$(oc_session_new "$PROJ")
OC_URL=$B_URL; SB=$(oc_session_new "$T/projb")
tap_ok "two servers: both shims registered" \
  wait_until 10 eval 'ocstop_connected "$A_URL" && ocstop_connected "$B_URL"'
OC_URL=$A_URL; stream "$SA" hello
OC_URL=$B_URL; oc_prompt "$SB" hello; wait_until 10 ocstop_knows_busy "$SB"
OC_URL=$A_URL; oc_prompt "$SA" x
tap_ok "two servers: x on A stops A" wait_until 5 eval '[ "$(stops_for "$SA")" -ge 1 ]'
tap_ok "two servers: B keeps running" eval 'stays_false 1 not ocstop_knows_busy "$SB"'
OC_URL=$B_URL; oc_prompt "$SB" x
tap_ok "two servers: x on B stops B" wait_until 5 eval '[ "$(stops_for "$SB")" -ge 1 ]'
tap_ok "two servers: both idle" eval 'oc_is_idle "$SB" && OC_URL=$A_URL oc_is_idle "$SA"'

# 9. Configured stop words replace the default; the shims learn them when they register again.
ocstopd_stop
printf 'stop_words = halt, Stopp\n' >"$T/config"
ocstopd_start "$T" -c "$T/config" || tap_bail "ocstopd did not restart"
monitor_start
OC_URL=$A_URL
tap_ok "stop words: the shims registered again" wait_until 10 ocstop_connected "$A_URL"
stream "$SA" hello
oc_prompt "$SA" " STOPP "
tap_ok "stop words: a configured word stops the session" wait_until 5 eval '[ "$(stops_for "$SA")" -ge 2 ]'
n=$(fake_requests)
oc_prompt "$SA" x
tap_ok "stop words: x is an ordinary message then" \
  wait_until 15 eval 'fake_requests_gt "$n" && grep -q "\"last_user\":\"x\"" "$FAKE_LOG"'
ocstop -q abort --all

tap_done
