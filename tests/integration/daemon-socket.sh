#!/bin/bash
# daemon-socket.sh — the control socket: where and how it is made, stale and live sockets, other
# users, systemd socket activation, and bad input that must never hurt the daemon or other clients.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
RAW=(python3 "$OCSTOP_SRCDIR/tests/lib/rawrpc.py")

tap_plan 26
tmp_dir_new T
export XDG_RUNTIME_DIR=$T/run
mkdir -p "$XDG_RUNTIME_DIR"
unset OCSTOP_SOCKET
DEF=$XDG_RUNTIME_DIR/ocstop/ocstop.sock

"$OCSTOPD_BIN" --no-default-server >"$T/d1.log" 2>&1 &
P1=$!; oc_track $P1
tap_ok "default socket is \$XDG_RUNTIME_DIR/ocstop/ocstop.sock" wait_until 30 test -S "$DEF"
tap_eq "its directory is 0700" 700 "$(stat -c %a "$(dirname "$DEF")")"
tap_eq "the socket is 0600" 600 "$(stat -c %a "$DEF")"
tap_ok "the CLI finds it the same way" wait_until 30 ocstop -q ping

tap_run "a second daemon on a live socket refuses to start" '!0' "$OCSTOPD_BIN" --no-default-server
tap_contains "and says why" "another ocstopd is already listening on $DEF" "$ERR"
tap_ok "the first daemon is untouched" ocstop -q ping

kill -KILL $P1; wait $P1 2>/dev/null
tap_ok "a killed daemon leaves a stale socket" test -S "$DEF"
"$OCSTOPD_BIN" --no-default-server >"$T/d3.log" 2>&1 &
P3=$!; oc_track $P3
tap_ok "a new daemon replaces the stale socket" wait_until 30 ocstop -q ping
tap_ok "and logs it" grep -q "replacing stale socket" "$T/d3.log"

# Another user may not connect, even through a socket made reachable on purpose.
chmod 0711 "$T" "$XDG_RUNTIME_DIR" "$(dirname "$DEF")"; chmod 0666 "$DEF"
# The script comes on stdin: the source tree may be unreadable to that user (/root is 0700).
tap_run "a connection from another uid fails" 1 \
  setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$DEF" connect \
  <"$OCSTOP_SRCDIR/tests/lib/rawrpc.py"
tap_match "... as the daemon closes it without an answer" \
  "^# (reply: (None|b'')|error: \[Errno (104|32)\] (Connection reset by peer|Broken pipe))$" "$OUT"
tap_ok "and is logged with its uid" wait_until 30 grep -q "refused a connection from uid 65534" "$T/d3.log"
# Closed again: the CLI trusts only a socket directory closed to others.
chmod 0700 "$(dirname "$DEF")"

# Bad input.
tap_ok "invalid frames get error replies and the connection goes on" "${RAW[@]}" "$DEF" invalid_then_valid
tap_ok "bytes that are not msgpack close that connection" "${RAW[@]}" "$DEF" garbage
tap_ok "a frame over 1 MiB closes that connection" "${RAW[@]}" "$DEF" oversized
tap_ok "a header claiming 10^9 elements closes it without allocating" "${RAW[@]}" "$DEF" huge_header
tap_ok "200 pipelined requests get 200 replies" "${RAW[@]}" "$DEF" pipelined
tap_ok "the daemon lives on" ocstop -q ping
kill -TERM $P3; wait $P3
tap_eq "SIGTERM: exit 0" 0 $?
tap_ok "SIGTERM: the socket is removed" test ! -e "$DEF"

# A directory owned by someone else is refused.
mkdir -p "$T/other"; chown 65534 "$T/other"
tap_run "a socket directory owned by another user is refused" '!0' \
  "$OCSTOPD_BIN" --no-default-server -s "$T/other/ocstop.sock"
tap_contains "... and the error says why" "owned by another user" "$ERR"

# systemd socket activation, emulated: the listening socket arrives as fd 3.
ACT=$T/act/ocstop.sock
mkdir -m 0700 "$T/act"
python3 - "$ACT" "$OCSTOPD_BIN" >"$T/d5.log" 2>&1 <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
os.execv(sys.argv[2], [sys.argv[2], "--no-default-server", "-s", sys.argv[1] + ".unused"])
PY
P5=$!; oc_track $P5
tap_ok "socket activation: the daemon serves the socket it was given" wait_until 30 ocstop -s "$ACT" -q ping
tap_ok "socket activation: it made no socket of its own" test ! -e "$ACT.unused"
tap_ok "socket activation: it says so" grep -q "socket systemd passed" "$T/d5.log"

tap_done
