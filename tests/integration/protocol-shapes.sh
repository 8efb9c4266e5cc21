#!/bin/bash
# protocol-shapes.sh — every reply, event and relay request of the real daemon has the shape
# proto/PROTOCOL.md gives it, so the document cannot drift from the code.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tmp_dir_new T
python3 "$OCSTOP_SRCDIR/tests/lib/fake-opencode.py" "$T/port" 2>"$T/fake.err" &
oc_track $!
wait_until 10 test -s "$T/port" || tap_bail "fake OpenCode did not start"
URL=http://127.0.0.1:$(cat "$T/port")
ocstopd_start "$T" --opencode "$URL" --quiet-ms 100 || tap_bail "ocstopd did not start"
wait_until 10 ocstop_knows_busy ses_stuck || tap_bail "daemon did not learn the sessions"
python3 "$OCSTOP_SRCDIR/tests/lib/protocol_check.py" "$OCSTOP_SOCKET" "$OCSTOP_SRCDIR/proto/PROTOCOL.md"
exit $?
