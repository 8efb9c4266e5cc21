#!/bin/bash
# demo.sh — the README's first command works: the live demo streams a reply, sends x, and reports a
# verified stop after which no model request, part event or x in the conversation appeared.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 3
tap_run "the live demo runs to its end (exit 0)" 0 env OCSTOP_NO_BUILD=1 "$OCSTOP_SRCDIR/tests/demo.sh"
tap_match "... it reports the stop verified, with its latency" '^stopped in [0-9]+ ms \(verified\)$' "$OUT"
tap_match "... and nothing after it" \
  '0 new model requests, 0 part events; .*"x" in it: no, empty user message: no$' "$OUT"
tap_done
