#!/bin/bash
# bench/daemon-bench.sh — ocstopd against a raw C Unix-socket echo, in the same run, interleaved.
#
#   bench/daemon-bench.sh [--quick] [--daemon NAME=PATH]... [--build-dir DIR] [--results DIR] [--keep]
#                         [-- LOADGEN-OPTIONS]
#
# Builds bench/echo, bench/loadgen (and ocstopd) with meson in DIR (default build-bench, -O2), starts
# the echo and, for every daemon given (default: current=DIR/daemon/ocstopd), two instances on
# private sockets in a temporary directory (one for the main run, a fresh one for the memory pass),
# all pinned to CPU 0; runs bench/loadgen pinned to CPU 1, prints its tables, and stops everything
# it started. Compare two daemons in one run:
#
#   bench/daemon-bench.sh --daemon old=/path/to/old/ocstopd --daemon new=build/daemon/ocstopd
#
# --quick: fewer samples, shorter rounds and feeds (about 30 s for one daemon).
# --keep: keep the directory with the daemons' logs, the counters' files and results.tsv.
# --results DIR: write every figure as CSV into DIR (created; its daemon-* files are replaced):
#   daemon-latency.csv, daemon-feed.csv, daemon-throughput.csv, daemon-syscalls.csv,
#   daemon-memory.csv, the raw daemon.tsv and the printed tables as daemon.txt; and scaling.csv,
#   one row per session level for the last daemon given: its pass and clear verdicts against
#   the echo with no other client, and its memory pass (bytes per session: anonymous growth
#   since registration / sessions held).
# See bench/README.md for what each figure means.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"
BUILD=$SRC/build-bench
QUICK=0
KEEP=0
RESULTS=
DAEMONS=()
EXTRA=()
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --keep) KEEP=1 ;;
    --daemon) [ $# -ge 2 ] || { echo "--daemon needs NAME=PATH" >&2; exit 2; }; DAEMONS+=("$2"); shift ;;
    --daemon=*) DAEMONS+=("${1#--daemon=}") ;;
    --build-dir) [ $# -ge 2 ] || { echo "--build-dir needs a directory" >&2; exit 2; }; BUILD=$(realpath -m "$2"); shift ;;
    --results) [ $# -ge 2 ] || { echo "--results needs a directory" >&2; exit 2; }; RESULTS=$(realpath -m "$2"); shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ -n "$RESULTS" ]; then
  mkdir -p "$RESULTS" || exit 2
fi

# The loadgen's TSV (one line per figure, its kind first) as one CSV per kind in $RESULTS.
write_csv() { # TSV SCALING-TARGET
  awk -F'\t' -v dir="$RESULTS" -v scaled="$2" '
    function q(s) { gsub(/"/, "\"\"", s); return s ~ /[",]/ ? "\"" s "\"" : s }
    function ratio(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "" }
    BEGIN {
      lat = dir "/daemon-latency.csv"; feed = dir "/daemon-feed.csv"
      tput = dir "/daemon-throughput.csv"; sys = dir "/daemon-syscalls.csv"
      mem = dir "/daemon-memory.csv"
      print "sessions,others,variant,target,n,min,p50,p90,p99,max,errors,p50_ratio,p99_ratio" > lat
      print "sessions,target,sent,held,known,probes,feed_s,first_ms_1k,last_ms_1k,anon_before_kb,anon_after_kb" > feed
      print "sessions,target,round,replies_per_s" > tput
      print "sessions,target,per_req,detail" > sys
      print "target,state,sessions,clients,rss_kb,pss_kb,anon_kb" > mem
    }
    # The echo of a row comes before the daemons (loadgen writes targets in order).
    $1 == "latency" {
      row = $2 SUBSEP $3 SUBSEP $4
      if ($5 == "echo") { p50[row] = $8; p99[row] = $10 }
      print $2, $3, $4, q($5), $6, $7, $8, $9, $10, $11, $12,
        ($5 == "echo" ? "" : ratio($8, p50[row])), ($5 == "echo" ? "" : ratio($10, p99[row])) > lat
    }
    $1 == "feed" { split($6, kp, "/"); print $2, q($3), $4, $5, kp[1], kp[2], $7, $8, $9, $10, $11 > feed }
    $1 == "throughput" { print $2, q($3), ++round[$2 SUBSEP $3], $4 > tput }
    $1 == "syscalls" { print $2, q($3), $4, q($5) > sys }
    $1 == "memory" { print q($5), $2, $3, $4, $6, $7, $8 > mem }
    # scaling.csv: latency with no other client; the memory pass writes a level per row, in order.
    $1 == "latency" && $3 == 0 && ($5 == "echo" || $5 == scaled) {
      if (!($2 in seen)) { seen[$2] = 1; level[++levels] = $2 }
      lat0[$2, ($5 == "echo" ? "echo" : $4), "p50"] = $8; lat0[$2, ($5 == "echo" ? "echo" : $4), "p99"] = $10
    }
    $1 == "memory" && $5 == scaled && $2 == "registered" { anon0 = $8 }
    $1 == "memory" && $5 == scaled && $2 == "sessions" { m++; mheld[m] = $3; mrss[m] = $6; mpss[m] = $7; manon[m] = $8 }
    END {
      sc = dir "/scaling.csv"
      print "sessions,pass_p50_us,pass_p99_us,echo_p50_us,echo_p99_us,clear_p50_us,clear_p99_us,anon_kb,rss_kb,pss_kb,bytes_per_session" > sc
      for (i = 1; i <= levels; i++) {
        L = level[i]
        bps = (i in manon) && mheld[i] > 0 && anon0 != "" ? sprintf("%.0f", (manon[i] - anon0) * 1024 / mheld[i]) : ""
        print L, lat0[L, "pass", "p50"], lat0[L, "pass", "p99"], lat0[L, "echo", "p50"], lat0[L, "echo", "p99"],
          lat0[L, "clear", "p50"], lat0[L, "clear", "p99"], manon[i], mrss[i], mpss[i], bps > sc
      }
    }
  ' OFS=, "$1"
}

START=$(date +%s%N)
bench_build "$BUILD" || exit 1
[ ${#DAEMONS[@]} -gt 0 ] || DAEMONS=("current=$BUILD/daemon/ocstopd")

W=$(mktemp -d /tmp/ocstop-bench.XXXXXX)
PIDS=()
cleanup() {
  bench_stop "${PIDS[@]}"
  if [ "$KEEP" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Servers on CPU 0, the generator on CPU 1 (pipelined throughput is "on one core").
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_SERVER=(taskset -c 0); PIN_GEN=(taskset -c 1)
else
  PIN_SERVER=(); PIN_GEN=(); echo "note: fewer than 2 CPUs or no taskset: nothing pinned"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null

wait_socket() { # PATH PID
  local i
  for i in $(seq 100); do
    [ -S "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

"${PIN_SERVER[@]}" "$BUILD/bench/echo" "$W/echo.sock" 2>"$W/echo.log" &
PIDS+=($!)
wait_socket "$W/echo.sock" $! || { echo "the echo did not start:" >&2; cat "$W/echo.log" >&2; exit 1; }

ARGS=(--echo "$W/echo.sock" --work "$W" --tsv "$W/results.tsv")
declare -A LOGS DPID
for d in "${DAEMONS[@]}"; do
  name=${d%%=*} bin=${d#*=}
  case $name in ''|*/*|*' '*) echo "bad daemon name in $d (want NAME=PATH)" >&2; exit 2 ;; esac
  [ "$name" != "$d" ] && [ -x "$bin" ] || { echo "$d: want NAME=PATH to an executable ocstopd" >&2; exit 2; }
  [ -z "${LOGS[$name]:-}" ] || { echo "two daemons named $name" >&2; exit 2; }
  # The daemon refuses a socket folder other users may open.
  mkdir -m 700 "$W/$name" && mkdir "$W/$name/config" || exit 1
  # Two instances: one for the main run, a fresh one for the memory pass.
  for inst in main mem; do
    # No user config, no OpenCode to watch: only what the load generator brings.
    env -u OCSTOP_OPENCODE_URL -u OCSTOP_SOCKET -u OPENCODE_SERVER_PASSWORD -u OPENCODE_SERVER_USERNAME \
      XDG_CONFIG_HOME="$W/$name/config" XDG_RUNTIME_DIR="$W/$name" \
      "${PIN_SERVER[@]}" "$bin" --no-default-server -s "$W/$name/$inst.sock" 2>"$W/$name/$inst.log" &
    PIDS+=($!)
    wait_socket "$W/$name/$inst.sock" $! ||
      { echo "$name ($bin) did not start:" >&2; cat "$W/$name/$inst.log" >&2; exit 1; }
  done
  LOGS[$name]=$W/$name/main.log
  LAST_DAEMON=$name
  DPID[$name]=${PIDS[-2]}
  ARGS+=(--daemon "$name=$W/$name/main.sock" --memory-daemon "$name=$W/$name/mem.sock")
done

if [ "$QUICK" = 1 ]; then
  ARGS+=(--rounds 4 --samples 250 --warmup 100 --row-seconds 0.6 --tput-rounds 2 --tput-seconds 0.3
    --feed-budget 5 --syscall-requests 1000)
fi
echo "== running bench/loadgen (progress on stderr)"
"${PIN_GEN[@]}" "$BUILD/bench/loadgen" "${ARGS[@]}" "${EXTRA[@]}" | tee "$W/tables.txt"
RC=${PIPESTATUS[0]}
if [ -n "$RESULTS" ]; then
  cp "$W/results.tsv" "$RESULTS/daemon.tsv" && sed 's/[[:blank:]]*$//' "$W/tables.txt" >"$RESULTS/daemon.txt" &&
    write_csv "$W/results.tsv" "${LAST_DAEMON}" || { echo "could not write the results into $RESULTS" >&2; RC=1; }
  echo "results: $RESULTS/daemon-*.csv"
fi

echo
echo "== the daemons afterwards"
for d in "${DAEMONS[@]}"; do
  name=${d%%=*}
  log=${LOGS[$name]}
  alive="running (pid ${DPID[$name]})"
  case $(ps -o stat= -p "${DPID[$name]}" 2>/dev/null) in ''|Z*) alive="EXITED" ;; esac
  printf '%-12s %s; log: %s lines, %s bytes (%s info, %s warn; %s "cleared" lines)\n' "$name" "$alive" \
    "$(wc -l <"$log")" "$(wc -c <"$log")" "$(grep -cE '^([^ ]+ )?info:' "$log")" "$(grep -cE '^([^ ]+ )?warn:' "$log")" \
    "$(grep -c 'with nothing running: cleared$' "$log")"
  # Without the time a line starts with (older builds wrote none), so that like lines count together.
  sed -E 's/^[0-9-]+T[0-9:.+-]+ //' "$log" | grep -v '^info: stop word in .* with nothing running: cleared$' |
    sort | uniq -c | sort -rn | head -5 |
    sed 's/^/             /'
done
echo
echo "wall time: $(( ($(date +%s%N) - START) / 1000000000 )) s"
exit $RC
