#!/bin/bash
# x-fences.sh — nothing new starts in a session's tree after an x, on the real `opencode serve` with
# the plugin shim and ocstopd: a tool call that completes while the x is being decided is refused
# before it runs, a prompt in a child session makes no model request, messages queued while the
# agent was busy stay in the history unanswered, the daemon hears of each (fence.hit), and the
# user's next real message lifts the fence.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 18
world_start
# The shim, listed in opencode.json after release-on-x.js, which completes the model's held tool
# calls 20 ms after an x reaches OpenCode: OpenCode runs the chat.message hooks in that order.
cp "$OC_LIB_DIR/release-on-x.js" "$OCSTOP_SHIM_SRC" "$T/"
jq --arg a "file://$T/release-on-x.js" --arg b "file://$T/ocstop.js" '.plugin = [$a, $b]' \
  "$OC_CONFIG_DIR/opencode.json" >"$T/opencode.json" && mv "$T/opencode.json" "$OC_CONFIG_DIR/opencode.json" ||
  tap_bail "no opencode.json"
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
sse_capture_start "$T/events.sse" || tap_bail "no event capture"
M=$T/marks
mkdir -p "$M"
: >"$M/started"

# Every tool command of this test first writes its wall time (ms) to $M/started.
mark() { echo "echo \$(date +%s%3N) >>$M/started; $1"; }
# started_after MS — a tool started at or after MS (0 yes, 1 no).
started_after() {
  local n; n=$(awk -v t="$1" '$1 >= t' "$M/started" | wc -l)
  echo "tool executions started since $1: $n" >&2
  [ "$n" -gt 0 ]
}
# requests_after MS — the model got a request at or after MS (its log's wall times).
requests_after() {
  local n; n=$(jq -R --argjson t "$1" 'fromjson? | select(.kind != null and .t >= $t) | .n' "$FAKE_LOG" | wc -l) || return 2
  echo "model requests since $1: $n" >&2
  [ "$n" -gt 0 ]
}
held_calls() { fake_stats | jq -e '.held' 2>/dev/null; }
holds_at_least() { local n; n=$(held_calls) || return 2; echo "held tool calls: $n" >&2; [ "$n" -ge "$1" ]; }
# messages SID — SID's history as one line per message: role id parentID error-name error-message text.
messages() {
  oc_get "/session/$1/message" | jq -r '.[] | [.info.role, .info.id, (.info.parentID // "-"), (.info.error.name // "-"),
    (.info.error.data.message // "-"), ([.parts[] | select(.type == "text") | .text] | join(""))] | @tsv'
}
# tool_error SID — the errors of SID's tool parts, one per line.
tool_errors() { oc_get "/session/$1/message" | jq -r '.[].parts[] | select(.type == "tool") | .state.error // empty'; }
# fence_hits WHAT — what the daemon heard the fences refused (fence.hit), as its log says: WHAT is
# "a tool call", "a model request" or "a queued message".
fence_hits() { grep -c "fence refused $1" "$OCSTOPD_LOG"; }
fence_hits_at_least() { local n; n=$(fence_hits "$1"); echo "fence refused $1, in the daemon's log: $n (want $2)" >&2; [ "$n" -ge "$2" ]; }

S=$(oc_session_new "$PROJ") || tap_bail "no session"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the shim did not register the server"

# 1. Two tool calls stream in one response; the first completes and runs. The x comes while the
# daemon cannot answer (stopped), so the shim decides after its 50 ms deadline: the second call
# completes 20 ms after the x reaches OpenCode, before OpenCode's abort can end the turn.
oc_prompt "$S" "SLOWTOOLS($(mark 'sleep 300')|$(mark 'sleep 301'))" || tap_bail "prompt_async failed"
wait_until 30 holds_at_least 2 || tap_bail "the model never held two tool calls"
curl -s -m 5 -X POST "$FAKE_URL/__release?count=1" >/dev/null
tap_ok "the first tool call completes and its tool runs" wait_until 30 oc_proc_running 'sleep 300'
hits=$(fence_hits 'a tool call')
kill -STOP "$OCSTOPD_PID"
x_at=$(now_ms)
oc_prompt "$S" x
sleep 1
kill -CONT "$OCSTOPD_PID"
tap_ok "x: no tool execution starts after it" stays_false 2 started_after "$x_at"
tap_ok "x: the second call's tool part says it was stopped, not run" \
  wait_until 10 eval "tool_errors $S | grep -qx 'ocstop: stopped (x) — this tool was not run'"
tap_ok "x: no model request after it" not requests_after "$x_at"
tap_ok "x: the tool that ran is ended" wait_until 10 not oc_proc_running 'sleep 300'
tap_ok "x: the daemon hears of the refused tool" wait_until 10 fence_hits_at_least 'a tool call' $((hits + 1))

# 2. A prompt in a child session of the fenced tree (what a task tool sends its subagent) does not
# lift the fence: no model request, no tool, and the child's turn ends as an abort.
C=$(oc_curl -X POST -H 'content-type: application/json' -d "{\"parentID\":\"$S\",\"title\":\"child\"}" "$OC_URL/session" |
  jq -r '.id // empty')
[ -n "$C" ] || tap_bail "no child session"
hits=$(fence_hits 'a model request')
c_at=$(now_ms)
oc_prompt "$C" "TOOL($(mark 'true'))" || tap_bail "prompt_async failed"
tap_ok "child: its turn ends as an abort with the fence's message" \
  wait_until 10 eval "messages $C | grep -q \$'^assistant\t.*\tMessageAbortedError\tocstop: stopped (x) — no new model request\t'"
tap_ok "child: no model request" not requests_after "$c_at"
tap_ok "child: no tool runs" not started_after "$c_at"
tap_ok "child: the daemon hears of the refused request" wait_until 10 fence_hits_at_least 'a model request' $((hits + 1))

# 3. Two messages queued while the agent streams, then x: they stay in the history, unanswered.
S2=$(oc_session_new "$PROJ") || tap_bail "no session"
stream "$S2" hello || tap_bail "no stream"
oc_prompt "$S2" "queued one" && oc_prompt "$S2" "queued two" || tap_bail "prompt_async failed"
queued_saved() { [ "$(messages "$S2" | grep -c $'^user\t.*\tqueued ')" = 2 ]; }
tap_ok "queued: both messages are saved while the agent is busy" wait_until 10 queued_saved
hits=$(fence_hits 'a queued message')
q_at=$(now_ms)
oc_prompt "$S2" x || tap_bail "prompt_async failed"
tap_ok "queued: no model request after the x" stays_false 3 requests_after "$q_at"
ids=$(messages "$S2" | awk -F'\t' '$1 == "user" && $6 ~ /^queued / { print $2 }')
answered=$(messages "$S2" | awk -F'\t' -v ids="$ids" 'BEGIN { split(ids, a, "\n"); for (i in a) q[a[i]] = 1 }
  $1 == "assistant" && ($3 in q) { print $2 }')
tap_ok "queued: both still in the history, neither answered" test "$(wc -w <<<"$ids")" = 2 -a -z "$answered"
tap_ok "queued: the daemon hears of both held messages" wait_until 10 fence_hits_at_least 'a queued message' $((hits + 2))
tap_ok "queued: the daemon proves the stop at idle, the fence held" \
  wait_until 10 grep -q "stopped $S2 on .*, fenced) in [0-9]* ms, verified" "$OCSTOPD_LOG"
tap_ok "queued: the stop's toast says both were held" \
  wait_until 10 sse_toasts_gt "$T/events.sse" 'ocstop: stopped in [0-9]+ ms \(verified\) — held 2 queued messages' 0

# 4. The user's next real message lifts the fence: it is answered, and its tool runs.
a_at=$(now_ms)
turn_over "$S2" && oc_prompt "$S2" "after" || tap_bail "prompt_async failed"
asked_after() { jq -e -R --argjson t "$a_at" 'fromjson? | select(.t >= $t and .last_user == "after")' "$FAKE_LOG" >/dev/null; }
tap_ok "lifted: the next message reaches the model" wait_until 30 asked_after
ocstop -q abort "$S2" >/dev/null
l_at=$(now_ms)
turn_over "$S" && oc_prompt "$S" "TOOL($(mark 'true'))" || tap_bail "prompt_async failed"
tap_ok "lifted: the next message's tool runs" wait_until 30 started_after "$l_at"

tap_done
