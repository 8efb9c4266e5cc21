#!/bin/bash
# bench/run.sh — every benchmark of ocstop in one run, each figure beside a baseline measured in the
# same run, then BENCHMARKS.md and its plot made from the results.
#
#   bench/run.sh [--quick] [--only PHASE,...] [--out DIR] [--trials N] [--scenario-trials N]
#
# Phases, in this order (a phase that fails is reported and the others still run):
#   setup    tests/setup.sh --bench: the packages, OpenCode 1.18.33 and its SDK (once; silent after)
#   build    the -O2 build in build-bench: ocstopd, ocstop, the load generators
#   daemon   ocstopd alone against a raw C echo: verdict round trip, throughput, memory (daemon-bench.sh)
#   events   the daemon's CPU while an OpenCode-like server streams events, against curl -N
#   startup  start → first reply against a C echo server, `ocstop status` against /bin/true
#   shim     the shim's cost inside chat.message against an empty hook, under node and Bun
#   e2e      real OpenCode with the fake model: x, ocstop, the copied plugin, Kimaki, against
#            OpenCode's own abort route, streaming and with tools and subagents, serve and TUI
#   report   bench/report.mjs: BENCHMARKS.md and BENCHMARKS-scaling.png from the CSVs
#
# The results (CSV, one file per kind; run.csv: the machine, the commit, the command; phases.csv:
# each phase's wall time and load) go to DIR, by default bench/results, and BENCHMARKS.md and its
# plot to the top of the tree. --quick runs every phase briefly (for a try: its figures are too few
# to publish) and writes the results and the report to a fresh temporary directory unless --out is
# given; so does any --out. --trials and --scenario-trials set the end-to-end trials per approach
# (50 streaming, 20 per other scenario).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
COMMAND="bench/run.sh${*:+ $*}"
. "$SRC/bench/lib.sh"
BUILD=$SRC/build-bench
PHASES=(setup build daemon events startup shim e2e report)
QUICK=0
ONLY=
OUT=
TRIALS=
SCENARIO_TRIALS=
usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --only) [ $# -ge 2 ] || { echo "--only needs PHASE,..." >&2; exit 2; }; ONLY=$2; shift ;;
    --out) [ $# -ge 2 ] || { echo "--out needs a directory" >&2; exit 2; }; OUT=$(realpath -m "$2"); shift ;;
    --trials) [ $# -ge 2 ] || { echo "--trials needs a number" >&2; exit 2; }; TRIALS=$2; shift ;;
    --scenario-trials) [ $# -ge 2 ] || { echo "--scenario-trials needs a number" >&2; exit 2; }; SCENARIO_TRIALS=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
for n in $TRIALS $SCENARIO_TRIALS; do
  case $n in ''|*[!0-9]*|0) echo "trials must be a positive number, not '$n'" >&2; exit 2 ;; esac
done
if [ -n "$ONLY" ]; then
  for p in ${ONLY//,/ }; do
    case " ${PHASES[*]} " in *" $p "*) ;; *) echo "no phase '$p' (phases: ${PHASES[*]})" >&2; exit 2 ;; esac
  done
fi
if [ -z "$OUT" ]; then
  if [ "$QUICK" = 1 ]; then OUT=$(mktemp -d /tmp/ocstop-bench-quick.XXXXXX) || exit 1; else OUT=$SRC/bench/results; fi
fi
if [ "$QUICK" = 1 ] || [ "$OUT" != "$SRC/bench/results" ]; then REPORT_DIR=$OUT; else REPORT_DIR=$SRC; fi
mkdir -p "$OUT" || exit 1
QUICK_ARG=()
[ "$QUICK" = 1 ] && QUICK_ARG=(--quick)

wanted() { [ -z "$ONLY" ] || case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
load1() { cut -d' ' -f1 /proc/loadavg; }

phase_setup() { "$SRC/tests/setup.sh" --bench; }

phase_build() { bench_build "$BUILD"; }

phase_daemon() {
  "$SRC/bench/daemon-bench.sh" --build-dir "$BUILD" --results "$OUT" "${QUICK_ARG[@]}"
}

phase_events() {
  "$SRC/bench/events.sh" --build-dir "$BUILD" --csv "$OUT/events-cpu.csv" "${QUICK_ARG[@]}"
}

phase_startup() {
  local rounds=()
  [ "$QUICK" = 1 ] && rounds=(--rounds 15 --cold-rounds 3)
  "$BUILD/bench/startup" --ocstopd "$BUILD/daemon/ocstopd" --ocstop "$BUILD/client/ocstop" \
    --echo "$BUILD/bench/echo" --csv "$OUT/startup.csv" "${rounds[@]}"
}

phase_shim() {
  local calls=()
  [ "$QUICK" = 1 ] && calls=(--calls 2000 --seconds 0.3)
  node "$SRC/bench/shim-cost.mjs" --daemon "$BUILD/daemon/ocstopd" --csv "$OUT/shim.csv" "${calls[@]}"
}

phase_e2e() {
  local args=(--out "$OUT" "${QUICK_ARG[@]}")
  [ -n "$TRIALS" ] && args+=(--trials "$TRIALS")
  [ -n "$SCENARIO_TRIALS" ] && args+=(--scenario-trials "$SCENARIO_TRIALS")
  OCSTOP_BUILDDIR=$BUILD "$SRC/bench/e2e.sh" "${args[@]}"
}

phase_report() {
  node "$SRC/bench/report.mjs" --results "$OUT" --md "$REPORT_DIR/BENCHMARKS.md" \
    --plot "$REPORT_DIR/BENCHMARKS-scaling.png"
}

# What was measured where, and how.
{
  rev=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ] && rev="$rev-dirty"
  echo "key,value"
  echo "date,$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit,$rev"
  printf 'command,"%s"\n' "${COMMAND//\"/\"\"}"
  echo "cpu,\"$(lscpu | sed -n 's/^Model name: *//p' | head -1)\""
  echo "cores,$(nproc)"
  echo "memory_mib,$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
  echo "kernel,$(uname -r)"
  echo "os,\"$(. /etc/os-release && echo "$PRETTY_NAME")\""
  echo "quick,$QUICK"
} >"$OUT/run.csv"
echo "phase,status,wall_s,load_before,load_after" >"$OUT/phases.csv"

FAILED=()
START=$(date +%s%N)
for p in "${PHASES[@]}"; do
  wanted "$p" || continue
  before=$(load1)
  t0=$(date +%s%N)
  echo "== $p (load $before)"
  if "phase_$p"; then status=ok; else status=failed; FAILED+=("$p"); fi
  wall=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%s,%s,%d.%03d,%s,%s\n' "$p" "$status" $((wall / 1000)) $((wall % 1000)) "$before" "$(load1)" >>"$OUT/phases.csv"
  echo "== $p: $status in $((wall / 1000)) s"
done
total=$(( ($(date +%s%N) - START) / 1000000000 ))
echo "results in $OUT; total $total s"
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "failed phases: ${FAILED[*]}" >&2
  exit 1
fi
