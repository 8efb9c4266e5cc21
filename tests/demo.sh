#!/bin/bash
# tests/demo.sh — the live demo: a real OpenCode (offline, fake model), ocstopd and the plugin shim;
# a reply streams, the user sends "x", and the verified stop is printed with its latency.
# Installs what it needs (apt packages, opencode-ai@1.18.33 in ~/.cache/ocstop) and builds first.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/tests/lib/oc.sh"
. "$SRC/tests/lib/ocstop.sh"
ocstop_build || exit 1
echo "starting the fake model, OpenCode $OC_VERSION (serve, with a password), ocstopd and the plugin shim..."
world_start --shim
PW=demo-$$
ocstopd_start "$T" || exit 1
oc_serve_start "$T" "$T/proj" "$PW" || exit 1
echo "OpenCode at $OC_URL, ocstopd on $OCSTOP_SOCKET"
echo
node "$SRC/tests/demo.mjs" "$OC_URL" "$T/proj" "$PW" "$OCSTOP_BIN"
