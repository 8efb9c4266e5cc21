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

# world_start [--shim] — this test's world: temp dir T, the fake model, an isolated offline OpenCode
# environment and PROJ=$T/proj; with --shim, the plugin shim is installed for every OpenCode started.
world_start() {
  tmp_dir_new T || tap_bail "no temp dir"
  fake_llm_start "$T" || tap_bail "fake-llm did not start"
  oc_env "$T"
  PROJ=$T/proj
  mkdir -p "$PROJ"
  if [ "${1:-}" = --shim ]; then
    cp "$OCSTOP_SRCDIR/client/opencode-plugin/ocstop.js" "$OC_CONFIG_DIR/plugin/ocstop.js"
  fi
}

# monitor_start — record the daemon's events in $T/monitor.jsonl (appends across daemon restarts).
monitor_start() {
  ocstop -j monitor >>"$T/monitor.jsonl" 2>/dev/null &
  oc_track $!
}
# stops_for SID — how many verified stops of SID monitor_start recorded.
stops_for() { grep -c "\"type\":\"stop\",\"stop\":{\"session\":\"$1\",[^}]*\"stopped\":true" "$T/monitor.jsonl"; }

# stream SID TEXT — prompt; wait until the reply streams and the daemon knows the session is busy.
stream() { oc_prompt "$1" "$2" && wait_until 30 fake_has_open_stream && wait_until 10 ocstop_knows_busy "$1"; }

# ocstop_build — install what is missing and build, quietly (the demo and the benchmarks).
ocstop_build() {
  QUIET=1 "$OCSTOP_SRCDIR/tests/setup.sh" >/dev/null || return 1
  if [ ! -f "$OCSTOP_BUILDDIR/meson-private/coredata.dat" ]; then
    meson setup "$OCSTOP_BUILDDIR" "$OCSTOP_SRCDIR" >/dev/null || return 1
  fi
  meson compile -C "$OCSTOP_BUILDDIR" >/dev/null || { echo "build failed" >&2; return 1; }
}
