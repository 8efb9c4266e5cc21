#!/bin/bash
# fuzz/smoke.sh TARGET CORPUS DICT — the CI run of one libFuzzer target: replay the committed corpus
# (regressions included), then fuzz for OCSTOP_FUZZ_SECONDS (default 15). New inputs go to a temp
# dir, never into the committed corpus. On a crash the input is printed in base64, to be added to
# the corpus once fixed. Exit status: libFuzzer's (0: nothing found).
set -uo pipefail

target=$1 corpus=$2 dict=$3
seconds=${OCSTOP_FUZZ_SECONDS:-15}
work=$(mktemp -d "${TMPDIR:-/tmp}/ocstop-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/new" || exit 1

# -close_fd_mask=3: the daemon's own log lines would drown libFuzzer's; its reports still show.
# libFuzzer's own exit code for a crash is 77, which meson reads as "skipped": say 1.
"$target" -max_total_time="$seconds" -dict="$dict" -close_fd_mask=3 -timeout=10 \
  -error_exitcode=1 -timeout_exitcode=1 \
  -rss_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$work/" "$work/new" "$corpus"
rc=$?
for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
  [ -f "$f" ] || continue
  echo "input of ${f##*/} (base64):"
  base64 -w 76 "$f"
done
exit "$rc"
