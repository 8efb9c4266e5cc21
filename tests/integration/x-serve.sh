#!/bin/bash
# x-serve.sh — typing x stops a real `opencode serve` session through the plugin shim and ocstopd:
# verdicts, the whole tree, tools, retries, the fail-safe without the daemon, two servers at once.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 42
world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
monitor_start
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

no_busy_for() { stays_false "$2" ocstop_knows_busy "$1"; }
# x_stops SID — type x in SID and expect one more verified stop of it from the daemon.
x_stops() {
  local n; n=$(stops_for "$1") || return 2
  oc_prompt "$1" "$2" && wait_until 30 stops_at_least "$1" $((n + 1))
}

S=$(oc_session_new "$PROJ") || tap_bail "no session"
tap_ok "the shim registered the server; the daemon reaches it over HTTP" wait_until 30 ocstop_connected "$OC_URL"

# 1. x on a streaming session.
stream "$S" hello || tap_bail "no stream"
tap_ok "the event capture sees the reply's parts" wait_until 30 sse_has_parts "$T/events.sse" "$S"
tap_ok "x: the daemon reports a verified stop" x_stops "$S" x
tap_ok "x: OpenCode reports the session idle" oc_is_idle "$S"
VERIFIED='ocstop: stopped in [0-9]+ ms \(verified\)'
tap_ok "x: the toast says the stop is verified, with its latency" \
  wait_until 10 sse_toasts_gt "$T/events.sse" "$VERIFIED" 0
tap_ok "x: ocstop monitor shows the stop verified" wait_until 10 monitor_says_gt "stop $S verified .*origin=x" 0
n=$(fake_requests); parts=$(sse_parts_for "$T/events.sse" "$S")
tap_ok "x: no busy status for 2 s" no_busy_for "$S" 2
tap_eq "x: no model request for 2 s" "$n" "$(fake_requests)"
tap_eq "x: no part event for 2 s" "$parts" "$(sse_parts_for "$T/events.sse" "$S")"
tap_ok "x: no x and no empty user message in the history" history_clean "$S"

# 2. What counts as the stop word.
stream "$S" hello || tap_bail "no stream"
tap_ok "' X\\n' stops it too" x_stops "$S" $' X\n'
reached_model() { grep -q "\"last_user\":$(json_str "$1")" "$FAKE_LOG"; }
for w in xx "x y" fix; do
  turn_over "$S" && oc_prompt "$S" "$w" || tap_bail "prompt_async failed"
  tap_ok "'$w' passes and reaches the model" wait_until 30 reached_model "$w"
  wait_until 30 fake_has_open_stream || tap_bail "no stream for '$w'"
  ocstop -q abort "$S" || tap_bail "ocstop abort after '$w' failed"
done

# 3. x while a bash tool runs `sleep 300`.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S2" 'TOOL(sleep 300)' || tap_bail "prompt_async failed"
wait_until 30 oc_proc_running 'sleep 300' || tap_bail "no sleep 300"
P=$(oc_proc_pid 'sleep 300')
wait_until 30 ocstop_knows_busy "$S2" || tap_bail "the daemon never saw $S2 busy"
n=$(fake_requests)
tap_ok "x during a bash tool: verified stop" x_stops "$S2" x
tap_ok "x during a bash tool: sleep 300 is gone" wait_until 30 pid_gone "$P"
tap_ok "x during a bash tool: the model never gets the tool result" stays_false 2 fake_requests_gt "$n"

# 4. x while a subagent's child session streams: parent and child stop.
S3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S3" 'TASK(write a poem)' || tap_bail "prompt_async failed"
wait_until 30 oc_has_children "$S3" || tap_bail "no child session"
C=$(oc_child_ids "$S3" | head -n1)
child_streams() { fake_has_open_stream && ocstop_knows_busy "$1"; }
wait_until 30 child_streams "$C" || tap_bail "the child does not stream"
tap_ok "x during a subagent: the tree stop is verified" x_stops "$S3" x
both_idle() { oc_is_idle "$1" && oc_is_idle "$2"; }
tap_ok "x during a subagent: parent and child idle" both_idle "$S3" "$C"
tap_ok "x during a subagent: stays stopped 2 s" no_busy_for "$C" 2

