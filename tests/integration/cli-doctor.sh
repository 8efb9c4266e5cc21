#!/bin/bash
# cli-doctor.sh — `ocstop doctor` on what goes wrong: no daemon, a socket folder that fails the rule,
# an OpenCode that refuses the daemon's password (a small fake answering 401), no shim installed, a
# dangling link; the systemd units through a fake systemctl (enabled, disabled, hung, no user
# manager); --json. The happy path against a real OpenCode is cli-opencode.sh.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 39
tmp_dir_new T
SHIM=$OCSTOP_SRCDIR/client/opencode-plugin/ocstop.js
export HOME=$T/home OCSTOP_SHIM=$SHIM XDG_CONFIG_HOME=$T/home/.config
unset OPENCODE_CONFIG_DIR
mkdir -p "$HOME" "$T/proj/.git" "$T/bin"
cd "$T/proj" || tap_bail "no project folder"
# A systemctl that says what $T/systemctl.enabled and .active hold (absent: no user manager).
cat >"$T/bin/systemctl" <<'SH'
#!/bin/sh
verb=$2
# The descriptors it was given besides stdin, stdout, stderr: those a child of it inherits (sh's own
# are close-on-exec), less the one ls reads /proc with. Not /proc/$$/fd, where sh's passing pipes
# and saved descriptors come and go.
ls -l /proc/self/fd >"$SYSTEMCTL_DIR/systemctl.fds.raw"
awk '$9 > 2 && $11 !~ /^\/proc\// { print $9, $11 }' "$SYSTEMCTL_DIR/systemctl.fds.raw" >"$SYSTEMCTL_DIR/systemctl.fds"
[ -f "$SYSTEMCTL_DIR/hang" ] && exec sleep 30
# Answers, closes its output, and hangs on.
[ -f "$SYSTEMCTL_DIR/hang-after" ] && { echo enabled; exec sleep 30 >/dev/null 2>&1; }
[ -f "$SYSTEMCTL_DIR/systemctl.enabled" ] || { echo "Failed to connect to bus: No medium found"; exit 1; }
case $verb in
  is-enabled) cat "$SYSTEMCTL_DIR/systemctl.enabled" ;;
  is-active) cat "$SYSTEMCTL_DIR/systemctl.active" ;;
esac
SH
chmod +x "$T/bin/systemctl"
export PATH=$T/bin:$PATH SYSTEMCTL_DIR=$T
# line LEVEL CHECK TEXT — doctor's output ($OUT) has a line of that level and check containing TEXT.
line() { grep -F -- "$3" <<<"$OUT" | grep -Eq "^$1 +$2: "; }

# 1. No daemon: its socket's folder was never made.
export OCSTOP_SOCKET=$T/run/ocstop.sock
tap_run "doctor with no daemon: exit 1" 1 ocstop doctor
tap_ok "the socket line says which rule chose it and that nothing listened" \
  line FAIL socket "$OCSTOP_SOCKET (from \$OCSTOP_SOCKET): its folder $T/run does not exist"
tap_ok "the daemon line fails, with how to start it" line FAIL daemon "fix: systemctl --user enable --now ocstopd.socket"
tap_ok "systemd not checked without a user manager, as a warning" line warn systemd "not checked (no systemd user manager: Failed to connect to bus"
tap_contains "it ends saying a stop would not work" "a stop would not work" "$OUT"
tap_run "doctor --json with no daemon: exit 1" 1 ocstop doctor --json
tap_ok "--json: one object, ok false, every check with status, detail and fix" jq -e \
  '.ok == false and (.checks | length >= 4) and all(.checks[]; (.status | IN("ok","warn","fail")) and (.detail | type == "string"))
   and any(.checks[]; .check == "socket" and .status == "fail" and (.fix | type == "string"))' <<<"$OUT"

# 2. The socket through $XDG_RUNTIME_DIR, in a folder open to others: refused, with its mode.
unset OCSTOP_SOCKET
mkdir -p "$T/xdg/ocstop"; chmod 755 "$T/xdg/ocstop"
tap_run "doctor with a socket folder open to others: exit 1" 1 env XDG_RUNTIME_DIR="$T/xdg" "$OCSTOP_BIN" doctor
tap_ok "it names the rule, the folder and its mode" \
  line FAIL socket "$T/xdg/ocstop/ocstop.sock (from \$XDG_RUNTIME_DIR): its folder $T/xdg/ocstop is open to other users (owner uid $(id -u), mode 755)"
tap_run "doctor -s with a wrong socket: exit 1" 1 ocstop -s "$T/nowhere/x.sock" doctor
tap_ok "it says it came from -s" line FAIL socket "$T/nowhere/x.sock (from -s)"

# 3. A daemon, no OpenCode, no shim installed: nothing would see an x or reach OpenCode.
ocstopd_start "$T" --stop-word x --stop-word Stop || tap_bail "ocstopd did not start"
echo enabled >"$T/systemctl.enabled"; echo active >"$T/systemctl.active"
tap_run "doctor with a daemon but no OpenCode and no shim: exit 1" 1 ocstop doctor
tap_ok "the socket is fine" line ok socket "$OCSTOP_SOCKET (from \$OCSTOP_SOCKET)"
tap_ok "the daemon answers, with its version and protocol" line ok daemon "answers (protocol 6)"
tap_ok "no OpenCode reachable and no shim: that fails" line FAIL opencode "no OpenCode is reachable now — fix: ocstop install-plugin"
tap_ok "the shim is said not installed" line warn shim "not installed in any folder OpenCode loads plugins from"
tap_ok "the stop words in force" line ok "stop words" "x, stop"
tap_ok "systemd: enabled and listening" line ok systemd "ocstopd.socket is enabled and listening"
cp "$T/systemctl.fds" "$T/systemctl.fds.doctor"; "$T/bin/systemctl" --user is-active ocstopd.socket >/dev/null
tap_eq "systemctl gets none of doctor's descriptors, only those doctor was given" \
  "$(cat "$T/systemctl.fds")" "$(cat "$T/systemctl.fds.doctor")"

