#!/bin/bash
# x-tui.sh — the OpenCode TUI under tmux (no HTTP port at all): typing x stops the stream and it stays
# stopped; through the shim's relay, `ocstop status` sees the TUI's session and `ocstop abort ID` and
# bare `ocstop` in the project stop it.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/../lib/tui.sh"

tap_plan 24
# The TUI redraws the whole growing reply for every streamed part, and its busy spinner 25 times a
# second: at ten parts a second, with the spinner, it keeps a core busy by itself, and on a small busy
# machine the keys typed and the stops wait behind it. A slower stream, and the spinner off (the
# user's setting "animations_enabled", kept in its state), leave it half of that.
FAKE_TICK_MS=300
world_start --shim
mkdir -p "$XDG_STATE_HOME/opencode"
echo '{"animations_enabled":false}' >"$XDG_STATE_HOME/opencode/kv.json"
mkdir -p "$PROJ/sub"
ocstopd_start "$T" || tap_bail "ocstopd did not start"
monitor_start

TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
# The TUI is tmux's child, not the test's, and outlives `tmux kill-server` by seconds to minutes: it
# and all it starts carry a tag, and end with the test however it ends.
TAG=x-tui-$$
tui_stop() { tm kill-server 2>/dev/null; oc_end_tagged "$TAG"; }
oc_at_exit tui_stop
env | grep -E '^(HOME|XDG_|OPENCODE_|OCSTOP_)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$T/env.sh"
echo "export OCSTOP_TEST_TAG=$TAG" >>"$T/env.sh"
tm new-session -d -s tui -x 120 -y 30 "bash -c '. $T/env.sh; cd $PROJ; exec $(oc_bin)'"
TMUX_PID=$(tm display -p '#{pid}')
# tui_stream TEXT — type TEXT; wait until its reply streams and the daemon knows the session busy.
tui_stream() {
  local n; n=$(fake_requests) || return 1
  tm send-keys -t tui "$1" Enter && wait_until 30 fake_streaming_since "$n" && wait_until 30 ocstop_knows_busy "$S"
}

tap_ok "TUI starts" wait_until 60 pane_has "Ask anything"
tm send-keys -t tui 'write me something long' Enter
tap_ok "the reply streams in the pane" wait_until 30 pane_has "tick 3"
S=$(ocstop_relay_session)
tap_match "the daemon knows the TUI's session through the relay" '^ses_' "$S"
[ -n "$S" ] || tap_bail "no session to go on with"
tap_ok "ocstop status lists the TUI's session ($S) busy" wait_until 30 ocstop_table_lists "$S" busy

# x typed in the TUI.
tm send-keys -t tui x Enter
tap_ok "x: a verified stop" wait_until 30 stops_at_least "$S" 1
tap_ok "x: the TUI's toast says the stop is verified, with its latency" \
  wait_until 15 pane_has 'ocstop: stopped in [0-9]* ms (verified)'
# What the person sees then (kept with OCSTOP_KEEP_TMP=1; the README shows one).
pane >"$T/pane-after-x.txt"
tap_ok "x: the model stream is closed" wait_until 30 fake_no_open_stream
n=$(fake_requests)
# The pane has drawn the stop (and every tick before it) when it says "interrupted".
tap_ok "x: the pane shows the reply interrupted" wait_until 30 pane_has "interrupted"
before=$(ticks)
tap_ok "x: the pane stops streaming (${before:-no tick seen}) and stays stopped" stays_false 2 ticks_moved "$before"
tap_eq "x: no model request afterwards" "$n" "$(fake_requests)"
tap_ok "x: the pane shows no server error" not pane_has "Unexpected server error"
pane >"$T/after-x.txt"
tap_ok "x: the pane still shows the conversation" grep -q "write me something long" "$T/after-x.txt"
tap_ok "x: no x user message in the pane" not grep -qE '^ *┃ +x *$' "$T/after-x.txt"

# ocstop abort ID, from another terminal, through the relay.
tui_stream 'and again' || tap_bail "no stream for 'and again'"
tap_run "ocstop abort ID of the TUI session exits 0" 0 ocstop -j abort "$S"
tap_ok "ocstop abort ID stops the TUI session" abort_stopped "$OUT" "$S"
tap_ok "the model stream is closed" wait_until 30 fake_no_open_stream

# The daemon restarts while the TUI streams: the shim registers again and the relay's listing
# tells the new daemon what runs.
tui_stream 'after a restart' || tap_bail "no stream for 'after a restart'"
ocstopd_stop || tap_bail "ocstopd did not stop"
ocstopd_start "$T" || tap_bail "ocstopd did not restart"
tap_ok "after a daemon restart the relay reports the running session" wait_until 30 ocstop_knows_busy "$S"
tap_run "ocstop abort ID after the restart exits 0" 0 ocstop -j abort "$S"
tap_ok "and ocstop abort ID stops it" abort_stopped "$OUT" "$S"
monitor_start

# Bare ocstop in a subfolder of the project.
tui_stream 'once more' || tap_bail "no stream for 'once more'"
tap_run "bare ocstop in the project exits 0" 0 in_dir "$PROJ/sub" ocstop
tap_ok "bare ocstop in the project stops the TUI session" said_stopped "$OUT" "$S"
tap_diag "$OUT"
n=$(fake_requests)
tap_ok "stays stopped" stays_false 1 fake_requests_gt "$n"

# Every process the test started in tmux ends with it.
tui_stop
tap_ok "after the test, no process it started in tmux is left" oc_tagged_none "$TAG"
tap_ok "and the tmux server is gone" wait_until 5 pid_gone "$TMUX_PID"

tap_diag "$(grep -v '^\s*$' "$T/after-x.txt")"
tap_done
