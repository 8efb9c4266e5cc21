#!/bin/bash
# fuzz/long.sh [-n RUNS] [TARGET...] — run each libFuzzer target (default: all) for RUNS executions
# (default 10,000,000) on one core, from the committed corpus plus what earlier long runs found
# (kept in BUILD/fuzz/found-TARGET), and print one line per target: executions, seconds, libFuzzer's
# coverage figures (cov: edges, ft: features) and the crashes found (their inputs are in
# BUILD/fuzz/artifacts-TARGET). Needs the fuzz build (fuzz/README.md); OCSTOP_FUZZ_BUILDDIR
# (default <src>/build-fuzz) names it. Exit status: non-zero when a target found anything.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OCSTOP_FUZZ_BUILDDIR:-$SRC/build-fuzz}
runs=10000000
if [ "${1:-}" = -n ]; then runs=$2; shift 2; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(reader sse engine config)

# The longest input worth trying: past every bound the target can reach (a config line's 1,024
# bytes; the frame and event bounds the first byte picks), and a whole recorded run for the engine.
max_len() {
  case $1 in
    engine) echo 16384 ;;
    config) echo 2048 ;;
    *) echo 1024 ;;
  esac
}

status=0
for t in "${targets[@]}"; do
  exe=$BUILD/fuzz/fuzz-$t
  [ -x "$exe" ] || { echo "long.sh: no $exe (build it: fuzz/README.md)" >&2; exit 2; }
  found=$BUILD/fuzz/found-$t art=$BUILD/fuzz/artifacts-$t log=$BUILD/fuzz/long-$t.log
  mkdir -p "$found" "$art"
  start=$(date +%s)
  "$exe" -runs="$runs" -dict="$SRC/fuzz/$t.dict" -max_len="$(max_len "$t")" -close_fd_mask=3 \
    -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$art/" "$found" \
    "$SRC/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  cov=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
  crashes=$(find "$art" -type f | wc -l)
  echo "$t: ${execs:-?} executions in ${secs} s, ${cov:-cov ?}, ${crashes} crashes (exit $rc; log $log)"
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || status=1
done
exit $status
