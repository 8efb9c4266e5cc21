#!/bin/bash
# editor-places.sh — the other places a stop comes from (client/editors/), against ocstopd and a
# real OpenCode: VS Code's files parse, their keys run their tasks, and a task run as VS Code runs
# it stops the session; tmux's prefix X stops the project of the pane's directory (and only that)
# and prefix M-x every session, the result or the error on the status line (a tmux client runs
# inside a pane of a second private tmux server, which sends the keys and reads the screen); the
# shell file sources silently under set -u in bash and zsh, and its `x` and its key stop the session,
# the key keeping the line being typed.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/../lib/editors.sh"
unset TMUX TMUX_PANE

tap_plan 32
VSC=$EDITORS_DIR/vscode
SHF=$EDITORS_DIR/shell/ocstop.sh

# 1. VS Code (not in Debian): the files, and their task run by hand.
tap_ok "tasks.json is JSON" jq -e . "$VSC/tasks.json"
tap_ok "keybindings.json is JSON" jq -e . "$VSC/keybindings.json"
LABELS=$(jq -r '.tasks[].label' "$VSC/tasks.json")
keys_run_tasks() {
  jq -e --argjson labels "$(jq '[.tasks[].label]' "$VSC/tasks.json")" \
    'length > 0 and all(.[]; .command == "workbench.action.tasks.runTask" and (.args as $a | $labels | index($a)))' \
    "$VSC/keybindings.json"
}
tap_ok "every key runs a task tasks.json names" keys_run_tasks
tap_ok "every task runs ocstop in the workspace folder" \
  jq -e '.tasks | length > 0 and all(.[]; .type == "process" and .command == "ocstop" and .options.cwd == "${workspaceFolder}")' "$VSC/tasks.json"
tap_diag "tasks: ${LABELS//$'\n'/, }"

# 2. Sourcing the shell file: silent, status 0, set -u safe, in bash and zsh.
tap_run "bash: sourcing under set -u is silent" 0 bash -c "set -u; . '$SHF'; type x >/dev/null"
tap_eq "bash: no output" "" "$OUT$ERR"
if command -v zsh >/dev/null; then
  tap_run "zsh: sourcing under set -u is silent" 0 zsh -fc "set -u; . '$SHF'; whence -w x >/dev/null"
  tap_eq "zsh: no output" "" "$OUT$ERR"
else
  tap_skip "zsh: sourcing" "no zsh on PATH (Debian: apt install zsh)"
  tap_skip "zsh: no output" "no zsh on PATH"
fi
tap_run "an alias x is left alone" 0 bash -c "shopt -s expand_aliases; alias x='echo mine'; . '$SHF'; alias x; type ocstop_x"

editors_world

