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

# compat_history_clean SID — no user message with text x (any case/space), none without parts.
compat_history_clean() {
  oc_get "/session/$1/message" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const msgs = JSON.parse(s);
      const bad = msgs.filter((m) => m.info.role === "user" &&
        (m.parts.length === 0 || m.parts.some((p) => p.type === "text" && p.text.trim().toLowerCase() === "x")));
      console.error(`${msgs.length} messages; offending user messages: ${JSON.stringify(bad)}`);
      process.exit(bad.length || !msgs.length ? 1 : 0); });'
}
