#!/bin/bash
# daemon-logs.sh — an OpenCode that stays down is logged as a repeated failure: its first failure,
# then summaries at a falling rate, not a line per retry; and one line when it is back, with the
# count. Two servers for 10 s: a port nothing listens on, and a fake whose health check fails with
# 500, 502 and 503 in turn (each message differs from the last, which "log once" logged every time).
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 7
tmp_dir_new T
python3 "$OCSTOP_SRCDIR/tests/lib/fake-opencode.py" "$T/port" "$T" 2>"$T/fake.err" &
oc_track $!
wait_until 30 test -s "$T/port" || tap_bail "fake OpenCode did not start"
DOWN=http://127.0.0.1:$(cat "$T/port")
CLOSED=http://127.0.0.1:$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

ocstopd_start "$T" --opencode "$DOWN" --opencode "$CLOSED" || tap_bail "ocstopd did not start"
sleep 10
attempts=$(wc -l <"$T/failed")
TS=$OCSTOPD_LOG_TIME
lines() { grep -cE "^${TS}warn: OpenCode $1: " "$OCSTOPD_LOG"; }
tap_diag "in 10 s: $attempts failed health checks, $(lines "$DOWN") lines; $(lines "$CLOSED") lines for the closed port"
tap_ok "the failing server was tried again and again (at least 6 times)" test "$attempts" -ge 6
tap_ok "... and said at most twice: the failure, then a summary" test "$(lines "$DOWN")" -le 2
tap_match "... the first line says what failed" "^${TS}warn: OpenCode $DOWN: health check: HTTP 500\$" "$(cat "$OCSTOPD_LOG")"
tap_ok "the closed port is said at most twice too" test "$(lines "$CLOSED")" -le 2
tap_match "... saying it cannot connect" "^${TS}warn: OpenCode $CLOSED: health check: .*(onnect|refused)" "$(cat "$OCSTOPD_LOG")"

touch "$T/up"
connected() { grep -qE "^${TS}info: connected to OpenCode 0.0.0-fake at $DOWN after [0-9]* failures\$" "$OCSTOPD_LOG"; }
tap_ok "back up: one line says so" wait_until 10 connected
tap_eq "... with the number of failures it ended" \
  "info: connected to OpenCode 0.0.0-fake at $DOWN after $(wc -l <"$T/failed") failures" \
  "$(grep -E "^${TS}info: connected to OpenCode 0.0.0-fake at $DOWN" "$OCSTOPD_LOG" | sed -E "s/^$TS//")"
ocstopd_stop
tap_done
