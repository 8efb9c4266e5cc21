#!/bin/bash
# daemon-teardown.sh — connections, servers and stops torn down at awkward moments, by peers that
# misbehave on purpose: nothing is freed while the daemon still walks it. Run under ASan in the
# sanitizer build, where such a use-after-free aborts the daemon.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
TEARDOWN="python3 $OCSTOP_SRCDIR/tests/lib/teardown.py"

tap_plan 6
tmp_dir_new T

ocstopd_start "$T" --quiet-ms 0 || tap_bail "ocstopd did not start"
tap_ok "a stop proven inside the walk over stops drops a subscriber that does not read" \
  $TEARDOWN "$OCSTOP_SOCKET" publish_overflows_subscriber
tap_ok "... and the daemon says why it dropped it" grep -q "dropped: it does not read its replies" "$OCSTOPD_LOG"
tap_ok "... and lives on" kill -0 "$OCSTOPD_PID"
tap_ok "a relay taken over, then gone, with a listing pending on the first shim" \
  $TEARDOWN "$OCSTOP_SOCKET" takeover_then_gone
tap_ok "... and the daemon lives on" ocstop -q ping
tap_ok "no sanitizer report" not grep -q "Sanitizer" "$OCSTOPD_LOG"
tap_diag "$(grep -E 'warn|Sanitizer|ERROR' "$OCSTOPD_LOG" | head -n 20)"
tap_done
