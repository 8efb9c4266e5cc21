#!/bin/bash
# stop-unproven.sh — when OpenCode does not prove a stop, ocstop says so: one retry, then
# "not stopped" with the reason and exit 3. Driven by a small fake OpenCode (these failures cannot be
# produced with the real one on demand); also checks that two requests for one tree share one stop.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 22
tmp_dir_new T
python3 "$OCSTOP_SRCDIR/tests/lib/fake-opencode.py" "$T/port" 2>"$T/fake.err" &
oc_track $!
wait_until 30 test -s "$T/port" || tap_bail "fake OpenCode did not start"
URL=http://127.0.0.1:$(cat "$T/port")
ocstopd_start "$T" --opencode "$URL" --stop-timeout-ms 400 || tap_bail "ocstopd did not start"
wait_until 30 ocstop_knows_busy ses_stuck || tap_bail "daemon did not learn the sessions"
aborts_of() { curl -s -m 2 "$URL/__aborts" | grep -c "^$1\$"; }

tap_run "a proven stop: exit 0" 0 ocstop -j abort ses_ok
tap_ok "... stopped" abort_stopped "$OUT" ses_ok

tap_run "no idle after the abort: exit 3" 3 ocstop -j abort ses_stuck
tap_ok "... stopped=false with the reason" \
  abort_not_stopped "$OUT" ses_stuck "ses_stuck did not report idle within 400 ms (2 attempts)"
tap_diag "$OUT"
tap_eq "... after exactly one retry" 2 "$(aborts_of ses_stuck)"
tap_ok "... naming what still runs" _abort_q "$OUT" '.results[0].running == ["ses_stuck"]'

# The idle event is lost, but OpenCode's status route says idle: asked before anything is reported,
# it proves the stop (a loaded OpenCode was once reported not stopped while it said idle).
tap_run "no idle event, but the status route says idle: exit 0" 0 ocstop -j abort ses_mute
tap_ok "... stopped" abort_stopped "$OUT" ses_mute
tap_ok "... with nothing left running" _abort_q "$OUT" '.results[0].running == []'
tap_contains "... the daemon says how it knew" "OpenCode's status route says every session is idle" \
  "$(cat "$OCSTOPD_LOG")"

tap_run "output never goes quiet: exit 3" 3 ocstop abort ses_chatty
tap_contains "... the reason says so" "output did not go quiet" "$OUT"
tap_diag "$OUT"

tap_run "abort answered 500: exit 3" 3 ocstop abort ses_fail
tap_contains "... the reason names the failed request" "the abort request failed (2 attempts): HTTP 500 from $URL" "$OUT"
tap_diag "$OUT"

# Two clients stop the same tree at once: one stop, both answered.
n=$(aborts_of ses_stuck)
ocstop -j abort ses_stuck >"$T/a.out" 2>&1 & A=$!
ocstop -j abort ses_stuck >"$T/b.out" 2>&1 & B=$!
wait $A; ra=$?; wait $B; rb=$?
tap_eq "two concurrent requests: the first exits 3" 3 "$ra"
tap_eq "two concurrent requests: the second exits 3" 3 "$rb"
tap_ok "... the first gets the outcome" abort_not_stopped "$(cat "$T/a.out")" ses_stuck \
  "ses_stuck did not report idle within 400 ms (2 attempts)"
tap_ok "... the second gets the outcome" abort_not_stopped "$(cat "$T/b.out")" ses_stuck \
  "ses_stuck did not report idle within 400 ms (2 attempts)"
tap_eq "... from one shared stop (2 attempts, not 4)" 2 "$(($(aborts_of ses_stuck) - n))"
tap_eq "the daemon counts what it could not prove" 4 "$(ocstop_counter not_stopped)"
ocstopd_stop

# A loaded OpenCode answers aborts only after the proof's default timeout (3 s), the first one with
# an error, and carries the abort out a little later: the retry goes out at 3 s, the first request
# fails after it, and that failure must not count against the retry.
ocstopd_start "$T" --opencode "$URL" || tap_bail "ocstopd did not restart"
wait_until 10 ocstop_knows_busy ses_slow || tap_bail "daemon did not learn the sessions"
tap_run "an abort that fails late while its retry is out: exit 0" 0 ocstop -j abort ses_slow
tap_ok "... and a verified stop" abort_stopped "$OUT" ses_slow
tap_diag "$OUT"

tap_done
