# tests/lib/tui.sh — reading an OpenCode TUI run in tmux session "tui" (source after oc.sh; the test
# defines tm, its tmux command).

pane() { tm capture-pane -p -t tui; }
pane_has() { local p; p=$(pane) || return 2; grep -q -- "$1" <<<"$p" && return 0; printf '%s\n' "$p" >&2; return 1; }
# ticks — the last "tick N" of the streamed reply the pane shows (empty when none).
ticks() { pane | grep -o 'tick [0-9]*' | tail -n1; }
# ticks_moved BEFORE — the pane shows another last tick than BEFORE (2 when BEFORE is empty: with no
# tick seen, "it stays stopped" would prove nothing).
ticks_moved() {
  [ -n "$1" ] || { echo "no tick was seen in the pane" >&2; return 2; }
  local now; now=$(ticks)
  echo "last tick in the pane: '$now' (was '$1')" >&2
  [ "$now" != "$1" ]
}
