# bench/lib.sh — what the benchmark scripts share (sourced; SRC is the source tree).

# bench_build DIR — the -O2 build the benchmarks run (ocstopd, ocstop, the load generators), set
# up in DIR the first time.
bench_build() {
  local dir=$1
  echo "== building in $dir"
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$SRC" --buildtype=debugoptimized -Dtests=disabled >"$dir.setup.log" 2>&1 ||
      { cat "$dir.setup.log" >&2; return 1; }
    rm -f "$dir.setup.log"
  fi
  meson compile -C "$dir" >/dev/null || { meson compile -C "$dir" >&2; return 1; }
}

# bench_stop PID... — TERM, then KILL what is still there after 5 s.
bench_stop() {
  local p i
  for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
  for p in "$@"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}
