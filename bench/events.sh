#!/bin/bash
# bench/events.sh — ocstopd's CPU while an OpenCode server streams events, against `curl -sN`
# reading the same stream, from 10 to 100,000 sessions.
#
#   bench/events.sh [--quick] [--daemon NAME=PATH]... [--build-dir DIR] [--csv FILE] [--seconds S]
#
# Builds bench/sse-source (and ocstopd) with meson in DIR (default build-bench, -O2). For each row
# (sessions × events/s: 10, 100, 1,000, 10,000, 100,000 sessions at 1,000/s, then 10 sessions at
# 10,000/s) it starts bench/sse-source on CPU 1, then every daemon given (default:
# current=DIR/daemon/ocstopd, each with its own private socket directory, --no-default-server
# --opencode URL) and `curl -sN URL/global/event >/dev/null`, all on CPU 0 and all reading the same
# stream at once. Once every daemon says it tracks the row's sessions (`ocstop status`), it waits
# one more second, then reads /proc/PID/schedstat (time on a CPU) of each over S seconds (default 5).
#
# --daemon NAME=PATH: measure this ocstopd (repeatable; several are measured side by side).
# --csv FILE: write sessions,rate,target,cpu_pct,seconds,events_sent (target: a daemon's NAME or curl).
# --quick: 2 s windows.
# See bench/README.md for what the figures mean.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/bench/lib.sh"
BUILD=$SRC/build-bench
CSV=
SECONDS_PER_ROW=5
DAEMONS=()
ROWS=("10 1000" "100 1000" "1000 1000" "10000 1000" "100000 1000" "10 10000")
while [ $# -gt 0 ]; do
  case $1 in
    --quick) SECONDS_PER_ROW=2 ;;
    --daemon) [ $# -ge 2 ] || { echo "--daemon needs NAME=PATH" >&2; exit 2; }; DAEMONS+=("$2"); shift ;;
    --build-dir) [ $# -ge 2 ] || { echo "--build-dir needs a directory" >&2; exit 2; }; BUILD=$(realpath -m "$2"); shift ;;
    --csv) [ $# -ge 2 ] || { echo "--csv needs a file" >&2; exit 2; }; CSV=$(realpath -m "$2"); shift ;;
    --seconds) [[ ${2:-} =~ ^[1-9][0-9]?$ ]] || { echo "--seconds needs 1 to 99" >&2; exit 2; }; SECONDS_PER_ROW=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

