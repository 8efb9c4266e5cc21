#!/bin/bash
# x-tree.sh — a stop takes the whole session tree on a real `opencode serve`: a subagent's child that
# runs a tool, and subagents sent to the background (OPENCODE_EXPERIMENTAL_BACKGROUND_SUBAGENTS),
# which run on after their parent went idle. Each stop must leave every session of the tree idle and
# staying idle (no model request for 1 s), the tree's tool processes gone, and its result must list
# the children and which of them ran in the background.
#
# A subagent running a tool is started with a subtask part (OpenCode runs the task tool itself, the
# child's prompt is the part's): the fake model would answer TASK(TOOL(...)) in the parent with the
# bash call, not with the task.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 22
world_start --shim
export OPENCODE_EXPERIMENTAL_BACKGROUND_SUBAGENTS=true
ocstopd_start "$T" || tap_bail "ocstopd did not start"
oc_serve_start "$T" "$PROJ" || tap_bail "opencode serve did not start"
monitor_start

# subtask SID PROMPT — have SID's task tool start a general subagent whose prompt is PROMPT.
subtask() {
  local out
  # prompt_async answers 204 with no body, an error with one.
  out=$(oc_post "/session/$1/prompt_async" \
    "{\"parts\":[{\"type\":\"subtask\",\"agent\":\"general\",\"description\":\"sub\",\"prompt\":$(json_str "$2")}]}") &&
    [ -z "$out" ] || { echo "subtask: ${out:-no answer}" >&2; return 1; }
}
# background SID — send SID's running subagents to the background (OpenCode's ctrl+b).
background() { [ "$(oc_post "/experimental/session/$1/background")" = true ]; }
# child_of SID — SID's first child session, once it has one.
child_of() { wait_until 30 oc_has_children "$1" && oc_child_ids "$1" | head -n1 | grep .; }
# x_stops SID — type x in SID and expect one more verified stop of its tree from the daemon.
x_stops() {
  local n; n=$(stops_for "$1") || return 2
  oc_prompt "$1" x && wait_until 30 stops_at_least "$1" $((n + 1))
}
# last_stop SID — the last stop of SID's tree the monitor recorded.
last_stop() { jq -cR --arg s "$1" 'fromjson? | select(.type == "stop" and .stop.session == $s) | .stop' \
  "$T/monitor.jsonl" | tail -n1 | grep .; }
# stop_lists JSON CHILDREN [BACKGROUND] — a verified stop whose children (and background, when
# given) are these space-separated ids.
stop_lists() {
  [ -n "$1" ] || { echo "no stop recorded" >&2; return 1; }
  jq -e --arg c "$2" --arg b "${3-}" --argjson any "$([ $# -ge 3 ] && echo false || echo true)" \
    '.stopped == true and .children == ($c | split(" ") - [""])
    and ($any or .background == ($b | split(" ") - [""]))' <<<"$1" >/dev/null || { echo "stop: $1" >&2; return 1; }
}
all_idle() { local s; for s in "$@"; do oc_is_idle "$s" || return $?; done; }
# tree_moves N SID... — a model request after the Nth, or OpenCode or the daemon has one of SIDs running.
tree_moves() {
  local n=$1 s; shift
  fake_requests_gt "$n" && return 0
  for s in "$@"; do
    oc_is_busy "$s" && return 0
    ocstop_knows_busy "$s" && return 0
  done
  return 1
}

