#!/bin/bash
# x-procs.sh — nothing a tool of a stopped tree started runs after the stop: real `opencode serve`
# with the plugin shim, whose bash tool runs a script that leaves processes outside the tool's
# process group (`setsid sleep 301 &`, a `nohup setsid` dev server, one that ignores TERM). The
# daemon ends them once the tree is idle and lists them in the stop (the x's stop event, `ocstop
# abort` and its -j); `ocstop abort --force` ends the tool processes of a stop that stalls (a
# wedged OpenCode, SIGSTOPped); a user's `!command` is marked and ended alike.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 19
world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
monitor_start
sse_capture_start "$T/events.sse" || tap_bail "no event capture"

# marked_pids SID / marked_none SID — the live processes that carry the shim's marker for SID; none
# is left.
marked_pids() { oc_env_pids "OCSTOP_SESSION=$1"; }
marked_none() { oc_env_none "OCSTOP_SESSION=$1"; }
# ended PID... — none of them runs any more (a zombie has ended: this machine's init may never reap
# one).
ended() {
  local p st
  for p; do
    st=$(ps -o stat= -p "$p" | cut -c1)
    [ -z "$st" ] || [ "$st" = Z ] || { echo "$p still runs: $(ps -o args= -p "$p")" >&2; return 1; }
  done
}
# left_none SID PID... — the processes the test saw have ended, and no process of SID is left.
left_none() { local sid=$1; shift; ended "$@" && marked_none "$sid"; }
# live_pid REGEX — the pid of the one live process whose command line is REGEX (whole).
live_pid() {
  local p
  for p in $(pgrep -xf "$1"); do
    [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ] && { echo "$p"; return 0; }
  done
  return 1
}
# holds JSON FILTER [jq options...] — JSON is there and FILTER holds for it (jq 1.6's -e passes an
# empty input).
holds() {
  local json=$1 q=$2; shift 2
  [ -n "$json" ] || { echo "no JSON" >&2; return 2; }
  jq -e "$q" "$@" <<<"$json" >/dev/null || { echo "not so: $json" >&2; return 1; }
}
# A process the test saw is ended at exit whatever happened.
end_at_exit() { oc_at_exit "kill -KILL $1 2>/dev/null"; }
# last_stop SID — the last stop event of SID the monitor recorded (its stop object).
last_stop() { jq -cR --arg s "$1" 'fromjson? | select(.type == "stop" and .stop.session == $s) | .stop' \
  "$T/monitor.jsonl" | tail -n1 | grep .; }
# lists STOP PID COMMAND SIGNAL — the stop object lists the process with that command and last signal.
lists() {
  holds "$1" '.processes | any(.pid == $p and .command == $c and .signal == $g and .ms >= 0)' \
    --argjson p "$2" --arg c "$3" --arg g "$4"
}

# 1. x while the tool runs a script that leaves three processes behind.
cat >"$PROJ/spawn.sh" <<'SH'
#!/bin/bash
# What an agent's command can leave running outside the tool's process group.
setsid sleep 301 &
nohup setsid node -e 'require("http").createServer().listen(0); setInterval(() => {}, 1e6)' devserver >/dev/null 2>&1 &
setsid bash -c 'trap "" TERM; exec sleep 303' &
echo ready >"$1"
sleep 300
SH
S=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S" "TOOL(bash $PROJ/spawn.sh $T/ready)" || tap_bail "prompt_async failed"
wait_until 30 test -s "$T/ready" || tap_bail "the script did not run"
wait_until 10 live_pid 'sleep 301' >/dev/null || tap_bail "no sleep 301"
P1=$(live_pid 'sleep 301'); end_at_exit "$P1"
wait_until 10 live_pid 'node -e .* devserver' >/dev/null || tap_bail "no dev server"
P2=$(live_pid 'node -e .* devserver'); end_at_exit "$P2"
wait_until 10 live_pid 'sleep 303' >/dev/null || tap_bail "no sleep 303"
P3=$(live_pid 'sleep 303'); end_at_exit "$P3"
tap_ok "the tool's processes carry the session's marker" wait_until 5 test "$(marked_pids "$S" | wc -l)" -ge 5
wait_until 30 ocstop_knows_busy "$S" || tap_bail "the daemon never saw $S busy"
t0=$(now_ms)
oc_prompt "$S" x || tap_bail "prompt_async failed"
tap_ok "x: the daemon reports a verified stop" wait_until 30 stops_at_least "$S" 1
tap_diag "x to the stop event: $(($(now_ms) - t0)) ms"
tap_ok "x: no process the tool started is left" left_none "$S" "$P1" "$P2" "$P3"
STOP=$(last_stop "$S") || tap_bail "no stop event of $S"
tap_diag "stop: $STOP"
tap_ok "x: the stop lists setsid sleep 301, ended by TERM" lists "$STOP" "$P1" "sleep 301" TERM
tap_ok "x: the stop lists the nohup'd dev server" \
  holds "$STOP" '.processes | any(.pid == $p and (.command | test("^node -e .* devserver$")))' --argjson p "$P2"
tap_ok "x: the stop lists the one that ignores TERM, ended by KILL after the grace" \
  holds "$STOP" '.processes | any(.pid == $p and .command == "sleep 303" and .signal == "KILL" and .ms >= 1000)' \
  --argjson p "$P3"
