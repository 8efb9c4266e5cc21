# tests/lib/ocstop.sh — start the real ocstopd and run the real ocstop CLI (source after oc.sh).
#
#   ocstopd_start "$T" --opencode "$OC_URL"   # OCSTOP_SOCKET OCSTOPD_PID OCSTOPD_LOG
#   ocstop abort "$sid"                        # the built CLI on that socket

# The programs and the shim under test: the build's, or an installed package's when OCSTOPD_BIN,
# OCSTOP_BIN and OCSTOP_SHIM_SRC name them (packaging/build-and-test.sh runs tests that way).
OCSTOPD_BIN=${OCSTOPD_BIN:-$OCSTOP_BUILDDIR/daemon/ocstopd}
OCSTOP_BIN=${OCSTOP_BIN:-$OCSTOP_BUILDDIR/client/ocstop}
OCSTOP_SHIM_SRC=${OCSTOP_SHIM_SRC:-$OCSTOP_SRCDIR/client/opencode-plugin/ocstop.js}
# The time that starts each line of the daemon's log outside journald (ERE), with its space.
OCSTOPD_LOG_TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4} '

# ocstopd_start DIR [ARGS...] — start the daemon on DIR/ocstop.sock with -v, wait until it answers ping.
ocstopd_start() {
  local dir=$1; shift
  export OCSTOP_SOCKET=$dir/ocstop.sock
  OCSTOPD_LOG=$dir/ocstopd.log
  # OCSTOPD_WRAPPER: e.g. "valgrind -q" to run the daemon under a checker.
  ${OCSTOPD_WRAPPER:-} "$OCSTOPD_BIN" -v --no-default-server "$@" >>"$OCSTOPD_LOG" 2>&1 </dev/null &
  OCSTOPD_PID=$!
  oc_track "$OCSTOPD_PID"
  export OCSTOPD_PID OCSTOPD_LOG
  wait_until 30 _ocstopd_answers || { echo "ocstopd did not answer" >&2; tail "$OCSTOPD_LOG" >&2; return 1; }
}

_ocstopd_answers() { "$OCSTOP_BIN" -q ping 2>/dev/null; }
_ocstopd_gone() { ! kill -0 "$OCSTOPD_PID" 2>/dev/null; }

# ocstopd_stop — SIGTERM and wait for the exit.
ocstopd_stop() {
  kill -TERM "$OCSTOPD_PID" 2>/dev/null
  wait_until 30 _ocstopd_gone
}

ocstop() { "$OCSTOP_BIN" "$@"; }

# ---------------------------------------------------------------- the daemon's answers
# Every reading of the daemon's JSON (ocstop -j status, -j abort, -j monitor) is here, so that a change
# of its shapes is met in one place. Probes answer 0 (yes), 1 (no) or 2 (could not tell: the daemon
# did not answer, the JSON did not parse) and say what they saw on stderr, for the diagnostics of a
# failure (tap_ok, wait_until and stays_false show it only then).

# ocstop_status_json — the daemon's `ocstop -j status`; 2 when it fails.
ocstop_status_json() {
  local s rc
  s=$(ocstop -j status); rc=$?
  [ $rc -eq 0 ] || { echo "ocstop -j status: exit $rc" >&2; return 2; }
  printf '%s\n' "$s"
}
# _ocstop_status_q JQ [jq options...] — JQ applied to the status, raw output; 2 on failure.
_ocstop_status_q() {
  local s q=$1; shift
  s=$(ocstop_status_json) || return 2
  jq -er "$q" "$@" <<<"$s" || { echo "no answer to $q in: $s" >&2; return 2; }
}

