#!/bin/bash
# daemon-reload.sh — SIGHUP reloads the config file, the environment and the command line in the order
# of the start, as daemons do: stop words, timings and OpenCode URLs change without a restart; the
# command line still wins over the file; a file with an error is logged and changes nothing; and
# SIGHUP (a closed terminal) no longer ends the daemon.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 25
tmp_dir_new T
unset OCSTOP_OPENCODE_URL
CONF=$T/config
# Two ports nothing listens on: configured servers that are down are listed all the same.
read -r PA PB < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
A=http://127.0.0.1:$PA B=http://127.0.0.1:$PB

# shim WHAT [TEXT] — a fresh shim on the daemon: "register" prints the stop words its register's
# reply carries and proof_ms; "message" prints the verdict for TEXT in a session nobody knows.
shim() {
  PYTHONPATH=$OCSTOP_SRCDIR/tests/lib python3 - "$OCSTOP_SOCKET" "$@" <<'PY'
import os, sys
from peer import Peer
sock, what = sys.argv[1], sys.argv[2]
p = Peer(sock)
if what == "register":
    err, res = p.call("register", {"server_url": "http://127.0.0.1:1", "directory": "/", "pid": os.getpid()})
    print(",".join(res["stop_words"]) if err is None else err, res["proof_ms"] if err is None else "")
else:
    err, res = p.call("message", {"session": "ses_reload", "parts": [{"type": "text", "text": sys.argv[3]}]})
    print(res["verdict"] if err is None else err)
PY
}
# hup_and_wait N — SIGHUP, then wait for the Nth "SIGHUP:" line of the log.
hup_and_wait() {
  kill -HUP "$OCSTOPD_PID"
  wait_until 10 eval '[ "$(grep -c "SIGHUP: " "$OCSTOPD_LOG")" -ge '"$1"' ]'
}

printf 'stop_words = halt   # the first word\nopencode_url = %s\nstop_timeout_ms = 3000\n' "$A" >"$CONF"
ocstopd_start "$T" -c "$CONF" --stop-timeout-ms 4000 || tap_bail "ocstopd did not start"
read -r words proof0 < <(shim register)
tap_eq "at start a shim's register carries the file's stop words" halt "$words"
tap_eq "a server the file names is watched" false "$(ocstop_server_field "$A" connected)"

# A shim that stays connected across the reload: the settings notification brings it the new words.
PYTHONPATH=$OCSTOP_SRCDIR/tests/lib python3 - "$OCSTOP_SOCKET" >"$T/held.out" 2>&1 <<'PY' &
import os, sys
from peer import Peer
p = Peer(sys.argv[1])
err, res = p.call("register", {"server_url": "http://127.0.0.1:1", "directory": "/", "pid": os.getpid()})
print("registered", flush=True)
m = p._wait(lambda m: m[0] == 2 and m[1] == "settings", 20)
s = m[2][0] if isinstance(m[2], list) and len(m[2]) == 1 else "not [params]: %r" % (m[2],)
print(",".join(s["stop_words"]), s["max_len"], s["proof_ms"], flush=True)
PY
HELD=$!; oc_track $HELD
wait_until 10 grep -q registered "$T/held.out" || tap_bail "the held shim did not register"
printf 'stop_words = stopp, x   # changed\nopencode_url = %s # moved\nstop_timeout_ms = 5000\n' "$B" >"$CONF"
hup_and_wait 1
tap_ok "SIGHUP: the daemon lives on" kill -0 "$OCSTOPD_PID"
tap_ok "... and answers" ocstop -q ping
tap_ok "... saying it reloaded" grep -q "SIGHUP: configuration reloaded; config $CONF; stop words: 2" "$OCSTOPD_LOG"
read -r words proof1 < <(shim register)
tap_eq "the new stop words are in force for a shim that registers" "stopp,x" "$words"
tap_eq "the old one is an ordinary message now" pass "$(shim message halt)"
wait $HELD
tap_eq "a shim connected across the reload is sent the new stop words and max_len" \
  "stopp,x 5 $proof0" "$(sed -n 2p "$T/held.out")"
