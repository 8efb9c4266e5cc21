#!/bin/bash
# core-reconnect.sh — OpenCode not running: a clear error, the daemon lives on and connects when
# OpenCode comes up, and again after OpenCode restarts; a client that never reads is dropped alone.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 14
world_start
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT

ocstopd_start "$T" --opencode "$URL" || tap_bail "ocstopd did not start"
tap_run "OpenCode down: abort exits 2" 2 ocstop abort --all
tap_contains "OpenCode down: the error says it cannot reach it" "cannot reach OpenCode at $URL" "$ERR"
tap_diag "$ERR"
tap_ok "daemon still answers" ocstop -q ping

# serve_on PORT — start opencode serve on a fixed port (what a user's `opencode serve --port` does).
serve_on() {
  ( cd "$PROJ" && exec "$(oc_bin)" serve --port "$PORT" --hostname 127.0.0.1 ) >>"$T/serve.log" 2>&1 </dev/null &
  OC_PID=$!; oc_track "$OC_PID"; OC_URL=$URL; OC_PASSWORD=; OC_LOG=$T/serve.log
}
serve_on
tap_ok "daemon connects once OpenCode comes up" wait_until 60 ocstop_connected "$URL"
S=$(oc_session_new "$PROJ") || tap_bail "no session"
stream "$S" hello || tap_bail "no stream"
tap_run "abort after connecting late exits 0" 0 ocstop -j abort "$S"
tap_ok "stop verified after connecting late" abort_stopped "$OUT" "$S"

# OpenCode restarts while a session runs: the daemon resyncs and still stops it.
kill -TERM "$OC_PID"; wait "$OC_PID" 2>/dev/null
tap_ok "daemon notices OpenCode went away" wait_until 30 not ocstop_connected "$URL"
serve_on
tap_ok "daemon reconnects after a restart" wait_until 60 ocstop_connected "$URL"
stream "$S" "after restart" || tap_bail "no stream after the restart"
tap_run "abort after a reconnect exits 0" 0 ocstop -j abort "$S"
tap_ok "stop verified after a reconnect" abort_stopped "$OUT" "$S"

# A client that pipelines requests and never reads its replies is dropped; the others are served.
python3 - "$OCSTOP_SOCKET" "$T/flood.ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
req = lambda i: bytes([0x94, 0x00, 0xcd, i >> 8 & 0xff, i & 0xff, 0xa6]) + b"status" + bytes([0x90])
ready = False
try:
    for i in range(60000):
        s.send(req(i & 0xffff))
        if i == 1000 and not ready:
            open(sys.argv[2], "w").close()
            ready = True
except OSError:
    pass
time.sleep(30)
PY
oc_track $!
tap_ok "the client that does not read connects and floods" wait_until 20 test -e "$T/flood.ready"
pings=0
for i in $(seq 1 200); do ocstop -q ping && pings=$((pings + 1)); done
tap_eq "200 pings answered meanwhile" 200 "$pings"
tap_ok "the client that does not read is dropped" \
  wait_until 20 grep -q "dropped: it does not read its replies" "$OCSTOPD_LOG"
tap_ok "daemon still running" kill -0 "$OCSTOPD_PID"

tap_done