# ocstop_session_status SID — the daemon's status of SID (busy, retry, idle...), "absent" when unlisted.
ocstop_session_status() {
  _ocstop_status_q '[.sessions[] | select(.id == $id) | .status][0] // "absent"' --arg id "$1"
}
# ocstop_knows_busy SID — the daemon's table has SID busy (or retry).
ocstop_knows_busy() {
  local st; st=$(ocstop_session_status "$1") || return 2
  echo "daemon: session $1 $st" >&2
  [ "$st" = busy ] || [ "$st" = retry ]
}
# ocstop_knows_status SID STATUS — the daemon's table has SID in STATUS.
ocstop_knows_status() {
  local st; st=$(ocstop_session_status "$1") || return 2
  echo "daemon: session $1 $st" >&2
  [ "$st" = "$2" ]
}
# ocstop_server_field URL FIELD — FIELD of the server URL in the daemon's status ("absent" when unlisted).
ocstop_server_field() {
  _ocstop_status_q '[.servers[] | select(.url == $u) | .[$f]][0] | if . == null then "absent" else tostring end' \
    --arg u "$1" --arg f "$2"
}
# ocstop_connected URL — the daemon reports URL connected.
ocstop_connected() {
  local c; c=$(ocstop_server_field "$1" connected) || return 2
  echo "daemon: server $1 connected: $c" >&2
  [ "$c" = true ]
}
# ocstop_server_error_has URL TEXT — the daemon's last error for URL contains TEXT.
ocstop_server_error_has() {
  local e; e=$(ocstop_server_field "$1" last_error) || return 2
  echo "daemon: server $1 last error: $e" >&2
  [[ $e == *"$2"* ]]
}
# ocstop_counter NAME — one of the daemon's counters.
ocstop_counter() { _ocstop_status_q '.counters[$n]' --arg n "$1"; }
# ocstop_relay_session — the first session the daemon knows through a shim's relay (a TUI's).
ocstop_relay_session() {
  _ocstop_status_q '[.sessions[] | select(.server | startswith("pid:")) | .id][0] // empty'
}
# ocstop_table_lists SID STATUS — the human `ocstop status` shows SID in STATUS.
ocstop_table_lists() {
  local t; t=$(ocstop status) || return 2
  printf '%s\n' "$t" >&2
  grep -Eq "^$1 +$2( |\$)" <<<"$t"
}

# said_stopped TEXT SID — the human output of `ocstop` (TEXT) reports a verified stop of SID.
said_stopped() { grep -Eq "^stopped $2 .*\(verified\)" <<<"$1"; }

# The result of `ocstop -j abort`.
_abort_q() {
  local json=$1 q=$2; shift 2
  jq -e "$q" "$@" <<<"$json" >/dev/null 2>&1 && return 0
  jq -e . <<<"$json" >/dev/null 2>&1 || { echo "not JSON: $json" >&2; return 2; }
  return 1
}
# abort_stopped JSON SID — the result says SID was stopped (a verified stop).
abort_stopped() { _abort_q "$1" '.results | any(.session == $s and .stopped == true)' --arg s "$2"; }
# abort_tree_stopped JSON ROOT CHILD... — ROOT was stopped with exactly these children.
abort_tree_stopped() {
  local json=$1 root=$2; shift 2
  _abort_q "$json" '.results | any(.session == $s and .stopped == true and .children == $ARGS.positional)' \
    --arg s "$root" --args "$@"
}
# abort_not_stopped JSON SID REASON — SID was not stopped, for REASON.
abort_not_stopped() {
  _abort_q "$1" '.results | any(.session == $s and .stopped == false and .reason == $r)' --arg s "$2" --arg r "$3"
}
# abort_not_stopped_because JSON SID TEXT — SID was not stopped, for a reason that contains TEXT.
abort_not_stopped_because() {
  _abort_q "$1" '.results | any(.session == $s and .stopped == false and (.reason | contains($r)))' \
    --arg s "$2" --arg r "$3"
}
# abort_names JSON SID — the result has an entry for SID.
abort_names() { _abort_q "$1" '.results | any(.session == $s)' --arg s "$2"; }
# abort_nothing JSON — no results: there was nothing to stop.
abort_nothing() { _abort_q "$1" '.results == []'; }
# abort_ms JSON SID — the stop latency the result gives for SID.
abort_ms() { jq -er --arg s "$2" '[.results[] | select(.session == $s) | .ms][0] | numbers' <<<"$1"; }

