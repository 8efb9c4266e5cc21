#!/bin/bash
# tests/coverage.sh — the unit tests' line coverage of daemon/, proto/ and client/, per file and in
# all, from a build of its own (build-cov, meson's b_coverage) and gcovr. Unit tests only: what the
# integration tests reach is not counted, so the figure says how much the fast tests pin down.
#
#   tests/coverage.sh            # prints the table and the total
#   OCSTOP_COVDIR=DIR ...        # build there instead of build-cov
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OCSTOP_COVDIR:-$SRC/build-cov}
command -v gcovr >/dev/null || { echo "coverage.sh: needs gcovr (apt-get install gcovr)" >&2; exit 1; }
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" "$SRC" -Dtests=enabled -Db_coverage=true --buildtype=debug >/dev/null
fi
meson compile -C "$BUILD" >/dev/null
find "$BUILD" -name '*.gcda' -delete
meson test -C "$BUILD" --suite unit --no-rebuild --print-errorlogs >"$BUILD/unit.log" 2>&1 ||
  { grep -E 'FAIL|ERROR|TIMEOUT' "$BUILD/unit.log" >&2; echo "coverage.sh: unit tests failed" >&2; exit 1; }
cd "$SRC"
gcovr --root "$SRC" --object-directory "$BUILD" --filter 'daemon/' --filter 'proto/' --filter 'client/' \
  --exclude 'daemon/main.c' --exclude 'client/main.c' --print-summary 2>/dev/null
# The figure for the daemon alone (main.c, the wiring, is run by the integration tests only).
echo "daemon/: $(gcovr --root "$SRC" --object-directory "$BUILD" --filter 'daemon/' \
  --exclude 'daemon/main.c' --print-summary 2>/dev/null | sed -n 's/^lines: //p')"
