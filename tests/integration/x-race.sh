#!/bin/bash
# x-race.sh — nothing runs after x, where the x races a tool call: on a real `opencode serve` with the
# shim and ocstopd, an x typed within 10 ms (either side) of a tool call's completion, repeated
# X_RACE_REPS times, and an x between the parallel calls of one response. tests/lib/x-race.mjs runs
# the races (the fake model completes each call at a chosen wall time); tests/lib/race-probe.js, a
# plugin OpenCode runs before the shim, records when it saw the x and started each call; each call's
# command marks that it ran. No call OpenCode starts after the x may run, no model request may follow
# it, and every stop is verified.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

REPS=${X_RACE_REPS:-50}
PARALLEL=${X_RACE_PARALLEL:-10}

tap_plan 12
world_start --shim
export RACE_PROBE_LOG=$T/probe.jsonl
# OpenCode loads the plugins opencode.json names before those of the plugin directories (whose order
# is the directory's): the probe's hooks run before the shim's.
jq --arg p "file://$OC_LIB_DIR/race-probe.js" '.plugin = [$p]' "$OC_CONFIG_DIR/opencode.json" >"$T/oc.json" &&
  mv "$T/oc.json" "$OC_CONFIG_DIR/opencode.json" || tap_bail "no probe plugin"
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
monitor_start
# The shim starts with the directory's first request.
oc_session_new "$PROJ" >/dev/null || tap_bail "no session"
tap_ok "the shim registered the server" wait_until 30 ocstop_connected "$OC_URL"

node "$OC_LIB_DIR/x-race.mjs" --oc "$OC_URL" --password "$OC_PASSWORD" --fake "$FAKE_URL" \
  --fake-log "$FAKE_LOG" --probe-log "$RACE_PROBE_LOG" --dir "$PROJ" --mark "$T/marks" \
  --reps "$REPS" --parallel "$PARALLEL" --ocstop "$OCSTOP_BIN" >"$T/race.jsonl" 2>"$T/race.err"
tap_eq "the race driver ran to its end" 0 "$?" || tap_bail "x-race.mjs: $(tail -n 5 "$T/race.err")"
S=$(jq -c 'select(.summary) | .summary' "$T/race.jsonl")
[ -n "$S" ] || tap_bail "no summary from x-race.mjs"
sum() { jq -r "$1" <<<"$S"; }
# dist KIND FIELD — "min/p50/p99/max" of a distribution in the summary.
dist() { sum ".$1.$2 | if . then \"\(.min)/\(.p50)/\(.p99)/\(.max) ms (n=\(.n))\" else \"none\" end"; }
for k in single parallel; do
  tap_diag "$k: $(sum ".$k | {reps, verified, ran, tried_after_x, tools_after_x, requests_after_x, marks_after_x}
    | tostring")"
  tap_diag "$k: completion - x sent, min/p50/p99/max: $(dist "$k" offset)"
  tap_diag "$k: completion - x seen by the plugins: $(dist "$k" offset_seen)"
  tap_diag "$k: x sent -> verified stop (toast): $(dist "$k" verify_ms)"
  tap_diag "$k: x seen -> verified stop (toast): $(dist "$k" verify_seen_ms)"
  tap_diag "$k: x seen -> the daemon's verified stop event: $(dist "$k" stop_seen_ms)"
done
jq -c 'select(.rep != null and (.error or .tools_after_x > 0 or .requests_after_x > 0 or .verified != true))
  | {rep, kind, target, offset, offset_seen, ran, tools_after_x, requests_after_x, toast, error}' \
  "$T/race.jsonl" >"$T/bad.jsonl"
[ -s "$T/bad.jsonl" ] && tap_diag "repetitions that failed:" && tap_diag "$(cat "$T/bad.jsonl")"

tap_eq "every race ran (no errors)" "0 0" "$(sum '"\(.single.errors) \(.parallel.errors)"')"
tap_eq "the probe saw every x before the shim took it" "$REPS $PARALLEL" \
  "$(sum '"\(.single.x_seen) \(.parallel.x_seen)"')"
# The races must have been run: every completion sent within the window, and the first parallel
# call (sent before the x) ran.
# Timers on 2 busy cores fire some ms late, the driver's and the fake model's, so an x lands a few ms
# off its mark: the races count when a fifth of them landed within 11 ms before the completion and a
# fifth within 11 ms after it (the fake model's clock); the distribution above says how close they came.
side() {
  jq -s "[.[] | select(.rep != null and .kind == \"single\") | .offset | numbers | select($1)] | length" "$T/race.jsonl"
}
# offset: the completion's time minus the x's.
xfirst=$(side '. >= 0 and . <= 11') xlast=$(side '. < 0 and . >= -11')
tap_ok "the x came within 11 ms before the completion in $xfirst races, after it in $xlast (of $REPS)" \
  test "$((xfirst * 5))" -ge "$REPS" -a "$((xlast * 5))" -ge "$REPS"
tap_eq "x between parallel calls: the call completed before the x ran, each time" "$PARALLEL" \
  "$(sum '.parallel.first_ran')"
tap_ok "the races hit the window: OpenCode started $(sum '.single.tried_after_x') calls after their x" \
  test "$(sum '.single.tried_after_x')" -gt 0
tap_eq "x at a completion: no tool started after the x ran" 0 "$(sum '.single.tools_after_x')"
tap_eq "x between parallel calls: no tool started after the x ran" 0 "$(sum '.parallel.tools_after_x')"
tap_eq "no model request after any x" 0 "$(sum '.single.requests_after_x + .parallel.requests_after_x')"
tap_eq "every stop verified (the toast)" "$REPS $PARALLEL" "$(sum '"\(.single.verified) \(.parallel.verified)"')"
# Each x reached the daemon as a stop: an abort verdict (when the daemon answers after the shim's
# deadline, the shim stops the session alone and the daemon, finding it idle, proves "nothing is
# running now", with no stop event: the toast above counts either way).
SESSIONS=$(jq -sc '[.[] | select(.rep != null) | .session]' "$T/race.jsonl")
aborts=$(_monitor_count '.type == "verdict" and .verdict == "abort" and (.session.id | IN($s[]))' --argjson s "$SESSIONS")
stops=$(_monitor_count '.type == "stop" and .stop.stopped == true and (.stop.session | IN($s[]))' --argjson s "$SESSIONS")
tap_diag "verified stop events: $stops of $((REPS + PARALLEL)) (the others: stopped by the shim alone, proven idle)"
tap_eq "the daemon gave each x an abort verdict" $((REPS + PARALLEL)) "$aborts" ||
  for sid in $(jq -r '.[]' <<<"$SESSIONS"); do
    [ "$(verdicts_for "$sid" abort)" -gt 0 ] || tap_diag "no abort verdict for $sid; its events:" \
      "$(jq -cR --arg s "$sid" 'fromjson? | select(tostring | contains($s))' "$T/monitor.jsonl")"
  done
tap_done
