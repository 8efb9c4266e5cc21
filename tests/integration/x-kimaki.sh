#!/bin/bash
# x-kimaki.sh — what a Discord user reads after typing x, through Kimaki (the Discord bridge): the
# real OpenCode with the shim and Kimaki's own interrupt plugin (tests/fixtures/kimaki, loaded as
# Kimaki loads it: a file URL in the config's plugin list), messages sent as Kimaki sends them
# (prompt_async, the typed text and a synthetic context part), and the events rendered as Kimaki's
# handlers post them (tests/lib/kimaki.mjs). On a busy session and on an idle one: at most one line,
# that reads as a stop, no stack frame, nothing more past the time Kimaki's interrupt plugin would
# replay the x (it replays a message that got no reply unless the session says idle first), no model
# request, and no x in the history. README.md shows these lines; they must be what the test sees.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

# Kimaki's interrupt plugin aborts a message that has no reply after this long (its own setting,
# 3 s by default) and replays it; a blocked message never gets a reply. A loaded machine can take
# longer than 3 s to start an ordinary turn, which the plugin would abort: it is given more.
export KIMAKI_INTERRUPT_STEP_TIMEOUT_MS=15000
# After the first line, how long nothing more may come: past the replay, with its abort and poll.
QUIET_S=18
# Kimaki's synthetic context part (getOpencodePromptContext in its cli/src/system-message.ts).
CONTEXT='<discord-user name="tester" user-id="1" message-id="2" thread-id="3" />
'
FIXTURE=$OCSTOP_SRCDIR/tests/fixtures/kimaki

tap_plan 16
world_start --shim

# The fixture is Kimaki's files unmodified: each matches its git blob id at the pinned commit.
bad=
while read -r blob file; do
  [ "$(git hash-object "$FIXTURE/$file")" = "$blob" ] || bad+=" $file"
done < <(grep -E '^[0-9a-f]{40} ' "$FIXTURE/README.md")
tap_eq "Kimaki's files are the pinned commit's, unmodified" "" "$bad"

# Kimaki's plugin beside its one dependency, installed by tests/setup.sh.
mkdir -p "$T/kimaki"
cp "$FIXTURE"/*.ts "$T/kimaki/"
sdk=${OCSTOP_CACHE:-$_OC_REAL_HOME/.cache/ocstop}/opencode-sdk-$OC_VERSION/node_modules
[ -d "$sdk/@opencode-ai/sdk" ] || tap_bail "no @opencode-ai/sdk in $sdk: run tests/setup.sh"
ln -s "$sdk" "$T/kimaki/node_modules"
# In the project's config, so that an instance of another directory runs without it (the warm-up).
jq -n --arg p "file://$T/kimaki/opencode-interrupt-plugin.ts" '{plugin: [$p]}' >"$PROJ/opencode.json" ||
  tap_bail "no config"

ocstopd_start "$T" || tap_bail "ocstopd did not start"
monitor_start
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"
S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the shim did not register the server"

# kimaki_send SID TEXT — a Discord message, as Kimaki sends it.
kimaki_send() {
  local body code
  body=$(jq -cn --arg t "$2" --arg c "$CONTEXT" '{parts: [{type: "text", text: $t}, {type: "text", text: $c, synthetic: true}]}')
  code=$(oc_curl -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' -d "$body" \
    "$OC_URL/session/$1/prompt_async")
  [ "$code" = 204 ] || { echo "prompt_async: HTTP $code" >&2; return 1; }
}
# kimaki_lines FROM — the messages Kimaki posts in S's thread for the events after line FROM of the
# capture, one JSON string each.
kimaki_lines() { node "$OC_LIB_DIR/kimaki.mjs" "$T/events.sse" "$S" "$1"; }
# kimaki_more_than FROM N — more than N messages.
kimaki_more_than() {
  local n; n=$(kimaki_lines "$1" | wc -l) || return 2
  echo "Kimaki messages: $n" >&2
  [ "$n" -gt "$2" ]
}
# history_has_x — a user message of S whose typed text is x.
history_has_x() {
  oc_get "/session/$S/message" |
    jq -e 'any(.[]; .info.role == "user" and any(.parts[]; .type == "text" and (.synthetic | not) and (.text | test("^\\s*x\\s*$"))))'
}

# kimaki_queued — how many messages of S Kimaki's plugin has seen and queued for its replay (it says
# so in OpenCode's log).
kimaki_queued() {
  cat "$HOME"/.local/share/opencode/log/*.log 2>/dev/null | grep -c "queued for interrupt\" sessionID=$S "
}
kimaki_queued_more_than() { local n; n=$(kimaki_queued); echo "queued by Kimaki: $n" >&2; [ "$n" -gt "$1" ]; }

# x_as_kimaki CASE — x sent as Kimaki sends it, and what Kimaki posts: 6 cases. TRANSCRIPT gets the
# line.
x_as_kimaki() {
  local from n lines queued
  from=$(wc -l <"$T/events.sse")
  n=$(fake_requests) || tap_bail "no model"
  queued=$(kimaki_queued)
  kimaki_send "$S" x || tap_bail "prompt_async failed"
  tap_ok "$1: Kimaki's plugin saw the x and set its replay" wait_until 30 kimaki_queued_more_than "$queued"
  wait_until 30 kimaki_more_than "$from" 0
  stays_false "$QUIET_S" kimaki_more_than "$from" 1
  lines=$(kimaki_lines "$from")
  tap_diag "$1: Kimaki posts: $lines"
  tap_eq "$1: Kimaki posts one message" 1 "$(grep -c . <<<"$lines")"
  TRANSCRIPT=$(jq -r . <<<"$lines" | head -n1)
  tap_ok "$1: ... of one line, no stack frame" test "$(jq -r . <<<"$lines" | wc -l)" = 1
  tap_eq "$1: no model request after the x" "$n" "$(fake_requests)"
  tap_ok "$1: no x in the history" not history_has_x
  tap_ok "$1: the session is idle" oc_is_idle "$S"
}

# OpenCode's first turn is the slowest, and aborting it before it reaches the model can leave the
# instance failing every later turn ("All fibers interrupted without error"): a first turn in
# another directory, without Kimaki's plugin, warms OpenCode up.
mkdir -p "$T/warm"
W=$(oc_session_new "$T/warm") || tap_bail "no session"
stream "$W" warm-up || tap_bail "no stream"
oc_curl -o /dev/null -X POST "$OC_URL/session/$W/abort?directory=$(_urlenc "$T/warm")"
wait_until 30 oc_is_idle "$W" "$T/warm" || tap_bail "the warm-up did not stop"

stream "$S" hello || tap_bail "no stream"
x_as_kimaki busy
BUSY=$TRANSCRIPT
tap_match "busy: the line reads as a verified stop" '^⬦ success: ocstop: stopped in [0-9]+ ms \(verified\)$' "$BUSY"

turn_over "$S" || tap_bail "the stopped turn did not end"
x_as_kimaki idle
IDLE=$TRANSCRIPT
tap_match "idle: the line says nothing ran" '^⬦ info: ocstop: nothing was running$' "$IDLE"

# README.md's transcript is these lines, but for the latency (which a slow stop goes without).
no_ms() { sed -E 's/ in [0-9]+ ms//'; }
readme=$(sed -n '/^<!-- x-kimaki transcript -->$/,/^```$/p' "$OCSTOP_SRCDIR/README.md" | grep -v '^<!--\|^```' | no_ms)
tap_eq "README.md shows what Kimaki posts" "$(printf 'busy: %s\nidle: %s' "$BUSY" "$IDLE" | no_ms)" "$readme"

tap_done