# 5. x while OpenCode retries a failing provider.
S4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S4" 'FAIL429(2)' || tap_bail "prompt_async failed"
wait_until 30 oc_is_retry "$S4" || tap_bail "no retry"
tap_ok "x during retry: verified stop" x_stops "$S4" x
n=$(fake_requests)
tap_ok "x during retry: no further attempt" stays_false 3 fake_requests_gt "$n"

# 6. x on an idle session: cleared, nothing reaches the model.
n=$(fake_requests)
clears=$(verdicts_for "$S" clear)
oc_prompt "$S" x || tap_bail "prompt_async failed"
tap_ok "x on an idle session: verdict clear" wait_until 30 verdicts_at_least "$S" clear $((clears + 1))
tap_ok "x on an idle session: no model request" stays_false 2 fake_requests_gt "$n"
tap_ok "x on an idle session: nothing in the history" history_clean "$S"
tap_ok "x on an idle session: the toast says nothing was running" \
  wait_until 10 sse_toasts_gt "$T/events.sse" 'ocstop: nothing was running' 0
# A stop the shim made alone (the daemon hung) and the daemon proved afterwards says either.
VERIFIED_ANY='ocstop: stopped[^"]*\(verified\)'
toasts_verified=$(sse_toasts "$T/events.sse" "$VERIFIED_ANY")

# 7. The fail-safe. With ocstopd hung (connected, never answering: SIGSTOP) the shim waits at most
#    VERDICT_DEADLINE_MS (50 ms) for a verdict, then aborts by itself; with ocstopd absent it aborts at
#    once. Each is timed from the x to the session's idle event against baselines measured here,
#    interleaved round by round with it so that a busy machine slows all alike:
#      F  the floor: POST /session/:id/abort -> idle
#      U  x with the daemon up -> idle (the daemon decides and aborts)
#      H  x with the daemon hung -> idle;  A  x with the daemon absent -> idle
#    H is U's path with a 50 ms wait and the shim's own abort in place of the daemon's; A is U's path
#    with no wait. The bounds allow the medians twice U (the machine's load changes between samples)
#    and 100 ms of scheduling noise:  median(H) <= 2 median(U) + 50 + 100,  median(A) <= 2 median(U)
#    + 100. A shim that waits a second (its client timeout) or more, or never aborts, fails them.
ROUNDS=5
idle_timer_start || tap_bail "no stop timer"
F=() U=() H=() A=() bad=()
# sample ARRAY SID WHAT — time a stop (time_to_idle) into ARRAY; a failed one goes to bad.
sample() {
  if time_to_idle "$2" "$3" 2>"$T/sample.err"; then eval "$1+=($IDLE_MS)"
  else bad+=("$1: $(cat "$T/sample.err")"); fi
}
for r in $(seq 1 $ROUNDS); do
  stream "$S" hello || tap_bail "no stream (round $r, F)"
  sample F "$S" --abort
  stream "$S" hello || tap_bail "no stream (round $r, U)"
  stops=$(stops_for "$S")
  sample U "$S" x
  # The daemon's proof of that stop ends before the next reply starts.
  wait_until 30 stops_at_least "$S" $((stops + 1)) || bad+=("U: no verified stop (round $r)")
  stream "$S" hello || tap_bail "no stream (round $r, H)"
  verdicts=$(verdicts_for "$S" "")
  kill -STOP "$OCSTOPD_PID"
  sample H "$S" x
  kill -CONT "$OCSTOPD_PID"
  # The daemon answers the x it was sent while hung (the session is idle by now) before going on.
  wait_until 30 verdicts_at_least "$S" "" $((verdicts + 1)) || bad+=("H: the daemon gave no late verdict (round $r)")
  history_clean "$S" 2>/dev/null || bad+=("H: x in the history (round $r)")
  ocstopd_stop || tap_bail "ocstopd did not stop"
  stream_plain "$S" hello || tap_bail "no stream (round $r, A)"
  n=$(fake_requests)
  sample A "$S" x
  stays_false 0.5 fake_requests_gt "$n" 2>/dev/null || bad+=("A: a model request after the stop (round $r)")
  history_clean "$S" 2>/dev/null || bad+=("A: x in the history (round $r)")
  ocstopd_start "$T" || tap_bail "ocstopd did not restart"
  monitor_start
  wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the shim did not register again (round $r)"
