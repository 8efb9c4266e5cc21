# tests/lib/ocstop.sh — start the real ocstopd and run the real ocstop CLI (source after oc.sh).
#
#   ocstopd_start "$T" --opencode "$OC_URL"   # OCSTOP_SOCKET OCSTOPD_PID OCSTOPD_LOG
#   ocstop abort "$sid"                        # the built CLI on that socket

OCSTOPD_BIN=$OCSTOP_BUILDDIR/daemon/ocstopd
OCSTOP_BIN=$OCSTOP_BUILDDIR/client/ocstop

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
  wait_until 10 _ocstopd_answers || { echo "ocstopd did not answer" >&2; tail "$OCSTOPD_LOG" >&2; return 1; }
}

_ocstopd_answers() { "$OCSTOP_BIN" -q ping 2>/dev/null; }
_ocstopd_gone() { ! kill -0 "$OCSTOPD_PID" 2>/dev/null; }

# ocstopd_stop — SIGTERM and wait for the exit.
ocstopd_stop() {
  kill -TERM "$OCSTOPD_PID" 2>/dev/null
  wait_until 10 _ocstopd_gone
}

ocstop() { "$OCSTOP_BIN" "$@"; }

# ocstop_connected URL — the daemon reports URL connected.
ocstop_connected() { ocstop -j status | grep -q "\"url\": *\"$1\", *\"connected\": *true"; }

# ocstop_knows_busy SID — the daemon's table has SID busy (or retry).
ocstop_knows_busy() { ocstop -j status | grep -Eq "\"id\": *\"$1\"[^}]*\"status\": *\"(busy|retry)\""; }

# json_field JSON KEY — the first scalar value of KEY in JSON (no nesting awareness; enough for results).
json_field() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}.*/\1/p" <<<"$1" | head -n1; }

# parts_after SINCE_FILE SID — message.part events for SID in an SSE capture.
sse_capture_start() {
  local out=$1
  oc_curl -N -m 600 "$OC_URL/global/event" >"$out" 2>/dev/null &
  SSE_PID=$!
  oc_track "$SSE_PID"
  wait_until 10 grep -qs server.connected "$out"
}
# sse_parts_for FILE SID — count message.part events about SID in FILE.
sse_parts_for() { grep -c "\"type\":\"message.part[^\"]*\".*\"sessionID\":\"$2\"" "$1"; }
