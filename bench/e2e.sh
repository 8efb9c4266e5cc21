#!/bin/bash
# bench/e2e.sh [--out DIR] [--quick] [--trials N] [--scenario-trials M] [--tui-trials K]
#              [--modes serve,tui] [-- SERVE-OPTIONS]
# Stopping a turn of a real OpenCode (the offline fake model) by each approach a user has, against
# OpenCode's own interrupt measured in the same run, with bench/e2e.mjs (its header says what each
# trial does). Builds first, starts ocstopd and the fake model, then:
#   serve  one `opencode serve` (password) and one project directory per approach with its plugins;
#          the stream scenario N trials per approach (default 50; Kimaki's in lanes of their own),
#          bash, subagent and slowtool M each (default 20);
#   tui    that server gone (two OpenCodes on a small machine starve the TUI), the TUI in a private
#          tmux server, the shim in its project: Esc Esc, x typed and `ocstop` K trials each (20).
# --quick: a few trials of each. --out DIR: e2e-trials.csv (one row per
# trial) and e2e-summary.csv (one per mode, scenario and approach) in DIR. SERVE-OPTIONS go to the
# serve run (e.g. --scenarios stream --approaches floor,x).
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT= MODES=serve,tui
COMMON=() SERVE=() TUI=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$2; shift ;;
    --quick) COMMON+=(--quick) ;;
    --trials) SERVE+=(--trials "$2"); shift ;;
    --scenario-trials) SERVE+=(--scenario-trials "$2"); shift ;;
    --tui-trials) TUI+=(--trials "$2"); shift ;;
    --modes) MODES=$2; shift ;;
    --) shift; SERVE+=("$@"); break ;;
    *) echo "bench/e2e.sh: unknown option $1 (see its header)" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$OUT" ]; then
  mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
  rm -f "$OUT/e2e-trials.csv" "$OUT/e2e-summary.csv"
  COMMON+=(--csv "$OUT/e2e-trials.csv" --summary "$OUT/e2e-summary.csv" --append)
fi
. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
. "$SRC/tests/lib/tui.sh"
ocstop_build || exit 1
# No --shim: a plugin in the global config would load in every directory.
world_start
START=$(now_ms)
phase() { echo "e2e.sh: $1 at $((($(now_ms) - START) / 1000)) s, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2; }

# project_stub DIR — DIR's .opencode/ gets the global config's stub for OpenCode's `npm install` of
# its plugin package: offline, that install stalls the directory's first request for half a minute.
project_stub() {
  mkdir -p "$1/.opencode/node_modules" && cp "$OC_CONFIG_DIR/package.json" "$OC_CONFIG_DIR/package-lock.json" "$1/.opencode/"
}
# shim_project DIR — DIR as a project with ocstop's shim, linked as a user links it for one project.
shim_project() {
  project_stub "$1" && (cd "$1" && OCSTOP_SHIM=$OCSTOP_SHIM_SRC "$OCSTOP_BIN" install-plugin --project >/dev/null)
}
ocstopd_start "$T" || exit 1
rc=0

serve_mode() {
  # floor: no plugin. ocstop: the shim. copied: the plugin people copy into a project.
  mkdir -p "$T/plain" "$T/copied/.opencode/plugin" "$T/kimaki" "$T/kimaki-plugin"
  shim_project "$T/ocstop" || return 1
  project_stub "$T/copied" || return 1
  cp "$SRC/bench/fixtures/abort-on-x.js" "$T/copied/.opencode/plugin/"
  # kimaki: Kimaki's interrupt plugin with its default wait, loaded as Kimaki loads it (a file URL in
  # the project's config), beside its one dependency, installed by tests/setup.sh.
  unset KIMAKI_INTERRUPT_STEP_TIMEOUT_MS
  cp "$SRC"/tests/fixtures/kimaki/*.ts "$T/kimaki-plugin/"
  local sdk=${OCSTOP_CACHE:-$_OC_REAL_HOME/.cache/ocstop}/opencode-sdk-$OC_VERSION/node_modules
  [ -d "$sdk/@opencode-ai/sdk" ] || { echo "no @opencode-ai/sdk in $sdk: run tests/setup.sh" >&2; return 1; }
  ln -s "$sdk" "$T/kimaki-plugin/node_modules"
  jq -n --arg p "file://$T/kimaki-plugin/opencode-interrupt-plugin.ts" '{plugin: [$p]}' >"$T/kimaki/opencode.json" || return 1
  oc_serve_start "$T" "$T/plain" "bench-$$" || return 1
  phase "serve: OpenCode up"
  node "$SRC/bench/e2e.mjs" --mode serve --url "$OC_URL" --root "$T" --fake-log "$FAKE_LOG" --fake-url "$FAKE_URL" \
    --password "$OC_PASSWORD" --ocstop "$OCSTOP_BIN" "${COMMON[@]}" "${SERVE[@]}"
  local r=$?
  kill "$OC_PID" 2>/dev/null
  wait_until 10 pid_gone "$OC_PID" || kill -KILL "$OC_PID" 2>/dev/null
  return $r
}

tui_mode() {
  shim_project "$T/tui" || return 1
  TMUX_SOCK=$T/tmux.sock
  tm() { tmux -S "$TMUX_SOCK" "$@"; }
  # The TUI is tmux's child, not ours, and outlives `tmux kill-server` by seconds to minutes: it and
  # all it starts carry a tag, and end with the run however it ends.
  local tag=e2e-tui-$$
  oc_at_exit "tmux -S $TMUX_SOCK kill-server 2>/dev/null; oc_end_tagged $tag"
  env | grep -E '^(HOME|XDG_|OPENCODE_|OCSTOP_)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$T/env.sh"
  echo "export OCSTOP_TEST_TAG=$tag" >>"$T/env.sh"
  # No user tmux config; and Escape goes to the TUI at once, not after tmux's wait for a key sequence.
  tm -f /dev/null new-session -d -s tui -x 120 -y 30 "bash -c '. $T/env.sh; cd $T/tui; exec $(oc_bin)'" || return 1
  tm set -sg escape-time 0
  wait_until 60 pane_has "Ask anything" || return 1
  phase "tui: the TUI is up (busy spinner on, the default)"
  node "$SRC/bench/e2e.mjs" --mode tui --tmux "$TMUX_SOCK" --target tui --root "$T/tui" --fake-log "$FAKE_LOG" \
    --ocstop "$OCSTOP_BIN" "${COMMON[@]}" "${TUI[@]}"
}

for m in ${MODES//,/ }; do
  case $m in
    serve) serve_mode || { echo "e2e.sh: the serve run failed" >&2; rc=1; } ;;
    tui) tui_mode || { echo "e2e.sh: the TUI run failed" >&2; rc=1; } ;;
    *) echo "bench/e2e.sh: unknown mode $m" >&2; rc=2 ;;
  esac
  phase "$m done"
done
exit "$rc"