# 4. With the shim installed, no OpenCode running yet is fine: the next one loads it.
ocstop -q install-plugin
echo disabled >"$T/systemctl.enabled"; echo inactive >"$T/systemctl.active"
tap_run "doctor with the shim installed and no OpenCode yet: exit 0" 0 ocstop doctor
tap_ok "the shim's link is named" line ok shim "installed: $XDG_CONFIG_HOME/opencode/plugins/ocstop.js -> $SHIM"
tap_ok "no OpenCode yet is ok" line ok opencode "the next one started loads the shim"
tap_ok "a disabled unit is a warning with its fix" line warn systemd "ocstopd.socket is disabled and inactive: ocstopd does not start at login — fix: systemctl --user enable --now ocstopd.socket"
touch "$T/hang"
start=$(now_ms)
tap_run "doctor with a hung systemctl: exit 0" 0 ocstop doctor
tap_ok "it gave up on systemctl within its 2 s, each time" test $(($(now_ms) - start)) -lt 6000
tap_ok "and said not checked" line warn systemd "not checked (no systemd user manager: systemctl did not answer in time)"
rm "$T/hang"; touch "$T/hang-after"
start=$(now_ms)
tap_run "doctor with a systemctl that answers and hangs on: exit 0" 0 ocstop doctor
tap_ok "it waited no more than its 2 s for it to end" test $(($(now_ms) - start)) -lt 6000
rm "$T/hang-after"

# 5. A dangling link (the package removed) fails.
ln -s "$T/gone.js" "$HOME/.opencode-dangling.js"; mkdir -p "$HOME/.opencode/plugins"
ln -s "$T/gone.js" "$HOME/.opencode/plugins/ocstop.js"
tap_run "doctor with a dangling link to the shim: exit 1" 1 ocstop doctor
tap_ok "it names the link and what it misses" line FAIL shim "$HOME/.opencode/plugins/ocstop.js -> $T/gone.js, which is missing"
tap_ok "and warns that two copies load" line warn shim "2 copies load in OpenCode started here"
rm -r "$HOME/.opencode" "$HOME/.opencode-dangling.js"

# 6. An OpenCode that refuses the daemon's password (401 to everything).
python3 - "$T/port" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(401); self.send_header("WWW-Authenticate", 'Basic realm="opencode"')
        self.send_header("Content-Length", "0"); self.end_headers()
    do_POST = do_GET
s = HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
oc_track $!
wait_until 10 test -s "$T/port" || tap_bail "the fake OpenCode did not start"
ocstopd_stop
ocstopd_start "$T" --opencode "http://127.0.0.1:$(cat "$T/port")" || tap_bail "ocstopd did not restart"
said_401() { ocstop -j status | jq -e '.servers[0].last_error // "" | contains("401")' >/dev/null; }
wait_until 20 said_401 || tap_diag "the daemon never met the 401"
tap_run "doctor with an OpenCode that refuses the password: exit 1" 1 ocstop doctor
tap_ok "it says the password is missing and where it goes" \
  line FAIL opencode "http://127.0.0.1:$(cat "$T/port"): refuses ocstopd's password"
tap_contains "the fix names OPENCODE_SERVER_PASSWORD" "fix: give ocstopd OpenCode's password: OPENCODE_SERVER_PASSWORD" "$OUT"

# 7. A daemon of protocol 4, from before check and status's stop words: said, with the fix.
ocstopd_stop
mkdir -p "$T/old"; chmod 700 "$T/old"
export OCSTOP_SOCKET=$T/old/ocstop.sock
python3 - "$OCSTOP_SOCKET" <<'PY' &
import socket, struct, sys
def pack(o):
    if o is None: return b"\xc0"
    if isinstance(o, bool): return b"\xc3" if o else b"\xc2"
    if isinstance(o, int): return bytes([o])
    if isinstance(o, str): return bytes([0xA0 | len(o)]) + o.encode()
    if isinstance(o, list): return bytes([0x90 | len(o)]) + b"".join(pack(x) for x in o)
    return bytes([0x80 | len(o)]) + b"".join(pack(k) + pack(v) for k, v in o.items())
ANSWERS = {b"ping": (None, {"version": "0.0.9", "protocol": 4}),
           b"status": (None, {"servers": [], "sessions": [], "sessions_truncated": False,
                              "sessions_left_out": 0, "counters": {}}),
           b"check": ([2, "no such method"], None)}
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept(); c.settimeout(2)
    try:
        while True:
            buf = c.recv(65536)
            if not buf: break
            # [0, msgid, method, params]: msgid a fixint, the method a fixstr.
            name = buf[4:4 + (buf[3] & 0x1F)]
            err, res = ANSWERS[name]
            c.sendall(pack([1, buf[2], err, res]))
    except (OSError, KeyError):
        pass
    c.close()
PY
oc_track $!
wait_until 10 test -S "$OCSTOP_SOCKET" || tap_bail "the old daemon did not start"
tap_run "doctor against a daemon of protocol 4: exit 0 (the shim installed)" 0 ocstop doctor
tap_ok "it warns of the protocols, with the fix" line warn daemon "ocstopd 0.0.9 speaks protocol 4, this ocstop"
tap_ok "it says the stop words were not told" line warn "stop words" "not told: this ocstopd is older than protocol 5"
tap_run "check against it: exit 2" 2 ocstop check x
tap_contains "check says to restart the daemon" "this ocstopd is older than check (protocol 5): restart it" "$ERR"
tap_done
