#!/bin/bash
# hostile.sh — clients that misbehave on purpose against the real daemon (tests/lib/hostile.py):
# bad frames, wrong types in every method's params, floods, clients that never read or never finish
# a frame, and requests that would cost the daemon much. Each case checks the answer and that
# another client is still served within a bound measured in the same run.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tmp_dir_new T
# With 512 descriptors the daemon takes 512 - 256 (CONTROL_FD_RESERVE) connections at once: the
# cap the suite meets (hostile.py's MAX_CONNS).
ulimit -n 512
ocstopd_start "$T" --quiet-ms 0 || tap_bail "ocstopd did not start"
# Under ASan freed memory is held in quarantine: its RSS says nothing of what the daemon keeps.
sanitized=0
ldd "$OCSTOPD_BIN" 2>/dev/null | grep -q libasan && sanitized=1
python3 "$OCSTOP_SRCDIR/tests/lib/hostile.py" "$OCSTOP_SOCKET" "$OCSTOPD_PID" "$sanitized" "$OCSTOP_BIN"
rc=$?
if grep -q "Sanitizer" "$OCSTOPD_LOG"; then
  echo "# sanitizer report:"
  grep -A 20 "Sanitizer" "$OCSTOPD_LOG" | head -n 40 | sed 's/^/# /'
  rc=1
fi
exit $rc
