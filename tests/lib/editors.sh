# shellcheck shell=bash
# tests/lib/editors.sh — what the editor tests share (source after oc.sh and ocstop.sh).
#
#   editors_world          # T PROJ OC_URL S; ocstop on PATH as the editors find it
#   stream "$S" hello; ... editor runs ...; drive_field "$T/out" ms

EDITORS_DIR=$OCSTOP_SRCDIR/client/editors

# editors_world — this test's world: the fake model, OpenCode serving PROJ, the daemon watching it
# (OCSTOP_SOCKET), an event capture, S a session of PROJ, and the built CLI as `ocstop` first on PATH.
editors_world() {
  world_start
  oc_serve_start "$T" "$PROJ" || tap_bail "opencode serve did not start: $(tail -n 5 "$OC_LOG" 2>/dev/null)"
  ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not start"
  wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the daemon did not reach OpenCode"
  sse_capture_start "$T/events.sse" || tap_bail "no event capture"
  S=$(oc_session_new "$PROJ") || tap_bail "no session"
  mkdir -p "$T/bin" "$PROJ/src" "$T/elsewhere"
  ln -s "$OCSTOP_BIN" "$T/bin/ocstop"
  export PATH=$T/bin:$PATH
}

# drive_field FILE KEY — the value of the "KEY value" line a driver (editor-drive.*) wrote.
drive_field() { sed -n "s/^$2 //p" "$1" | head -n1; }

# drive_returned_first FILE — the editor's command returned before its result came: it did not wait.
drive_returned_first() {
  local c m
  c=$(drive_field "$1" cmd_ms) m=$(drive_field "$1" ms)
  echo "command returned in ${c:-?} ms, result after ${m:-?} ms" >&2
  [[ $c =~ ^[0-9]+$ && $m =~ ^[0-9]+$ ]] && [ "$c" -lt "$m" ]
}

# stopped_msg SID — the message an editor shows for a verified stop of SID (ERE).
stopped_msg() { echo "^ocstop: stopped $1( \([^)]*\))? in [0-9]+ ms \(verified\)"; }
