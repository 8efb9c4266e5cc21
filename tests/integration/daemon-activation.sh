#!/bin/bash
# daemon-activation.sh — systemd socket activation: the daemon takes the socket it is given (emulated
# without systemd, and by systemd-socket-activate), blocking as systemd passes it, for client after
# client; refuses what is no listening Unix stream socket; never removes the socket it was given;
# and with idle_exit exits when nobody has needed it for that long, never while a client is
# connected, and only when activated.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
ACTIVATE=(python3 "$OCSTOP_SRCDIR/tests/lib/activate.py")

tap_plan 28
tmp_dir_new T
export XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -m 0700 "$XDG_RUNTIME_DIR" "$T/act"
unset OCSTOP_SOCKET OCSTOP_OPENCODE_URL
ACT=$T/act/ocstop.sock

# activated KIND NAME ARGS... — ocstopd started on a socket (or what KIND hands over) at $T/act/NAME,
# its log in $T/NAME.log; PID: the activator's, DPID: the daemon's.
activated() {
  local kind=$1 name=$2; shift 2
  rm -f "$T/act/$name" "$T/$name.pid"
  "${ACTIVATE[@]}" "$kind" "$T/act/$name" "$T/$name.pid" "$OCSTOPD_BIN" --no-default-server \
    -s "$T/act/$name.unused" "$@" >"$T/$name.log" 2>&1 </dev/null &
  PID=$!; oc_track $PID
  wait_until 10 test -s "$T/$name.pid" || return 1
  DPID=$(cat "$T/$name.pid"); oc_track "$DPID"
}
# fd_flags PID FD — the octal flags of PID's FD (/proc/PID/fdinfo).
fd_flags() { sed -n 's/^flags:\t*//p' "/proc/$1/fdinfo/$2"; }
alive() { kill -0 "$1" 2>/dev/null; }
# reap PID — its exit status, waiting at most 10 s (then it is killed: 137).
reap() {
  wait_until 10 pid_gone "$1" >/dev/null 2>&1 || kill -KILL "$1" 2>/dev/null
  wait "$1"
}

# 1. Emulated, as systemd passes it: a blocking listening socket on fd 3.
activated stream ocstop.sock || tap_bail "the activator did not start"
tap_ok "activated: the daemon serves the socket it was given" wait_until 30 ocstop -s "$ACT" -q ping
tap_ok "... a second client right after (a blocking listener hangs in accept4 here)" \
  timeout 5 "$OCSTOP_BIN" -s "$ACT" -q ping
tap_ok "... and a third" timeout 5 "$OCSTOP_BIN" -s "$ACT" -q ping
flags=$(fd_flags "$DPID" 3)
tap_ok "... fd 3 made non-blocking (O_NONBLOCK in flags $flags)" test $((0$flags & 04000)) -ne 0
tap_ok "... and close-on-exec (O_CLOEXEC)" test $((0$flags & 02000000)) -ne 0
tap_ok "... it made no socket of its own" test ! -e "$ACT.unused"
tap_ok "... it says which socket it took" grep -q "listening on the socket systemd passed (fd 3)" "$T/ocstop.sock.log"
# Every library loaded at start is time a client waits for (bench/startup): the activation protocol
# needs no libsystemd, and libcurl is loaded when an OpenCode server is first contacted.
tap_ok "... with neither libsystemd nor libcurl loaded (no OpenCode to watch)" eval '! grep -qE "libsystemd|libcurl" "/proc/$DPID/maps"'
kill -TERM "$PID"
reap "$PID"
tap_eq "SIGTERM: exit 0" 0 $?
tap_ok "... and the socket it was given is left to its owner" test -S "$ACT"

# 2. What a wrong unit would pass is refused at start, saying what it is.
for kind in file dgram unlistened; do
  activated "$kind" "$kind" || tap_bail "the activator did not start"
  reap "$PID"; rc=$?
  tap_eq "fd 3 a $kind: exit 1" 1 "$rc"
done
tap_contains "... a file: no socket" "fd 3 (LISTEN_FDS) is no socket" "$(cat "$T/file.log")"
tap_contains "... a datagram socket: not a stream socket" "fd 3 (LISTEN_FDS) is not a stream socket" "$(cat "$T/dgram.log")"
tap_contains "... a socket that does not listen: says so" "fd 3 (LISTEN_FDS) is not listening" "$(cat "$T/unlistened.log")"

# 3. systemd's own tool: it listens, and execs the daemon on the first connection.
SSA=$T/act/ssa.sock
systemd-socket-activate -l "$SSA" "$OCSTOPD_BIN" --no-default-server -s "$SSA.unused" --idle-exit 2 \
  >"$T/ssa.log" 2>&1 </dev/null &
SPID=$!; oc_track $SPID
wait_until 10 test -S "$SSA" || tap_bail "systemd-socket-activate did not listen"
tap_ok "systemd-socket-activate: the first client starts the daemon and is answered" \
  timeout 10 "$OCSTOP_BIN" -s "$SSA" -q ping
tap_ok "... the next clients too" eval 'timeout 5 "$OCSTOP_BIN" -s "$SSA" -q ping && timeout 5 "$OCSTOP_BIN" -s "$SSA" -q ping'
start=$(now_ms)
tap_ok "--idle-exit 2: with no client it exits" wait_until 10 pid_gone "$SPID"
reap "$SPID"; rc=$?
took=$(($(now_ms) - start))
tap_eq "... with exit 0" 0 "$rc"
tap_ok "... after about 2 s (took $took ms)" test "$took" -ge 1500 -a "$took" -le 5000
tap_ok "... saying why" grep -q "no client for 2 s (idle_exit)" "$T/ssa.log"
tap_ok "... leaving the socket to systemd" test -S "$SSA"

# 4. A client that stays connected (a subscriber, as a shim stays) keeps it; idle_exit from the file.
mkdir -p "$XDG_CONFIG_HOME/ocstop"
echo "idle_exit = 1   # seconds" >"$XDG_CONFIG_HOME/ocstop/config"
activated stream held.sock || tap_bail "the activator did not start"
wait_until 10 ocstop -s "$T/act/held.sock" -q ping || tap_bail "no answer"
"$OCSTOP_BIN" -s "$T/act/held.sock" monitor >/dev/null 2>&1 &
MON=$!; oc_track $MON
sleep 3.5
tap_ok "idle_exit = 1: a client connected for 3.5 s keeps it" alive "$DPID"
kill "$MON"; wait "$MON" 2>/dev/null
tap_ok "... once it is gone, it exits" wait_until 10 pid_gone "$DPID"
reap "$PID"
tap_eq "... with exit 0" 0 $?

# 5. Started by hand there is nothing to start it again: idle_exit is ignored, and said so.
"$OCSTOPD_BIN" --no-default-server -s "$T/act/hand.sock" --idle-exit 1 >"$T/hand.log" 2>&1 </dev/null &
HPID=$!; oc_track $HPID
wait_until 10 ocstop -s "$T/act/hand.sock" -q ping || tap_bail "no answer"
sleep 3
tap_ok "not activated: --idle-exit 1 is ignored (alive after 3 s)" alive "$HPID"
tap_ok "... and the log says so" grep -q "idle_exit 1 s ignored: only a socket-activated daemon exits when idle" "$T/hand.log"
kill -TERM "$HPID"; reap "$HPID"
tap_done
