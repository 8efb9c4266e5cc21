#!/bin/bash
# fault-opencode-down.sh — stops asked for while OpenCode is down: `ocstop abort --all` and
# `ocstop abort SESSION` for a session OpenCode was running when it was killed, and for one the daemon
# never saw, each answer clear (its exit code and message as the README gives them) and prompt; while
# another OpenCode with the shim runs beside the dead one, x there still stops its session.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

# The daemon's wait for proof (stop_timeout_ms, its default): no answer here needs even one.
ANSWER_BOUND_MS=3000

tap_plan 14
world_start --shim
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT
ocstopd_start "$T" --opencode "$URL" || tap_bail "ocstopd did not start"
OC_SERVE_PORT=$PORT oc_serve_start "$T" "$PROJ" || tap_bail "opencode serve did not start"
monitor_start
S=$(oc_session_new "$PROJ") || tap_bail "no session"
stream "$S" hello || tap_bail "no stream"
kill -KILL "$OC_PID"; wait "$OC_PID" 2>/dev/null
tap_ok "the daemon notices OpenCode was killed" wait_until 30 not ocstop_connected "$URL"

# timed DESC WANT CMD... — tap_run, and MS is how long CMD took.
timed() {
  local t0; t0=$(now_ms)
  tap_run "$@"; local rc=$?
  MS=$(($(now_ms) - t0))
  return $rc
}
A=()
timed "OpenCode down: abort --all exits 3 (not stopped)" 3 ocstop abort --all; A+=("$MS")
tap_match "OpenCode down: abort --all names the session and says it could not reach OpenCode" \
  "^NOT stopped $S: .*(Couldn't connect|connect)" "$OUT$ERR"
tap_diag "$OUT$ERR"
timed "OpenCode down: abort SESSION exits 3 (not stopped)" 3 ocstop -j abort "$S"; A+=("$MS")
tap_ok "OpenCode down: abort SESSION's result says why" abort_not_stopped_because "$OUT" "$S" "abort request failed"
timed "OpenCode down: abort of a session never seen exits 2" 2 ocstop abort ses_neverseen; A+=("$MS")
tap_contains "OpenCode down: the error says OpenCode cannot be reached" "cannot reach OpenCode at $URL" "$ERR"
tap_diag "$ERR"
tap_diag "answers while OpenCode is down (ms): ${A[*]}"
slow=$(printf '%s\n' "${A[@]}" | awk -v b=$ANSWER_BOUND_MS '$1 > b' | head -n1)
tap_ok "each answered within $ANSWER_BOUND_MS ms (max $(printf '%s\n' "${A[@]}" | sort -n | tail -n1) ms)" test -z "$slow"
tap_ok "the daemon still answers" ocstop -q ping

# Another OpenCode, with the shim, beside the dead one: x there stops its session, verified, as fast
# as ever (the dead server's retries hold nothing up).
mkdir -p "$T/b"
oc_serve_start "$T/b" "$T/projb" || tap_bail "second opencode serve did not start"
SB=$(oc_session_new "$T/projb") || tap_bail "no session on the second server"
tap_ok "the second OpenCode's shim registered" wait_until 30 ocstop_connected "$OC_URL"
stream "$SB" hello || tap_bail "no stream on the second server"
n=$(stops_for "$SB")
t0=$(now_ms)
oc_prompt "$SB" x || tap_bail "prompt_async failed"
tap_ok "x on the live OpenCode: verified stop" wait_until 30 stops_at_least "$SB" $((n + 1))
tap_diag "x on the live OpenCode -> verified stop seen: $(($(now_ms) - t0)) ms"
tap_ok "x on the live OpenCode: it reports the session idle" oc_is_idle "$SB"
timed "abort --all with one OpenCode down and one up, nothing running there: exits 3 for the dead one's session" \
  3 ocstop -j abort --all
tap_ok "abort --all: the live server's idle session is not in the results" not abort_names "$OUT" "$SB"

tap_done