bench_build "$BUILD" || exit 1
[ ${#DAEMONS[@]} -gt 0 ] || DAEMONS=("current=$BUILD/daemon/ocstopd")
OCSTOP=$BUILD/client/ocstop
for d in "${DAEMONS[@]}"; do
  name=${d%%=*} bin=${d#*=}
  case $name in ''|*/*|*' '*|*,*|curl) echo "bad daemon name in $d (want NAME=PATH)" >&2; exit 2 ;; esac
  [ "$name" != "$d" ] && [ -x "$bin" ] || { echo "$d: want NAME=PATH to an executable ocstopd" >&2; exit 2; }
done

W=$(mktemp -d /tmp/ocstop-events.XXXXXX)
PIDS=()
stop_all() {
  bench_stop "${PIDS[@]}"
  PIDS=()
}
trap 'stop_all; rm -rf "$W"' EXIT
trap 'exit 130' INT TERM

if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  PIN_READER=(taskset -c 0); PIN_SOURCE=(taskset -c 1)
else
  PIN_READER=(); PIN_SOURCE=(); echo "note: fewer than 2 CPUs or no taskset: nothing pinned"
fi

cpu_ns() { awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0; }
source_sent() { # the source's event counter, asked by SIGUSR1
  local before
  before=$(grep -c '^sent' "$W/source.out")
  kill -USR1 "$SRC_PID"
  for _ in $(seq 50); do
    [ "$(grep -c '^sent' "$W/source.out")" -gt "$before" ] && break
    sleep 0.02
  done
  awk '/^sent/ { n = $2 } END { print n + 0 }' "$W/source.out"
}
tracked() { # SOCKET: the sessions the daemon tracks
  "$OCSTOP" -s "$1" -j status --limit 0 2>/dev/null |
    sed -n 's/.*"sessions":\([0-9][0-9]*\).*/\1/p' | head -1
}

[ -z "$CSV" ] || { mkdir -p "$(dirname "$CSV")" && echo "sessions,rate,target,cpu_pct,seconds,events_sent" >"$CSV"; } || exit 2
printf '%9s %7s  %-12s %8s %8s %10s\n' sessions rate target cpu_pct seconds events
FAILED=0
for row in "${ROWS[@]}"; do
  read -r sessions rate <<<"$row"
  : >"$W/source.out"
  "${PIN_SOURCE[@]}" "$BUILD/bench/sse-source" --rate "$rate" --sessions "$sessions" >"$W/source.out" 2>"$W/source.log" &
  SRC_PID=$!
  PIDS+=($SRC_PID)
  for _ in $(seq 50); do grep -q '^port' "$W/source.out" && break; sleep 0.05; done
  URL=http://127.0.0.1:$(sed -n 's/^port //p' "$W/source.out")
  declare -A PID=() SOCK=()
  for d in "${DAEMONS[@]}"; do
    name=${d%%=*} bin=${d#*=}
    rm -rf "${W:?}/$name"
    mkdir -m 700 "$W/$name" && mkdir "$W/$name/config" || exit 1
    SOCK[$name]=$W/$name/s.sock
    env -u OCSTOP_OPENCODE_URL -u OCSTOP_SOCKET -u OPENCODE_SERVER_PASSWORD -u OPENCODE_SERVER_USERNAME \
      XDG_CONFIG_HOME="$W/$name/config" XDG_RUNTIME_DIR="$W/$name" \
      "${PIN_READER[@]}" "$bin" --no-default-server --opencode "$URL" -s "${SOCK[$name]}" 2>"$W/$name/log" &
    PID[$name]=$!
    PIDS+=($!)
  done
  "${PIN_READER[@]}" curl -sN "$URL/global/event" >/dev/null &
  PID[curl]=$!
  PIDS+=($!)
  # Every daemon tracks the row's sessions (the announcement is read), then one more second.
  for name in "${!SOCK[@]}"; do
    for _ in $(seq 300); do
      n=$(tracked "${SOCK[$name]}")
      [ "${n:-0}" -ge "$sessions" ] && break
      kill -0 "${PID[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    [ "${n:-0}" -ge "$sessions" ] ||
      { echo "$name tracks ${n:-no} sessions of $sessions; its log:" >&2; tail -5 "$W/$name/log" >&2; FAILED=1; }
  done
  sleep 1
  declare -A C0=()
  for t in "${!PID[@]}"; do C0[$t]=$(cpu_ns "${PID[$t]}"); done
  s0=$(source_sent); t0=$(date +%s%N)
  sleep "$SECONDS_PER_ROW"
  declare -A C1=()
  for t in "${!PID[@]}"; do C1[$t]=$(cpu_ns "${PID[$t]}"); done
  s1=$(source_sent); t1=$(date +%s%N)
  grep -q 'streaming [0-9]* dropped 0$' <(tail -1 "$W/source.out") ||
    { echo "the source dropped a reader that fell behind: $(tail -1 "$W/source.out")" >&2; FAILED=1; }
  for d in "${DAEMONS[@]}" curl; do
    t=${d%%=*}
    kill -0 "${PID[$t]}" 2>/dev/null || { echo "$t died during the row" >&2; FAILED=1; }
    pct=$(awk -v a="${C0[$t]}" -v b="${C1[$t]}" -v w=$((t1 - t0)) 'BEGIN { printf "%.2f", 100 * (b - a) / w }')
    secs=$(awk -v w=$((t1 - t0)) 'BEGIN { printf "%.2f", w / 1e9 }')
    printf '%9s %7s  %-12s %8s %8s %10s\n' "$sessions" "$rate" "$t" "$pct" "$secs" $((s1 - s0))
    [ -z "$CSV" ] || echo "$sessions,$rate,$t,$pct,$secs,$((s1 - s0))" >>"$CSV"
  done
  stop_all
  unset PID SOCK C0 C1
done
exit $FAILED
