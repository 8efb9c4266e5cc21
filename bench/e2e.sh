#!/bin/bash
# bench/e2e.sh [E2E-OPTIONS] — stopping a streaming turn of a real OpenCode (serve mode, password,
# the offline fake model), by each approach a user has, against OpenCode's own abort route measured
# in the same run: starts ocstopd, one `opencode serve` and the fake model, sets up one project
# directory per approach with its plugins, and runs bench/e2e.mjs (options: see its header; e.g.
# --quick, --csv FILE). Builds first.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
ocstop_build || exit 1
# No --shim: a plugin in the global config would load in every directory.
world_start
# floor: no plugin. ocstop: the shim, linked as a user links it for one project.
mkdir -p "$T/plain" "$T/ocstop" "$T/copied/.opencode/plugin" "$T/kimaki" "$T/kimaki-plugin"
# A project's .opencode/ gets the global config's stub for OpenCode's `npm install` of its plugin
# package: offline, that install stalls the directory's first request for half a minute.
for d in ocstop copied; do
  mkdir -p "$T/$d/.opencode/node_modules"
  cp "$OC_CONFIG_DIR/package.json" "$OC_CONFIG_DIR/package-lock.json" "$T/$d/.opencode/"
done
(cd "$T/ocstop" && OCSTOP_SHIM=$OCSTOP_SHIM_SRC "$OCSTOP_BIN" install-plugin --project >/dev/null) || exit 1
# copied: the plugin people copy into a project.
cp "$SRC/bench/fixtures/abort-on-x.js" "$T/copied/.opencode/plugin/"
# kimaki: Kimaki's interrupt plugin with its default wait, loaded as Kimaki loads it (a file URL in
# the project's config), beside its one dependency, installed by tests/setup.sh.
unset KIMAKI_INTERRUPT_STEP_TIMEOUT_MS
cp "$SRC"/tests/fixtures/kimaki/*.ts "$T/kimaki-plugin/"
sdk=${OCSTOP_CACHE:-$_OC_REAL_HOME/.cache/ocstop}/opencode-sdk-$OC_VERSION/node_modules
[ -d "$sdk/@opencode-ai/sdk" ] || { echo "no @opencode-ai/sdk in $sdk: run tests/setup.sh" >&2; exit 1; }
ln -s "$sdk" "$T/kimaki-plugin/node_modules"
jq -n --arg p "file://$T/kimaki-plugin/opencode-interrupt-plugin.ts" '{plugin: [$p]}' >"$T/kimaki/opencode.json" || exit 1

ocstopd_start "$T" || exit 1
oc_serve_start "$T" "$T/plain" "bench-$$" || exit 1
echo "load before: $(cat /proc/loadavg)"
node "$SRC/bench/e2e.mjs" --url "$OC_URL" --root "$T" --fake-log "$FAKE_LOG" --password "$OC_PASSWORD" \
  --ocstop "$OCSTOP_BIN" "$@"
rc=$?
echo "load after: $(cat /proc/loadavg)"
exit "$rc"
