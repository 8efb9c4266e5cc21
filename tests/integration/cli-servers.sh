#!/bin/bash
# cli-servers.sh — what ocstop says when no OpenCode is there: the default address nobody configured
# (http://127.0.0.1:4096, what a user who runs only the TUI has) with nothing listening is no error,
# while a server the user named that is down is one; and an id no OpenCode knows is "not found".
set -u
# In a network namespace of its own, nothing else on the machine can listen on 127.0.0.1:4096 (an
# OpenCode of the user's or of another test): where one cannot be made, the cases that need the
# default address free are skipped when it is not.
if [ -z "${OCSTOP_OWN_NETNS:-}" ] && unshare -n true 2>/dev/null; then
  exec unshare -n -- env OCSTOP_OWN_NETNS=1 bash -c 'ip link set lo up && exec "$@"' bash "$0" "$@"
fi
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 19
tmp_dir_new T
mkdir -p "$T/proj"
export OCSTOP_SOCKET=$T/ocstop.sock XDG_CONFIG_HOME=$T/config
unset OCSTOP_OPENCODE_URL OPENCODE_SERVER_PASSWORD
# A port where nothing listens: bound once by the kernel's choice, then let go.
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
default_listens() { (exec 3<>/dev/tcp/127.0.0.1/4096) 2>/dev/null; }

# daemon ARGS... — (re)start ocstopd as a user would, without the tests' --no-default-server.
daemon() {
  [ -z "${DPID:-}" ] || { kill -TERM "$DPID"; wait "$DPID" 2>/dev/null; }
  "$OCSTOPD_BIN" -v "$@" >>"$T/ocstopd.log" 2>&1 </dev/null &
  DPID=$!; oc_track "$DPID"
  wait_until 30 _ocstopd_answers || tap_bail "ocstopd did not start"
}
# default_tried — the daemon has tried the default address at least once.
default_tried() { ocstop -j status | jq -e '.servers[0] | .connected or .last_error != null' >/dev/null; }

# 1. Only the implicit default, nothing there.
daemon
wait_until 30 default_tried || tap_bail "the daemon never tried the default address"
tap_run "bare ocstop, only the unconfigured default, nothing there: exit 0" 0 in_dir "$T/proj" ocstop
tap_eq "it says nothing to stop" "nothing to stop" "$OUT"
tap_run "ocstop abort --all: exit 0" 0 ocstop abort --all
tap_run "ocstop status: exit 0" 0 ocstop status
if default_listens; then
  tap_skip "status shows the default not running, not as a failure" "something listens on 127.0.0.1:4096"
  tap_skip "status -j marks the default implicit" "something listens on 127.0.0.1:4096"
else
  tap_match "status shows the default not running, not as a failure" \
    '^http://127\.0\.0\.1:4096 +http +not running +- +\(the default address; none configured\)' "$OUT"
  tap_ok "status -j marks the default implicit" \
    jq -e '.servers[0].implicit == true and .servers[0].connected == false' <<<"$(ocstop -j status)"
fi
tap_run "ocstop abort of an id nobody knows: exit 4" 4 ocstop abort ses_nowhere
tap_contains "it says the id is not found" "no such session: ses_nowhere" "$ERR"

# 2. The same with a TUI's shim connected (a relay that lists one idle session in the project, and
#    stays until the test ends).
PYTHONPATH=$OCSTOP_SRCDIR/tests/lib python3 - "$OCSTOP_SOCKET" "$T/proj" <<'PY' &
import json, sys, time
from peer import Peer
sock, proj = sys.argv[1:]
shim = Peer(sock)
shim.call("register", {"server_url": "http://127.0.0.1:1", "directory": proj, "pid": 900300,
                       "opencode_version": "1.18.33"})
listing = shim.next_request("opencode.sessions")
shim.send([1, listing[1], None, {"statuses": "{}", "sessions": json.dumps(
    [{"id": "ses_tuiidle", "directory": proj, "title": "idle"}])}])
while True:
    time.sleep(60)
PY
oc_track $!
tap_ok "the TUI's shim registers and lists its idle session" wait_until 10 ocstop_knows_status ses_tuiidle idle
tap_run "bare ocstop with the TUI's shim, nothing running: exit 0" 0 in_dir "$T/proj" ocstop
tap_eq "it says nothing to stop" "nothing to stop" "$OUT"
tap_run "ocstop abort of the TUI's idle session: exit 0, nothing to stop" 0 ocstop abort ses_tuiidle
tap_run "ocstop abort of an id the TUI does not have: exit 4" 4 ocstop abort ses_nowhere

# 3. A server the user named, down: an error with the reason, from the command line and the environment.
daemon --opencode "http://127.0.0.1:$CLOSED"
wait_until 30 ocstop_server_error_has "http://127.0.0.1:$CLOSED" . || tap_bail "no error for the named server"
tap_run "bare ocstop, a named server down: exit 2" 2 in_dir "$T/proj" ocstop
tap_contains "it names the server and why" "cannot reach OpenCode at http://127.0.0.1:$CLOSED" "$ERR"
tap_run "ocstop abort of an id, the named server down: exit 2, not found unsaid" 2 ocstop abort ses_nowhere
tap_contains "it names the server that could not be asked, and why" "cannot reach OpenCode at http://127.0.0.1:$CLOSED: health check:" "$ERR"
OCSTOP_OPENCODE_URL=http://127.0.0.1:$CLOSED daemon
wait_until 30 ocstop_server_error_has "http://127.0.0.1:$CLOSED" . || tap_bail "no error for the named server"
tap_run "bare ocstop, \$OCSTOP_OPENCODE_URL down: exit 2" 2 in_dir "$T/proj" ocstop
tap_contains "it names the server" "cannot reach OpenCode at http://127.0.0.1:$CLOSED" "$ERR"
tap_done