# monitor_start — record the daemon's events in $T/monitor.jsonl, and as a person reads them in
# $T/monitor.txt (both append across daemon restarts).
monitor_start() {
  ocstop -j monitor >>"$T/monitor.jsonl" 2>/dev/null &
  oc_track $!
  ocstop monitor >>"$T/monitor.txt" 2>/dev/null &
  oc_track $!
}
# monitor_says REGEX — how many lines of the readable monitor match REGEX (extended).
monitor_says() { grep -Ec -e "$1" "$T/monitor.txt"; }
monitor_says_gt() { local n; n=$(monitor_says "$1"); echo "monitor lines matching $1: $n (were $2)" >&2; [ "$n" -gt "$2" ]; }
# _monitor_count JQ [jq options...] — how many recorded events JQ selects (unparsable lines skipped).
_monitor_count() {
  local q=$1 out; shift
  out=$(jq -cR "fromjson? | select($q) | 1" "$@" "$T/monitor.jsonl") || return 2
  if [ -z "$out" ]; then echo 0; else wc -l <<<"$out"; fi
}
# stops_for SID — how many verified stops of SID monitor_start recorded.
stops_for() { _monitor_count '.type == "stop" and .stop.session == $s and .stop.stopped == true' --arg s "$1"; }
# verdicts_for SID VERDICT — how many VERDICT verdicts (abort, clear, pass; "": any) for SID ("": any
# session) were recorded.
verdicts_for() {
  _monitor_count '.type == "verdict" and ($s == "" or .session.id == $s) and ($v == "" or .verdict == $v)' \
    --arg s "$1" --arg v "$2"
}
# stops_at_least SID N / verdicts_at_least SID VERDICT N — probes on those counts.
stops_at_least() { local n; n=$(stops_for "$1"); echo "verified stops of $1: $n (want $2)" >&2; [ "$n" -ge "$2" ]; }
verdicts_at_least() { local n; n=$(verdicts_for "$1" "$2"); echo "$2 verdicts for $1: $n (want $3)" >&2; [ "$n" -ge "$3" ]; }

# world_start [--shim] — this test's world: temp dir T, the fake model, an isolated offline OpenCode
# environment and PROJ=$T/proj; with --shim, the plugin shim is installed for every OpenCode started.
world_start() {
  tmp_dir_new T || tap_bail "no temp dir"
  fake_llm_start "$T" || tap_bail "fake-llm did not start"
  oc_env "$T"
  PROJ=$T/proj
  mkdir -p "$PROJ"
  if [ "${1:-}" = --shim ]; then
    cp "$OCSTOP_SHIM_SRC" "$OC_CONFIG_DIR/plugin/ocstop.js"
  fi
}

# stream SID TEXT — prompt; wait until the model streams the reply and the daemon knows SID is busy.
stream() { stream_plain "$@" && wait_until 30 ocstop_knows_busy "$1"; }

# ocstop_build — install what is missing and build (the demo and the benchmarks), saying what takes
# time on stderr and nothing when all is there.
ocstop_build() {
  # The test suite runs the demo on what it built already.
  [ "${OCSTOP_NO_BUILD:-0}" = 1 ] && return 0
  "$OCSTOP_SRCDIR/tests/setup.sh" --demo || return 1
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/ocstop-build.XXXXXX") || return 1
  if [ ! -f "$OCSTOP_BUILDDIR/meson-private/coredata.dat" ]; then
    echo "building ocstop in $OCSTOP_BUILDDIR (meson; the first time takes a minute)..." >&2
    meson setup "$OCSTOP_BUILDDIR" "$OCSTOP_SRCDIR" >"$log" 2>&1 ||
      { cat "$log" >&2; rm -f "$log"; return 1; }
  fi
  meson compile -C "$OCSTOP_BUILDDIR" >"$log" 2>&1 ||
    { cat "$log" >&2; rm -f "$log"; echo "build failed" >&2; return 1; }
  rm -f "$log"
}
