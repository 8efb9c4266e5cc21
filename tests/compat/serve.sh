#!/bin/bash
# compat/serve.sh — x on `opencode serve` of the version tests/compat.sh names (OPENCODE_BIN,
# COMPAT_VERSION): by prompt_async and by the synchronous POST /message, and ocstop status and
# abort from another terminal. Each case's description starts with its column of the table.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/lib.sh"

tap_plan 12
world_start --shim
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
monitor_start
S=$(oc_session_new "$PROJ") || tap_bail "no session"

# x_by HOW SID — type x in SID by prompt_async or by the synchronous POST /message, whose answer
# must come (a blocked prompt must not hang its caller).
x_by() {
  if [ "$1" = async ]; then oc_prompt "$2" x; return; fi
  local code
  code=$(oc_curl -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d '{"parts":[{"type":"text","text":"x"}]}' "$OC_URL/session/$2/message")
  echo "POST /message x: HTTP $code" >&2
  [[ $code == 2?? ]]
}

for how in async sync; do
  col=serve-x; [ "$how" = async ] || col=serve-sync
  tap_ok "[$col] a reply streams and the daemon sees the session busy" stream "$S" hello
  n=$(stops_for "$S")
  tap_ok "[$col] x ($how) while busy: the daemon reports a verified stop" compat_x_stops "$S" "$n" x_by "$how" "$S"
  n=$(fake_requests)
  tap_ok "[$col] stays stopped: OpenCode idle, no model request for 2 s" compat_stays_stopped "$S" "$n" 2
  tap_ok "[$col] no x and no empty user message in the history" history_clean "$S"
done

tap_ok "[serve-cli] a reply streams" stream "$S" 'once more'
tap_ok "[serve-cli] ocstop status lists the session busy" wait_until 30 ocstop_table_lists "$S" busy
tap_run "[serve-cli] ocstop abort ID exits 0" 0 ocstop -j abort "$S"
tap_ok "[serve-cli] and reports the session stopped, verified" abort_stopped "$OUT" "$S"

tap_done
