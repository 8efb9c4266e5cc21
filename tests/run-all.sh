#!/bin/bash
# tests/run-all.sh — THE test command: install deps, build with meson, run every test (unit +
# integration), and print as the last line "N passed, N failed" (per TAP case). Exit non-zero on any
# failure.
#
# Counting (from build/meson-logs/testlog.txt as written by meson 1.0.1):
#   * every "ok N ..." line of a test's stdout is a pass, every "not ok N ..." a failure;
#     "# SKIP" and "# TODO" cases are counted in neither;
#   * a test's plan "1..N" fixes its number of cases: planned cases that never ran (after a bail out,
#     a crash, a timeout or an early exit) count as failures, so a run that passes always reports
#     the same number;
#   * a test listed under "Summary of Failures" (FAIL, ERROR, TIMEOUT, UNEXPECTEDPASS: crash, timeout,
#     bail out, plan mismatch, non-zero exit) with no failure counted otherwise counts as one;
#   * a test without any TAP line counts as one pass or one failure from its meson result
#     (SKIP counts as nothing).
# Three builds: <src>/build runs every test; <src>/build-san (ASan + UBSan, leaks checked, the first
# UBSan report fatal; a report in any log fails its test, tests/lib/oc.sh) runs them all again but the
# shim's JavaScript, the packages (suite 'packaging' builds its own) and the tests whose outcome is
# timing under load (suite 'timing': the x races, the web UI) and the editors that only run the CLI
# (suite 'cli-editors'), with 60 stops in stops-200, so the daemon and the CLI that the integration
# tests start are the sanitized ones; <src>/build-fuzz (clang, when installed) runs each libFuzzer
# target for a smoke time (suite 'fuzz', fuzz/README.md). Every log is counted.
# Environment: OCSTOP_BUILDDIR (default <src>/build); OCSTOP_SANBUILDDIR (default <src>/build-san;
# "none" skips the sanitizer build); OCSTOP_FUZZBUILDDIR (default <src>/build-fuzz; "none" skips the
# fuzz build); OCSTOP_FUZZ_SECONDS: each target's smoke time (default 15); OCSTOP_TEST_ARGS: extra
# `meson test` args for the first build (e.g. "--suite unit"); OCSTOP_SKIP_SETUP=1 skips
# tests/setup.sh.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OCSTOP_BUILDDIR:-$SRC/build}
SANBUILD=${OCSTOP_SANBUILDDIR:-$SRC/build-san}
FUZZBUILD=${OCSTOP_FUZZBUILDDIR:-$SRC/build-fuzz}
if [ "$FUZZBUILD" != none ] && ! command -v clang >/dev/null; then
  echo "run-all.sh: no clang: the fuzz targets are not run" >&2
  FUZZBUILD=none
fi
cd "$SRC" || exit 1

fail_early() {
  echo "run-all.sh: $*" >&2
  echo "0 passed, 1 failed"
  exit 1
}

if [ "${OCSTOP_SKIP_SETUP:-0}" != 1 ]; then
  "$SRC/tests/setup.sh" || fail_early "tests/setup.sh failed"
fi

SETUP_LOG=$(mktemp "${TMPDIR:-/tmp}/ocstop-meson-setup.XXXXXX")
trap 'rm -f "$SETUP_LOG"' EXIT
# configure DIR [OPTIONS...] — set DIR up (again, or afresh when that fails) with OPTIONS.
configure() {
  local dir=$1; shift
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" >"$SETUP_LOG" 2>&1 ||
      meson setup --wipe "$dir" "$@" >"$SETUP_LOG" 2>&1 ||
      { cat "$SETUP_LOG" >&2; fail_early "meson setup of $dir failed"; }
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >"$SETUP_LOG" 2>&1 ||
      { cat "$SETUP_LOG" >&2; fail_early "meson setup of $dir failed"; }
  fi
}

configure "$BUILD" -Dtests=enabled
meson compile -C "$BUILD" || fail_early "meson compile failed"
if [ "$SANBUILD" != none ]; then
  configure "$SANBUILD" -Dtests=enabled -Db_sanitize=address,undefined
  meson compile -C "$SANBUILD" || fail_early "meson compile of the sanitizer build failed"
fi
if [ "$FUZZBUILD" != none ]; then
  # The C compiler of a build is chosen at its first setup, from CC.
  CC=clang configure "$FUZZBUILD" -Dtests=disabled -Dfuzz=enabled -Db_sanitize=address,undefined \
    -Db_lundef=false
  meson compile -C "$FUZZBUILD" || fail_early "meson compile of the fuzz build failed"
fi

