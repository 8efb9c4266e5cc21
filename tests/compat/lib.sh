# tests/compat/lib.sh — what the compatibility scenarios share (sourced after oc.sh and ocstop.sh).

# The version under test: oc_env's stub of OpenCode's plugin dependency names it.
OC_VERSION=${COMPAT_VERSION:?tests/compat.sh sets COMPAT_VERSION}
# OpenCode before 1.1 has no /global/health: its session list answers once it is up.
_oc_healthy() {
  local p
  for p in /global/health /session; do
    [ "$(oc_curl -m 1 -o /dev/null -w '%{http_code}' "$OC_URL$p")" = 200 ] && return 0
  done
  return 1
}

# compat_x_stops SID N CMD... — run CMD (which types x in SID), then wait for the daemon's stop of
# SID number N+1, verified.
compat_x_stops() {
  local sid=$1 n=$2
  shift 2
  "$@" && wait_until 30 stops_at_least "$sid" $((n + 1))
}

# compat_stays_stopped SID N SECS — SID is idle, and no model request beyond the Nth comes for SECS.
compat_stays_stopped() { wait_until 10 oc_is_idle "$1" && stays_false "$3" fake_requests_gt "$2"; }
