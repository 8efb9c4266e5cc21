#!/bin/bash
# stop-unproven.sh — when OpenCode does not prove a stop, ocstop says so: one retry, then
# "not stopped" with the reason and exit 3. Driven by a small fake OpenCode (these failures cannot be
# produced with the real one on demand); also checks that two requests for one tree share one stop.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tmp_dir_new T
python3 "$OCSTOP_SRCDIR/tests/lib/fake-opencode.py" "$T/port" 2>"$T/fake.err" &
oc_track $!
wait_until 10 test -s "$T/port" || tap_bail "fake OpenCode did not start"
URL=http://127.0.0.1:$(cat "$T/port")
ocstopd_start "$T" --opencode "$URL" --stop-timeout-ms 400 || tap_bail "ocstopd did not start"
wait_until 10 ocstop_knows_busy ses_stuck || tap_bail "daemon did not learn the sessions"
aborts_of() { curl -s -m 2 "$URL/__aborts" | grep -c "^$1\$"; }

out=$(ocstop -j abort ses_ok); rc=$?
tap_ok "a proven stop: exit 0, stopped" eval '[ $rc = 0 ] && grep -q "\"stopped\":true" <<<"$out"'

out=$(ocstop -j abort ses_stuck); rc=$?
tap_ok "no idle after the abort: exit 3" test "$rc" = 3
tap_ok "... stopped=false with the reason" grep -q '"stopped":false.*"reason":"ses_stuck did not report idle within 400 ms (2 attempts)"' <<<"$out"
tap_diag "$out"
tap_ok "... after exactly one retry" test "$(aborts_of ses_stuck)" = 2

out=$(ocstop abort ses_chatty 2>&1); rc=$?
tap_ok "output never goes quiet: exit 3" test "$rc" = 3
tap_ok "... the reason says so" grep -q "output did not go quiet" <<<"$out"
tap_diag "$out"

out=$(ocstop abort ses_fail 2>&1); rc=$?
tap_ok "abort answered 500: exit 3" test "$rc" = 3
tap_ok "... the reason names the failed request" grep -q "the abort request failed (2 attempts): HTTP 500 from $URL" <<<"$out"
tap_diag "$out"

# Two clients stop the same tree at once: one stop, both answered.
n=$(aborts_of ses_stuck)
ocstop -j abort ses_stuck >"$T/a.out" & A=$!
ocstop -j abort ses_stuck >"$T/b.out" & B=$!
wait $A; ra=$?; wait $B; rb=$?
tap_ok "two concurrent requests both get the outcome" eval '[ $ra = 3 ] && [ $rb = 3 ] && grep -q ses_stuck "$T/a.out" && grep -q ses_stuck "$T/b.out"'
tap_ok "... from one shared stop (2 attempts, not 4)" test "$(( $(aborts_of ses_stuck) - n ))" = 2
tap_ok "the daemon counts what it could not prove" eval 'ocstop -j status | grep -q "\"not_stopped\":4"'
ocstopd_stop

# A loaded OpenCode answers aborts only after the proof's default timeout (3 s), the first one with
# an error, and carries the abort out a little later: the retry goes out at 3 s, the first request
# fails after it, and that failure must not count against the retry.
ocstopd_start "$T" --opencode "$URL" || tap_bail "ocstopd did not restart"
wait_until 10 ocstop_knows_busy ses_slow || tap_bail "daemon did not learn the sessions"
out=$(ocstop -j abort ses_slow); rc=$?
tap_ok "an abort that fails late while its retry is out: still a verified stop, exit 0" \
  eval '[ $rc = 0 ] && grep -q "\"session\":\"ses_slow\",\"stopped\":true" <<<"$out"'
tap_diag "exit $rc: $out"

tap_done
