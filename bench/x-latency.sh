#!/bin/bash
# bench/x-latency.sh [RUNS] [serve] — typing x: latency to the verified stop in serve mode and (unless
# "serve" is given) in the TUI, next to the direct curl abort -> idle floor measured in the same run.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-20}
. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
ocstop_build || exit 1
world_start --shim
ocstopd_start "$T" || exit 1
oc_serve_start "$T" "$T/proj" "bench-$$" || exit 1
echo "== serve mode (the shim registers it; the daemon reaches it over HTTP)"
node "$SRC/bench/latency.mjs" --url "$OC_URL" --dir "$T/proj" --runs "$RUNS" --password "$OC_PASSWORD" \
  --ocstop "$OCSTOP_BIN" --modes curl,x
kill "$OC_PID"
[ "${2:-}" = serve ] && exit 0
echo "== TUI (no HTTP port: the shim relays)"
mkdir -p "$T/tui"
env | grep -E '^(HOME|XDG_|OPENCODE_|OCSTOP_)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$T/env.sh"
TM=$T/tmux.sock
oc_at_exit "tmux -S $TM kill-server 2>/dev/null"
tmux -S "$TM" new-session -d -s tui -x 120 -y 30 "bash -c '. $T/env.sh; cd $T/tui; exec $(oc_bin)'"
wait_until 60 eval "tmux -S $TM capture-pane -p -t tui | grep -q 'Ask anything'" || exit 1
node "$SRC/bench/tui-latency.mjs" --tmux "$TM" --target tui --ocstop "$OCSTOP_BIN" --runs "$RUNS"