tap_eq "x: only those three are listed (OpenCode ended the tool's own)" 3 "$(jq '.processes | length' <<<"$STOP")"
tap_ok "x: the stop was not forced" holds "$STOP" '.force == false and .stopped == true'
tap_ok "x: the toast (x.result's stop) says the three processes were ended" \
  wait_until 10 sse_toasts_gt "$T/events.sse" 'ocstop: stopped in [0-9]+ ms \(verified\) — ended 3 processes' 0

# 2. A tool that ignores TERM: OpenCode's abort leaves it behind and ends the turn at once; the
# daemon KILLs it after the grace. `ocstop abort` (human) lists it.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S2" 'TOOL(trap "" TERM; sleep 310)' || tap_bail "prompt_async failed"
wait_until 30 live_pid 'sleep 310' >/dev/null || tap_bail "no sleep 310"
P4=$(live_pid 'sleep 310'); end_at_exit "$P4"
wait_until 30 ocstop_knows_busy "$S2" || tap_bail "the daemon never saw $S2 busy"
OUT=$(ocstop abort "$S2")
tap_diag "ocstop abort: $OUT"
tap_ok "abort: verified stop" grep -Eq "^stopped $S2 .*\(verified\)$" <<<"$OUT"
tap_ok "abort: ocstop prints the process ended by KILL" \
  grep -Eq "^  ended process $P4 \(sleep 310\): KILL, gone in [0-9]+ ms$" <<<"$OUT"
tap_ok "abort: no process the tool started is left" left_none "$S2" "$P4"

# 3. A wedged OpenCode (SIGSTOP: it answers nothing) cannot stop its tool: the stop stalls. Without
# --force the tool's process runs on; with it, the daemon ends the tool's processes after the retry
# and says so, though it cannot prove the session stopped.
frozen() { kill -STOP "$OC_PID"; oc_at_exit "kill -CONT $OC_PID 2>/dev/null"; }
thaw() { kill -CONT "$OC_PID"; oc_abort "$1" >/dev/null; wait_until 30 oc_is_idle "$1"; }
S3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$S3" 'TOOL(sleep 311)' || tap_bail "prompt_async failed"
wait_until 30 live_pid 'sleep 311' >/dev/null || tap_bail "no sleep 311"
P5=$(live_pid 'sleep 311'); end_at_exit "$P5"
wait_until 30 ocstop_knows_busy "$S3" || tap_bail "the daemon never saw $S3 busy"
frozen
OUT=$(ocstop -j abort --timeout 500 "$S3")
tap_diag "abort of a wedged OpenCode: $OUT"
tap_ok "wedged, no --force: not stopped, no process listed" \
  holds "$OUT" '.results[0] | .session == $s and .stopped == false and .processes == [] and .force == false' \
  --arg s "$S3"
tap_ok "wedged, no --force: the tool's sleep 311 runs on" live_pid 'sleep 311'
thaw "$S3" || tap_bail "OpenCode did not come back"
oc_prompt "$S3" 'TOOL(sleep 312)' || tap_bail "prompt_async failed"
wait_until 30 live_pid 'sleep 312' >/dev/null || tap_bail "no sleep 312"
P6=$(live_pid 'sleep 312'); end_at_exit "$P6"
wait_until 30 ocstop_knows_busy "$S3" || tap_bail "the daemon never saw $S3 busy"
frozen
t0=$(now_ms)
OUT=$(ocstop -j abort --force --timeout 500 "$S3")
tap_diag "abort --force of a wedged OpenCode took $(($(now_ms) - t0)) ms: $OUT"
tap_ok "wedged, --force: the result is forced and lists the tool's sleep 312, ended by TERM" \
  holds "$OUT" '.results[0] | .force == true and .stopped == false and (.processes | any(.pid == $p and .command == "sleep 312" and .signal == "TERM" and .ms >= 0))' \
  --argjson p "$P6"
tap_ok "wedged, --force: no process the tool started is left" left_none "$S3" "$P6"
thaw "$S3" || tap_bail "OpenCode did not come back"

# 4. A `!command` the user runs in the session is a tool's shell too: marked, and what it leaves is
# ended with the tree.
S4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_curl -X POST -H 'content-type: application/json' \
  -d '{"agent": "build", "command": "setsid sleep 305 & sleep 300"}' "$OC_URL/session/$S4/shell" \
  >/dev/null 2>&1 &
oc_track $!
wait_until 30 live_pid 'sleep 305' >/dev/null || tap_bail "no sleep 305"
P7=$(live_pid 'sleep 305'); end_at_exit "$P7"
tap_ok "!command: its processes carry the session's marker" \
  wait_until 5 grep -qzx "OCSTOP_SESSION=$S4" "/proc/$P7/environ"
wait_until 30 ocstop_knows_busy "$S4" || tap_bail "the daemon never saw $S4 busy"
OUT=$(ocstop -j abort "$S4")
tap_ok "!command: the stop lists what it left" \
  holds "$OUT" '.results[0] | .stopped and (.processes | any(.pid == $p and .command == "sleep 305"))' \
  --argjson p "$P7"
tap_ok "!command: no process it started is left" left_none "$S4" "$P7"

tap_done