# x_tool_tree WHAT CMD [background] — a subagent's child runs the bash tool CMD (sent to the background,
# so that its parent goes idle, when asked); x in the parent must stop the whole tree, CMD's process
# with it.
x_tool_tree() {
  local what=$1 p c pid n s bg= where="none in the background"
  p=$(oc_session_new "$PROJ") || tap_bail "no session"
  subtask "$p" "TOOL($2)" || tap_bail "no subtask"
  c=$(child_of "$p") || tap_bail "no child session"
  wait_until 30 oc_proc_running "$2" || tap_bail "the child runs no $2"
  pid=$(oc_proc_pid "$2")
  wait_until 30 ocstop_knows_busy "$c" || tap_bail "the daemon never saw the child busy"
  if [ "${3:-}" = background ]; then
    background "$p" || tap_bail "the subagent was not sent to the background"
    bg=$c where="in the background"
    tap_ok "$what: the parent went idle, the child runs on" wait_until 30 bg_runs "$p" "$c"
  else
    tap_ok "$what: parent and child busy" not all_idle "$p" "$c"
  fi
  tap_ok "$what: x in the parent, a verified stop" x_stops "$p"
  n=$(fake_requests)
  s=$(last_stop "$p")
  tap_ok "$what: the stop lists the child, $where" stop_lists "$s" "$c" "$bg"
  tap_ok "$what: parent and child idle" all_idle "$p" "$c"
  tap_ok "$what: $2 is gone" wait_until 10 pid_gone "$pid"
  tap_ok "$what: nothing runs for 1 s" stays_false 1 tree_moves "$n" "$p" "$c"
}
bg_runs() { oc_is_idle "$1" && ocstop_knows_status "$1" idle && oc_is_busy "$2" && ocstop_knows_busy "$2"; }

# The shim registers once OpenCode made the directory's instance, with its first session.
oc_session_new "$PROJ" >/dev/null || tap_bail "no session"
tap_ok "the shim registered the server" wait_until 30 ocstop_connected "$OC_URL"

# 1. x while a (foreground) subagent's child runs a tool.
x_tool_tree "subagent with a tool" "sleep 300"
# 2. x in the parent while its background subagent runs a tool: the parent is idle by then.
x_tool_tree "background subagent with a tool" "sleep 301" background

# 3. ocstop abort of the parent while its background subagent streams the model's reply.
P3=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$P3" 'TASK(write a poem)' || tap_bail "prompt_async failed"
C3=$(child_of "$P3") || tap_bail "no child session"
wait_until 30 fake_has_open_stream || tap_bail "the child does not stream"
wait_until 30 ocstop_knows_busy "$C3" || tap_bail "the daemon never saw the child busy"
background "$P3" || tap_bail "the subagent was not sent to the background"
streams_alone() { bg_runs "$@" && fake_has_open_stream; }
tap_ok "background subagent: the parent went idle, the child streams on" wait_until 30 streams_alone "$P3" "$C3"
tap_run "background subagent: ocstop abort of the parent succeeds" 0 ocstop -j abort "$P3"
n=$(fake_requests)
S=$(jq -c --arg s "$P3" '.results[] | select(.session == $s)' <<<"$OUT" 2>/dev/null)
tap_ok "background subagent: the stop lists the child, in the background" stop_lists "$S" "$C3" "$C3"
tap_ok "background subagent: parent and child idle, no model stream open" \
  eval 'all_idle "$P3" "$C3" && fake_no_open_stream'
tap_ok "background subagent: nothing runs for 1 s" stays_false 1 tree_moves "$n" "$P3" "$C3"

# 4. ocstopd comes up while a background subagent runs and its parent is idle: OpenCode's statuses
#    name only the child, and only a lookup of it names the parent; x in the parent stops the tree.
P4=$(oc_session_new "$PROJ") || tap_bail "no session"
oc_prompt "$P4" 'TASK(write a song)' || tap_bail "prompt_async failed"
C4=$(child_of "$P4") || tap_bail "no child session"
wait_until 30 ocstop_knows_busy "$C4" || tap_bail "the daemon never saw the child busy"
background "$P4" || tap_bail "the subagent was not sent to the background"
wait_until 30 streams_alone "$P4" "$C4" || tap_bail "the background subagent does not stream alone"
ocstopd_stop || tap_bail "ocstopd did not stop"
ocstopd_start "$T" || tap_bail "ocstopd did not restart"
monitor_start
wait_until 30 ocstop_knows_busy "$C4" || tap_bail "the restarted daemon never saw the child busy"
tap_ok "after a restart: x in the idle parent, a verified stop" x_stops "$P4"
n=$(fake_requests)
S=$(last_stop "$P4")
tap_ok "after a restart: the stop lists the child" stop_lists "$S" "$C4"
tap_ok "after a restart: parent and child idle, no model stream open" \
  eval 'all_idle "$P4" "$C4" && fake_no_open_stream'
tap_ok "after a restart: nothing runs for 1 s" stays_false 1 tree_moves "$n" "$P4" "$C4"

tap_done