# task_run LABEL DIR — run the task LABEL as VS Code would (its command and args, its cwd with
# DIR for the workspace folder).
task_run() {
  local argv
  mapfile -t argv < <(jq -r --arg l "$1" '.tasks[] | select(.label == $l) | .command, .args[]' "$VSC/tasks.json")
  [ ${#argv[@]} -gt 0 ] || { echo "no task $1" >&2; return 2; }
  in_dir "$2" "${argv[@]}"
}
stream "$S" hello || tap_bail "no stream"
tap_run "VS Code's key's task in the workspace folder: exit 0" 0 task_run "$(jq -r '.[0].args' "$VSC/keybindings.json")" "$PROJ"
tap_ok "the task stopped the session, verified" said_stopped "$OUT" "$S"
tap_ok "OpenCode reports the session idle after the task" oc_is_idle "$S"

# 3. tmux: a client of the private server "inner" runs in a pane of the private server "outer".
if ! command -v tmux >/dev/null; then
  for _ in $(seq 1 20); do tap_skip "tmux" "no tmux on PATH (Debian: apt install tmux)"; done
  tap_done
fi
mkdir -m 700 "$T/tmux"
tmx() { tmux -S "$T/tmux/$1" "${@:2}"; }
oc_at_exit 'tmx outer kill-server 2>/dev/null; tmx inner kill-server 2>/dev/null'
printf 'source-file "%s"\nset-option -g status-interval 0\n' "$EDITORS_DIR/tmux/ocstop.tmux" >"$T/inner.conf"
tmx inner -f "$T/inner.conf" new-session -d -s in -x 150 -y 20 -c "$PROJ/src" sh || tap_bail "no inner tmux"
tmx outer -f /dev/null new-session -d -s out -x 150 -y 22 "env -u TMUX tmux -S '$T/tmux/inner' attach -t in" ||
  tap_bail "no outer tmux"
has_client() { tmx inner list-clients | grep -q .; }
wait_until 10 has_client || tap_bail "the inner tmux has no client"
# screen_has ERE — the outer pane (the inner client's screen) has a line matching ERE.
screen_has() { local s; s=$(tmx outer capture-pane -p -t out) || return 2; printf '%s\n' "$s" >&2; grep -Eq -e "$1" <<<"$s"; }
# keys KEY... — typed on the inner client.
keys() { tmx outer send-keys -t out "$@"; }
# The status line's message, somewhere on its line; the shell's, the CLI's own line.
STOPPED_LINE=$(stopped_msg "$S"); STOPPED_LINE=${STOPPED_LINE#^}
CLI_LINE=^${STOPPED_LINE#ocstop: }

stream "$S" "hello again" || tap_bail "no stream"
keys C-b X
tap_ok "tmux prefix X in the project's subfolder: the status line says stopped, verified" wait_until 30 screen_has "$STOPPED_LINE"
tap_ok "OpenCode reports the session idle after prefix X" oc_is_idle "$S"

stream "$S" "and again" || tap_bail "no stream"
tmx inner new-window -c "$T/elsewhere" sh
keys C-b X
tap_ok "prefix X elsewhere: nothing to stop" wait_until 30 screen_has 'ocstop: nothing to stop'
tap_ok "the session still runs" oc_is_busy "$S"
keys C-b M-x
tap_ok "prefix M-x elsewhere: the status line says stopped, verified" wait_until 30 screen_has "$STOPPED_LINE"
tap_ok "OpenCode reports the session idle after prefix M-x" oc_is_idle "$S"

# A # or % in the text is shown as it is (display-message would expand them).
tmx inner set-environment -g OCSTOP_SOCKET "$T/no#{pane_id}%Y/ocstop.sock"
keys C-b X
tap_ok "no daemon: the status line shows the CLI's error, # and % as they are" \
  wait_until 30 screen_has "ocstop: cannot connect to $T/no#\{pane_id\}%Y/ocstop.sock"
tmx inner set-environment -g OCSTOP_SOCKET "$OCSTOP_SOCKET"
tmx inner set-environment -g OCSTOP_CLI "$T/no-such-ocstop"
keys C-b X
tap_ok "no CLI: the status line says it failed" wait_until 30 screen_has 'ocstop: .*no-such-ocstop.*not found'
tmx inner set-environment -gu OCSTOP_CLI

# 4. The shell file in an interactive bash and zsh: x, and the key with a line being typed.
# shell_case NAME KEY CMD... — in a new window in the project's subfolder, source the file with
# OCSTOP_KEY=KEY in the shell CMD; x stops the streaming session; the key (Alt-x) too, and the line
# typed before it is still there.
shell_case() {
  local name=$1 key=$2; shift 2
  tmx inner new-window -c "$PROJ/src" -e "OCSTOP_KEY=$key" -e "PS1=$name> " -e "PROMPT=$name> " "$@"
  keys ". '$SHF'; echo sourced=\$?" Enter
  tap_ok "$name: sourced" wait_until 10 screen_has '^sourced=0$'
  stream "$S" "$name x" || tap_bail "no stream"
  keys x Enter
  tap_ok "$name: x stops the session, verified" wait_until 30 screen_has "$CLI_LINE"
  tap_ok "$name: OpenCode reports the session idle after x" oc_is_idle "$S"
  keys clear Enter
  stream "$S" "$name key" || tap_bail "no stream"
  keys "echo kept-$name"
  keys M-x
  tap_ok "$name: the key stops the session, verified" wait_until 30 screen_has "$CLI_LINE"
  tap_ok "$name: OpenCode reports the session idle after the key" oc_is_idle "$S"
  keys Enter
  tap_ok "$name: the line typed before the key was kept" wait_until 10 screen_has "^kept-$name\$"
}
shell_case bash '\ex' bash --norc --noprofile -i
if command -v zsh >/dev/null; then
  shell_case zsh '^[x' zsh -f -i
else
  for _ in $(seq 1 6); do tap_skip "zsh" "no zsh on PATH (Debian: apt install zsh)"; done
fi
tap_done
