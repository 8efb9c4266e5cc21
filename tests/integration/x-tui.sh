#!/bin/bash
# x-tui.sh — the OpenCode TUI under tmux (no HTTP port at all): typing x stops the stream and it stays
# stopped; through the shim's relay, `ocstop status` sees the TUI's session and `ocstop abort ID` and
# bare `ocstop` in the project stop it.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

world_start --shim
mkdir -p "$PROJ/sub"
ocstopd_start "$T" || tap_bail "ocstopd did not start"
monitor_start

TMUX_SOCK=$T/tmux.sock
tm() { tmux -S "$TMUX_SOCK" "$@"; }
oc_at_exit 'tm kill-server 2>/dev/null'
env | grep -E '^(HOME|XDG_|OPENCODE_|OCSTOP_)' | sed "s/'/'\\\\''/g; s/=\(.*\)/='\1'/; s/^/export /" >"$T/env.sh"
tm new-session -d -s tui -x 120 -y 30 "bash -c '. $T/env.sh; cd $PROJ; exec $(oc_bin)'"
pane() { tm capture-pane -p -t tui; }
pane_has() { pane | grep -q -- "$1"; }
ticks() { pane | grep -o 'tick [0-9]*' | tail -n1; }
tui_session() { ocstop -j status | grep -o '"id":"ses_[^"]*","server":"pid:[0-9]*"' | head -n1 | sed 's/"id":"\([^"]*\)".*/\1/'; }

tap_ok "TUI starts" wait_until 60 pane_has "Ask anything"
tm send-keys -t tui 'write me something long' Enter
tap_ok "the reply streams in the pane" wait_until 30 pane_has "tick 3"
S=$(tui_session)
tap_ok "ocstop status lists the TUI's session through the relay ($S)" \
  eval 'ocstop status | grep -q "$S *busy"'

# x typed in the TUI.
tm send-keys -t tui x Enter
tap_ok "x: a verified stop" wait_until 5 eval '[ "$(stops_for "$S")" -ge 1 ]'
tap_ok "x: the model stream is closed" wait_until 2 fake_no_open_stream
sleep 0.3; before=$(ticks); n=$(fake_requests)
tap_ok "x: the pane stops streaming ($before) and stays stopped" stays_false 2 eval '[ "$(ticks)" != "$before" ]'
tap_ok "x: no model request afterwards" test "$(fake_requests)" = "$n"
tap_ok "x: the pane shows the reply interrupted" pane_has "interrupted"
tap_ok "x: the pane shows no server error" not pane_has "Unexpected server error"
pane >"$T/after-x.txt"
tap_ok "x: no x user message in the pane" not grep -qE '^ *┃ +x *$' "$T/after-x.txt"

# ocstop abort ID, from another terminal, through the relay.
tm send-keys -t tui 'and again' Enter
wait_until 30 fake_has_open_stream; wait_until 10 ocstop_knows_busy "$S"
out=$(ocstop -j abort "$S")
tap_ok "ocstop abort ID stops the TUI session" grep -q "\"session\":\"$S\",\"stopped\":true" <<<"$out"
tap_ok "the model stream is closed" wait_until 2 fake_no_open_stream

# The daemon restarts while the TUI streams: the shim registers again and the relay's listing
# tells the new daemon what runs.
tm send-keys -t tui 'after a restart' Enter
wait_until 30 fake_has_open_stream; wait_until 10 ocstop_knows_busy "$S"
ocstopd_stop
ocstopd_start "$T" || tap_bail "ocstopd did not restart"
tap_ok "after a daemon restart the relay reports the running session" wait_until 10 ocstop_knows_busy "$S"
out=$(ocstop -j abort "$S")
tap_ok "and ocstop abort ID stops it" grep -q "\"session\":\"$S\",\"stopped\":true" <<<"$out"
monitor_start

# Bare ocstop in a subfolder of the project.
tm send-keys -t tui 'once more' Enter
wait_until 30 fake_has_open_stream; wait_until 10 ocstop_knows_busy "$S"
out=$(cd "$PROJ/sub" && ocstop)
tap_ok "bare ocstop in the project stops the TUI session" eval '[[ $out == "stopped $S"*"(verified)"* ]]'
tap_diag "$out"
n=$(fake_requests)
tap_ok "stays stopped" stays_false 1 fake_requests_gt "$n"

tap_diag "$(grep -v '^\s*$' "$T/after-x.txt")"
tap_done