tap_eq "... and only once" 2 "$(wc -l <"$T/held.out")"
tap_eq "the command line still wins over the file (--stop-timeout-ms: proof_ms the same)" "$proof0" "$proof1"
tap_eq "the server the file no longer names is dropped" absent "$(ocstop_server_field "$A" connected)"
tap_ok "... and said" grep -q "dropping OpenCode $A: no longer in the configuration" "$OCSTOPD_LOG"
tap_eq "the server it names now is watched" false "$(ocstop_server_field "$B" connected)"

# A bad file changes nothing.
printf 'stop_words = other\nbogus = 1\n' >"$CONF"
hup_and_wait 2
tap_contains "a bad file: the error, with the file, line and key" \
  "SIGHUP: $CONF:2: unknown key 'bogus'; the configuration in force is kept" "$(cat "$OCSTOPD_LOG")"
read -r words _ < <(shim register)
tap_eq "... the stop words in force are kept" "stopp,x" "$words"
tap_eq "... and the servers" false "$(ocstop_server_field "$B" connected)"
rm "$CONF"
hup_and_wait 3
tap_contains "a file that is gone (named by -c): said, and nothing changes" \
  "SIGHUP: $CONF: No such file or directory; the configuration in force is kept" "$(cat "$OCSTOPD_LOG")"
read -r words _ < <(shim register)
tap_eq "... the stop words in force are kept" "stopp,x" "$words"
ocstopd_stop
tap_ok "SIGTERM still ends it" pid_gone "$OCSTOPD_PID"

# verbose = true at a reload: debug lines from then on, without -v.
: >"$CONF"
"$OCSTOPD_BIN" --no-default-server -s "$T/quiet.sock" -c "$CONF" 2>"$T/quiet.log" </dev/null &
QPID=$!; oc_track $QPID
wait_until 10 "$OCSTOP_BIN" -s "$T/quiet.sock" -q ping || tap_bail "no answer"
tap_ok "without -v no debug line" not grep -q "debug: client" "$T/quiet.log"
echo "verbose = true" >"$CONF"
kill -HUP $QPID
wait_until 10 grep -q "SIGHUP: configuration reloaded" "$T/quiet.log"
"$OCSTOP_BIN" -s "$T/quiet.sock" -q ping
tap_ok "verbose = true, SIGHUP: debug lines from then on" wait_until 10 grep -q "debug: client .*: connected" "$T/quiet.log"
kill -TERM $QPID
# The default file (no -c, as systemd starts it), gone at a reload: the settings in force are kept,
# not replaced by the defaults.
mkdir -p "$T/xdg/ocstop"
printf 'stop_words = halt\nverbose = true\n' >"$T/xdg/ocstop/config"
XDG_CONFIG_HOME=$T/xdg "$OCSTOPD_BIN" --no-default-server -s "$T/def.sock" 2>"$T/def.log" </dev/null &
DPID=$!; oc_track $DPID
wait_until 10 "$OCSTOP_BIN" -s "$T/def.sock" -q ping || tap_bail "no answer"
tap_ok "verbose = true in the file: debug lines from the start, without -v" \
  wait_until 10 grep -q "debug: client .*: connected" "$T/def.log"
rm "$T/xdg/ocstop/config"
kill -HUP $DPID
wait_until 10 grep -q "SIGHUP: " "$T/def.log"
tap_contains "the default file gone at a reload: said" \
  "SIGHUP: $T/xdg/ocstop/config is gone; the configuration in force is kept" "$(cat "$T/def.log")"
tap_eq "... and its stop words are still in force" halt \
  "$("$OCSTOP_BIN" -s "$T/def.sock" -j status | jq -r '.stop_words | join(",")')"
printf 'stop_words = again\n' >"$T/xdg/ocstop/config"
kill -HUP $DPID
wait_until 10 grep -q "SIGHUP: configuration reloaded" "$T/def.log"
tap_eq "... and a file there again is loaded" again \
  "$("$OCSTOP_BIN" -s "$T/def.sock" -j status | jq -r '.stop_words | join(",")')"
kill -TERM $DPID
tap_done
