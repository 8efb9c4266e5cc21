#!/bin/bash
# compat/tui.sh — x in the TUI (under tmux) of the version tests/compat.sh names: it stops the
# stream and stays stopped, the screen shows nothing of the error, and through the shim's relay
# `ocstop status` lists the TUI's session and `ocstop abort ID` stops it. Each case's description
# starts with its column of the table.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/../lib/tui.sh"
. "$(dirname "$0")/lib.sh"

tap_plan 11
FAKE_TICK_MS=300
world_start --shim
mkdir -p "$XDG_STATE_HOME/opencode"
echo '{"animations_enabled":false}' >"$XDG_STATE_HOME/opencode/kv.json"
ocstopd_start "$T" || tap_bail "ocstopd did not start"
monitor_start

TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
env | grep -E '^(HOME|XDG_|OPENCODE_|OCSTOP_)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$T/env.sh"
tm new-session -d -s tui -x 120 -y 30 "bash -c '. $T/env.sh; cd $PROJ; exec $(oc_bin)'"
# The TUI itself, not the tmux server, is the process to end with the test.
TUI_PID=$(tm list-panes -t tui -F '#{pane_pid}')
oc_track "$TUI_PID"
oc_at_exit 'tm kill-server 2>/dev/null'
# The shim registered the TUI's process (its plugin is loaded once the TUI can take a prompt).
tui_registered() { ocstop_status_json | jq -e '.servers | any(.url | startswith("pid:"))' >/dev/null; }
# type_in TEXT — TEXT, then Enter, as a person types them: 1.2's TUI takes an Enter that comes
# with the text for part of a paste.
type_in() { tm send-keys -t tui "$1" && sleep 0.3 && tm send-keys -t tui Enter; }
# tui_stream TEXT [SECS] — type TEXT; wait (30 s) until its reply streams. On failure, the pane.
tui_stream() {
  local n; n=$(fake_requests) || return 1
  type_in "$1" && wait_until "${2:-30}" fake_streaming_since "$n" && return 0
  pane >&2
  return 1
}
# pane_clean — the screen shows none of the error the x raised: no forged response's fields, no
# server error, no stack; the conversation is still there.
pane_clean() {
  local p; p=$(pane) || return 2
  printf '%s\n' "$p" >&2
  ! grep -qE 'HttpServerResponse|status: 200|contentLength|Unexpected server error|error: ocstop| at [A-Za-z.]+ \(|^ *[0-9]+ \| ' <<<"$p" &&
    grep -q 'write me something long' <<<"$p" && ! grep -qE '^ *┃ +x *$' <<<"$p"
}

wait_until 90 tui_registered || tap_bail "the TUI's shim never registered"
# Keys typed before the prompt is drawn are lost (older versions may word it otherwise: then the
# first prompt has only its own wait).
wait_until 60 pane_has "Ask anything" 2>/dev/null
sleep 1
# A loaded machine takes its time for the first prompt of a TUI.
tap_ok "[tui-x] a reply streams in the pane" tui_stream 'write me something long' 90
S=$(wait_until 30 ocstop_relay_session >/dev/null && ocstop_relay_session)
tap_match "[tui-status] the daemon knows the TUI's session through the relay" '^ses_' "$S"
tap_ok "[tui-status] ocstop status lists it busy" wait_until 30 ocstop_table_lists "${S:-none}" busy
wait_until 30 pane_has "tick 3" || tap_bail "no tick in the pane"

type_in x
tap_ok "[tui-x] x: the model stream is closed" wait_until 30 fake_no_open_stream
n=$(fake_requests)
sleep 1
before=$(ticks)
tap_ok "[tui-x] x: the pane stops streaming (${before:-no tick seen}) and stays stopped" stays_false 2 ticks_moved "$before"
tap_eq "[tui-x] x: no model request afterwards" "$n" "$(fake_requests)"
tap_ok "[tui-status] x: the daemon verified the stop" wait_until 30 stops_at_least "${S:-none}" 1
tap_ok "[tui-screen] after x the screen is clean" pane_clean
pane >"$T/after-x.txt"

tui_stream 'and again' || tap_bail "no stream for 'and again'"
wait_until 30 ocstop_knows_busy "$S"
tap_run "[tui-cli] ocstop abort ID of the TUI session exits 0" 0 ocstop -j abort "$S"
tap_ok "[tui-cli] and stops it, verified" abort_stopped "$OUT" "$S"
tap_ok "[tui-cli] the model stream is closed" wait_until 30 fake_no_open_stream

tap_diag "$(grep -v '^\s*$' "$T/after-x.txt")"
tap_done
