#!/bin/bash
# bench/stop-latency.sh [RUNS] — stop latency of ocstop against the direct abort floor, measured in
# one run on a real OpenCode (serve mode, password) with the offline fake model. Builds first.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${1:-20}
. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
ocstop_build || exit 1
world_start
oc_serve_start "$T" "$T/proj" "bench-$$" || exit 1
OPENCODE_SERVER_PASSWORD=$OC_PASSWORD ocstopd_start "$T" --opencode "$OC_URL" || exit 1
wait_until 10 ocstop_connected "$OC_URL" || exit 1
node "$SRC/bench/latency.mjs" --url "$OC_URL" --dir "$T/proj" --runs "$RUNS" --password "$OC_PASSWORD" \
  --ocstop "$OCSTOP_BIN" --modes "${OCSTOP_BENCH_MODES:-curl,ocstop}"
