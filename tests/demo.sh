#!/bin/bash
# tests/demo.sh — the live demo: a real OpenCode (offline, fake model), ocstopd and the plugin shim;
# a reply streams, the user sends "x", and the verified stop is printed with its latency.
# Installs what it needs (apt packages, opencode-ai@1.18.33 in ~/.cache/ocstop) and builds first.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
QUIET=1 "$SRC/tests/setup.sh" || exit 1
if [ ! -f "$SRC/build/meson-private/coredata.dat" ]; then
  meson setup "$SRC/build" >/dev/null || exit 1
fi
meson compile -C "$SRC/build" >/dev/null || { echo "demo: build failed" >&2; exit 1; }

. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
tmp_dir_new T
echo "starting the fake model, OpenCode $OC_VERSION (serve, with a password), ocstopd and the plugin shim..."
fake_llm_start "$T" || exit 1
oc_env "$T"
cp "$SRC/client/opencode-plugin/ocstop.js" "$OC_CONFIG_DIR/plugin/ocstop.js"
PW=demo-$$
OPENCODE_SERVER_PASSWORD=$PW ocstopd_start "$T" || exit 1
oc_serve_start "$T" "$T/proj" "$PW" || exit 1
echo "OpenCode at $OC_URL, ocstopd on $OCSTOP_SOCKET"
echo
node "$SRC/tests/demo.mjs" "$OC_URL" "$T/proj" "$PW" "$OCSTOP_BIN"
