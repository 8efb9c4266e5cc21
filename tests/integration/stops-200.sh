#!/bin/bash
# stops-200.sh — 200 stops in a row of a real `opencode serve` session, half by `ocstop abort`, half by
# typing x (the shim): every one verified, and the daemon's memory and descriptors flat across them.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

# OCSTOP_STOPS: fewer in the sanitizer pass (tests/run-all.sh), more than 10.
STOPS=${OCSTOP_STOPS:-200}
# What the daemon may grow between stop 10 (its caches and buffers warm) and stop 200: a few pages
# of allocator slack, nothing a stop keeps. A leak of one small allocation per stop (a stop, a
# request, a reply buffer: 100-500 bytes) over 190 stops exceeds it.
RSS_TOLERANCE_KB=256
FD_TOLERANCE=2 # HTTP connections to OpenCode that libcurl keeps for reuse

# Under ASan, freed memory is held in quarantine and would read as growth: with none, RSS measures
# what the daemon keeps (LeakSanitizer checks the rest when it exits).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"

tap_plan 5
world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the shim did not register the server"

t0=$(now_ms)
node "$OC_LIB_DIR/stop-loop.mjs" "$OC_URL" "$OC_PASSWORD" "$S" $STOPS "$OCSTOP_BIN" "$OCSTOPD_PID" 10 100 $STOPS \
  >"$T/loop.out" 2>"$T/loop.err"
took=$(($(now_ms) - t0))
ok=$(sed -n 's/^done \([0-9]*\) .*/\1/p' "$T/loop.out")
fails=$(grep '^stop [0-9]* fail' "$T/loop.out")
mss=($(sed -n 's/^stop [0-9]* ok \([0-9]*\)$/\1/p' "$T/loop.out"))
tap_diag "$STOPS stops in $took ms ($((took / STOPS)) ms a stop, prompt and streaming included)"
tap_diag "request -> verified result (ms): min $(printf '%s\n' "${mss[@]}" | sort -n | head -n1)" \
  "median $(median "${mss[@]}") max $(printf '%s\n' "${mss[@]}" | sort -n | tail -n1)"
tap_eq "$STOPS stops in a row, each verified" "$STOPS" "${ok:-0}" || tap_diag "$fails$(cat "$T/loop.err")"
read -r _ _ rss10 fd10 < <(grep '^sample 10 ' "$T/loop.out")
read -r _ _ rss100 fd100 < <(grep '^sample 100 ' "$T/loop.out")
read -r _ _ rssN fdN < <(grep "^sample $STOPS " "$T/loop.out")
tap_diag "daemon VmRSS (kB) at stop 10 / 100 / $STOPS: ${rss10:-?} / ${rss100:-?} / ${rssN:-?}"
tap_diag "daemon open descriptors at stop 10 / 100 / $STOPS: ${fd10:-?} / ${fd100:-?} / ${fdN:-?}"
tap_ok "memory flat: VmRSS ${rssN:-?} kB at stop $STOPS <= ${rss10:-?} + $RSS_TOLERANCE_KB kB at stop 10" \
  test "${rssN:-x}" -le $((${rss10:-0} + RSS_TOLERANCE_KB))
tap_ok "descriptors flat: ${fdN:-?} at stop $STOPS <= ${fd10:-?} + $FD_TOLERANCE at stop 10" \
  test "${fdN:-x}" -le $((${fd10:-0} + FD_TOLERANCE))
tap_ok "the daemon's counters agree: $STOPS verified" wait_until 5 test "$(ocstop_counter verified)" = "$STOPS"
tap_ok "no stop was reported not stopped" test "$(ocstop_counter not_stopped)" = 0

tap_done