done
tap_diag "F (abort -> idle, ms): ${F[*]}"
tap_diag "U (x, daemon up): ${U[*]}"
tap_diag "H (x, daemon hung): ${H[*]}"
tap_diag "A (x, daemon absent): ${A[*]}"
tap_eq "fail-safe: every x stopped its session, none reached the model or the history" "" "${bad[*]}"
mU=$(median "${U[@]}"); mH=$(median "${H[@]}"); mA=$(median "${A[@]}")
tap_ok "with ocstopd hung, x stops the session: median ${mH:-?} ms <= 2 * ${mU:-?} + 150 ms" \
  test "${mH:-x}" -le $((2 * ${mU:-0} + 150))
tap_ok "without ocstopd, x stops the session: median ${mA:-?} ms <= 2 * ${mU:-?} + 100 ms" \
  test "${mA:-x}" -le $((2 * ${mU:-0} + 100))
tap_eq "without ocstopd, each toast says the stop is not verified" "$ROUNDS" \
  "$(sse_toasts "$T/events.sse" 'ocstop: abort sent; not verified — ocstopd is not running')"
# U's stops, and H's: the shim stopped alone, told the daemon, which proved that stop too.
tap_ok "with ocstopd up or hung, each toast says the stop is verified" \
  test "$(sse_toasts "$T/events.sse" "$VERIFIED_ANY")" -ge $((toasts_verified + 2 * ROUNDS))
tap_eq "no toast says NOT stopped" 0 "$(sse_toasts "$T/events.sse" 'ocstop: NOT[^"]*')"

# 8. Two servers at once: x in each stops only its own session.
A_URL=$OC_URL
mkdir -p "$T/b"
oc_serve_start "$T/b" "$T/projb" "pw-$$" || tap_bail "second opencode serve did not start"
B_URL=$OC_URL
OC_URL=$A_URL; SA=$(oc_session_new "$PROJ") || tap_bail "no session on A"
OC_URL=$B_URL; SB=$(oc_session_new "$T/projb") || tap_bail "no session on B"
both_registered() { ocstop_connected "$A_URL" && ocstop_connected "$B_URL"; }
tap_ok "two servers: both shims registered" wait_until 30 both_registered
OC_URL=$A_URL; stream "$SA" hello || tap_bail "no stream on A"
OC_URL=$B_URL; stream "$SB" hello || tap_bail "no stream on B"
OC_URL=$A_URL
tap_ok "two servers: x on A stops A" x_stops "$SA" x
tap_ok "two servers: B keeps running" stays_false 1 not ocstop_knows_busy "$SB"
OC_URL=$B_URL
tap_ok "two servers: x on B stops B" x_stops "$SB" x
tap_ok "two servers: B idle" oc_is_idle "$SB"
OC_URL=$A_URL
tap_ok "two servers: A idle" oc_is_idle "$SA"

# 9. Configured stop words replace the default; the shims learn them when they register again.
ocstopd_stop || tap_bail "ocstopd did not stop"
printf 'stop_words = halt, Stopp\n' >"$T/config"
ocstopd_start "$T" -c "$T/config" || tap_bail "ocstopd did not restart"
monitor_start
tap_ok "stop words: the shims registered again" wait_until 30 ocstop_connected "$A_URL"
stream "$SA" hello || tap_bail "no stream"
tap_ok "stop words: a configured word stops the session" x_stops "$SA" " STOPP "
word_reached_model() { grep -q '"last_user":" STOPP "' "$FAKE_LOG"; }
tap_ok "stop words: the configured word never reaches the model" stays_false 1 word_reached_model
n=$(fake_requests)
xs=$(grep -c '"last_user":"x"' "$FAKE_LOG")
turn_over "$SA" && oc_prompt "$SA" x || tap_bail "prompt_async failed"
x_reached_model() { fake_requests_gt "$1" && [ "$(grep -c '"last_user":"x"' "$FAKE_LOG")" -gt "$2" ]; }
tap_ok "stop words: x is an ordinary message then" wait_until 30 x_reached_model "$n" "$xs"
ocstop -q abort --all

tap_done
