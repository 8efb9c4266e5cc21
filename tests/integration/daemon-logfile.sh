#!/bin/bash
# daemon-logfile.sh — where the daemon's lines go and how they look: stamped with the time unless
# stderr is journald's stream (then with sd-daemon priorities); quiet on a terminal unless -v; --log
# FILE appended to, created 0600, close-on-exec, and refused when it is a symbolic link, someone
# else's file or a hard link (a squatted path).
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 27
tmp_dir_new T
export XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -m 0700 "$XDG_RUNTIME_DIR"
unset OCSTOP_SOCKET OCSTOP_OPENCODE_URL JOURNAL_STREAM
TS=$OCSTOPD_LOG_TIME
CLOSED=http://127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SOCK=$T/run/d.sock

# run_daemon SECONDS ARGS... — ocstopd on $SOCK for SECONDS, then SIGTERM; stderr in $T/err.
run_daemon() {
  local secs=$1; shift
  timeout -s TERM "$secs" "$OCSTOPD_BIN" -s "$SOCK" --no-default-server "$@" 2>"$T/err" </dev/null
}
# every_line ERE FILE — FILE has lines, and every one matches ERE.
every_line() { [ -s "$2" ] && ! grep -Evq -e "$1" "$2"; }

# 1. Outside journald: the local time on every line.
run_daemon 2 --opencode "$CLOSED"
tap_ok "stderr to a file: every line starts with the time" every_line "^${TS}(info|warn|debug): " "$T/err"
tap_ok "... info lines included" grep -Eq "^${TS}info: listening on $SOCK\$" "$T/err"

# 2. Under journald: the priority, and no time (journald adds it).
: >"$T/journal"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal") \
  timeout -s TERM 2 "$OCSTOPD_BIN" -s "$SOCK" --no-default-server --opencode "$CLOSED" 2>>"$T/journal" </dev/null
tap_ok "stderr is journald's stream: every line starts with its priority" every_line '^<[3467]>(info|warn|debug|fatal): ' "$T/journal"
tap_ok "... <6> for info" grep -q '^<6>info: listening on ' "$T/journal"
tap_ok "... <4> for a warning" grep -q "^<4>warn: OpenCode $CLOSED: " "$T/journal"
JOURNAL_STREAM=1:1 run_daemon 2
tap_ok "JOURNAL_STREAM naming another stream (inherited): stamped as usual" every_line "^${TS}" "$T/err"

# 3. On a terminal: warnings and errors only, unless -v.
script -qec "timeout -s TERM 2 '$OCSTOPD_BIN' -s '$SOCK' --no-default-server --opencode '$CLOSED'" "$T/tty" >/dev/null
tap_ok "on a terminal: the warning is written" grep -q "warn: OpenCode $CLOSED: " "$T/tty"
tap_ok "... and no info line (nothing over the prompt)" not grep -q "info: " "$T/tty"
script -qec "timeout -s TERM 2 '$OCSTOPD_BIN' -v -s '$SOCK' --no-default-server" "$T/tty-v" >/dev/null
tap_ok "on a terminal with -v: info lines too" grep -q "info: listening on " "$T/tty-v"

# 4. --log FILE.
LOG=$T/logs/ocstopd.log
mkdir -p "$T/logs"
"$OCSTOPD_BIN" -s "$SOCK" --no-default-server --log "$LOG" 2>"$T/err" </dev/null &
DPID=$!; oc_track $DPID
wait_until 10 "$OCSTOP_BIN" -s "$SOCK" -q ping || tap_bail "no answer"
tap_eq "--log: the file is made 0600" 600 "$(stat -c %a "$LOG")"
fd=$(find "/proc/$DPID/fd" -lname "$LOG" -printf '%f\n' | head -n 1)
tap_ok "... and held close-on-exec (fd $fd)" \
  eval 'test -n "$fd" && test $((0$(sed -n "s/^flags:\t*//p" "/proc/$DPID/fdinfo/$fd") & 02000000)) -ne 0'
# Rotation: the file is moved away, SIGHUP, and the daemon writes to a new one at the path.
mv "$LOG" "$LOG.1"
kill -HUP $DPID
tap_ok "SIGHUP after the file was moved: a new file at the path" wait_until 10 test -s "$LOG"
tap_ok "... with the reload's line in it" grep -q "SIGHUP: configuration reloaded" "$LOG"
tap_eq "... made 0600 too" 600 "$(stat -c %a "$LOG")"
cat "$LOG" >>"$LOG.1"; mv "$LOG.1" "$LOG"
kill -HUP $DPID
wait_until 10 eval '[ "$(grep -c "SIGHUP: configuration reloaded" "$LOG")" -ge 2 ]'
kill -TERM $DPID; wait $DPID
tap_ok "... every line stamped" every_line "^${TS}(info|warn|debug): " "$LOG"
tap_ok "... nothing on stderr" test ! -s "$T/err"
n=$(wc -l <"$LOG")
run_daemon 2 --log "$LOG"
lines_after() { [ "$(wc -l <"$LOG")" -gt "$1" ] && [ "$(grep -c "exited cleanly" "$LOG")" -eq 2 ]; }
tap_ok "... appended to by the next run" lines_after "$n"
printf 'bogus = 1\n' >"$T/bad.conf"
run_daemon 2 --log "$LOG" -c "$T/bad.conf"
tap_contains "... a fatal error is written to stderr too" "$T/bad.conf:1: unknown key 'bogus'" "$(cat "$T/err")"

# A path someone else prepared is refused, and nothing is written through it.
echo "precious" >"$T/target"
ln -s "$T/target" "$T/logs/link.log"
tap_run "--log naming a symbolic link: exit 1" 1 "$OCSTOPD_BIN" -s "$SOCK" --log "$T/logs/link.log"
tap_contains "... saying so" "--log $T/logs/link.log: is a symbolic link" "$ERR"
ln "$T/target" "$T/logs/hard.log"
tap_run "--log naming a file with another hard link: exit 1" 1 "$OCSTOPD_BIN" -s "$SOCK" --log "$T/logs/hard.log"
tap_contains "... saying so" "has other hard links" "$ERR"
tap_eq "... and the file behind both is untouched" precious "$(cat "$T/target")"
touch "$T/logs/theirs.log"; chown 65534 "$T/logs/theirs.log"
tap_run "--log naming another user's file: exit 1" 1 "$OCSTOPD_BIN" -s "$SOCK" --log "$T/logs/theirs.log"
tap_contains "... saying so" "belongs to another user" "$ERR"
mkfifo "$T/logs/fifo.log"
tap_run "--log naming a FIFO (nobody reading): exit 1 at once, not a hang" 1 \
  timeout 10 "$OCSTOPD_BIN" -s "$SOCK" --log "$T/logs/fifo.log"
tap_contains "... saying so" "--log $T/logs/fifo.log: is a FIFO" "$ERR"
tap_done