LOG=$BUILD/meson-logs/testlog.txt
rm -f "$LOG"
# shellcheck disable=SC2086
# OCSTOP_PACKAGING=1: the packaging suite installs and removes the packages it built (as root).
OCSTOP_PACKAGING=1 meson test -C "$BUILD" --print-errorlogs --num-processes 2 ${OCSTOP_TEST_ARGS:-}
mrc=$?
[ -f "$LOG" ] || fail_early "meson test wrote no $LOG (exit $mrc)"
LOGS=("$LOG")
if [ "$SANBUILD" != none ]; then
  SANLOG=$SANBUILD/meson-logs/testlog.txt
  rm -f "$SANLOG"
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    OCSTOP_STOPS=60 meson test -C "$SANBUILD" --print-errorlogs --num-processes 2 --no-suite shim \
    --no-suite packaging --no-suite timing --no-suite cli-editors
  src=$?
  [ -f "$SANLOG" ] || fail_early "meson test wrote no $SANLOG (exit $src)"
  [ "$src" -eq 0 ] || mrc=$src
  LOGS+=("$SANLOG")
fi
if [ "$FUZZBUILD" != none ]; then
  FUZZLOG=$FUZZBUILD/meson-logs/testlog.txt
  rm -f "$FUZZLOG"
  meson test -C "$FUZZBUILD" --print-errorlogs --num-processes 2 --suite fuzz
  frc=$?
  [ -f "$FUZZLOG" ] || fail_early "meson test wrote no $FUZZLOG (exit $frc)"
  [ "$frc" -eq 0 ] || mrc=$frc
  LOGS+=("$FUZZLOG")
fi

summary=$(python3 - "${LOGS[@]}" <<'PY'
import re, sys


def count(path):
    """(passed, failed) of one testlog.txt."""
    text = open(path, encoding="utf-8", errors="replace").read()
    lines = text.split("\n")   # as meson reads a test's output: only "\n" ends a line

    # Failed test indices from "Summary of Failures".
    failed = {}
    if "\nSummary of Failures:" in text:
        tail = text.split("\nSummary of Failures:", 1)[1]
        for l in tail.split("\n"):
            m = re.match(r"\s*(\d+)/\d+\s+(.*?)\s+(FAIL|ERROR|TIMEOUT|UNEXPECTEDPASS)\s", l + " ")
            if m:
                failed[m.group(1)] = (m.group(2), m.group(3))

    class Test:
        def __init__(self, idx):
            self.idx, self.name, self.result = idx, "?", ""
            self.plan = None                       # N of the first "1..N" line
            self.passes = self.fails = self.directives = 0

    tests = []
    cur = None
    section = None
    for l in lines:
        m = re.match(r"^=+ (\d+)/\d+ =+$", l)
        if m:
            cur = Test(m.group(1))
            tests.append(cur)
            section = None
            continue
        if cur is None:
            continue
        if l.startswith("Summary of Failures:"):
            cur = None
            continue
        if section is None:
            if l.startswith("test:"):
                cur.name = l.split(":", 1)[1].strip()
            elif l.startswith("result:"):
                cur.result = l.split(":", 1)[1].strip()
        if re.match(r"^-+ stdout -+$", l):
            section = "stdout"; continue
        if re.match(r"^-+ \w+ -+$", l) or re.match(r"^=+$", l):
            section = "other"; continue
        if section != "stdout":
            continue
        m = re.match(r"^1\.\.(\d+)\b", l)
        if m and cur.plan is None:
            cur.plan = int(m.group(1))
            continue
        m = re.match(r"^(not ok|ok)\b(.*)$", l)
        if not m:
            continue
        if re.search(r"#\s*(SKIP|TODO)\b", m.group(2), re.I):
            cur.directives += 1
        elif m.group(1) == "ok":
            cur.passes += 1
        else:
            cur.fails += 1

    passed = failed_n = 0
    for t in tests:
        whole = failed.get(t.idx)
        ran = t.passes + t.fails + t.directives
        if t.plan is None and ran == 0:
            # No TAP at all: the whole test is one case. Skipped and expected-fail tests count as nothing.
            if whole:
                failed_n += 1
                print(f"# failed: {t.name} ({whole[1]})", file=sys.stderr)
            elif t.result == "exit status 0":
                passed += 1
            continue
        missing = max(0, t.plan - ran) if t.plan is not None else 0
        passed += t.passes
        failed_n += t.fails + missing
        if whole and t.fails + missing == 0:
            failed_n += 1   # crash, timeout, plan mismatch, non-zero exit after only "ok" lines
        why = [whole[1]] if whole else []
        if missing:
            why.append(f"{missing} of {t.plan} planned cases did not run")
        if t.plan is None:
            why.append("no plan")
        if why or t.fails:
            print(f"# failed: {t.name}" + (f" ({', '.join(why)})" if why else ""), file=sys.stderr)
    for idx, (name, st) in failed.items():
        if not any(t.idx == idx for t in tests):
            failed_n += 1
            print(f"# failed: {name} ({st})", file=sys.stderr)
    return passed, failed_n


passed = failed_n = 0
for path in sys.argv[1:]:
    p, f = count(path)
    passed += p
    failed_n += f
print(f"{passed} passed, {failed_n} failed")
PY
) || fail_early "could not parse ${LOGS[*]}"

if [ "$mrc" -ne 0 ] && [[ $summary == *", 0 failed" ]]; then
  # meson says something failed that the log parsing did not catch: never report success.
  summary="${summary%, 0 failed}, 1 failed"
fi
echo "$summary"
[[ $summary == *", 0 failed" ]] && [ "$mrc" -eq 0 ]
