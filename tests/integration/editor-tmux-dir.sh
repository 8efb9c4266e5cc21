#!/bin/bash
# editor-tmux-dir.sh — tmux's prefix X hands the CLI the pane's directory as one argument whatever
# its name holds: a newline (which #{q:} leaves as it is) and what follows it are never run as a
# command, quotes and $( ) neither. The CLI is a stand-in that records its arguments; no daemon.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/editors.sh"

PLAN=4
tap_plan $PLAN
if ! command -v tmux >/dev/null; then
  for i in $(seq $PLAN); do tap_skip "case $i" "no tmux on PATH (Debian: apt install tmux)"; done
  tap_done
fi
tmp_dir_new T || tap_bail "no temporary directory"
cat >"$T/cli" <<CLI
#!/bin/sh
printf '%s\0' "\$@" >"$T/args"
echo 'ocstop: nothing to stop'
CLI
chmod +x "$T/cli"
mkdir -m 700 "$T/tmux"
tmx() { tmux -S "$T/tmux/$1" "${@:2}"; }
oc_at_exit 'tmx outer kill-server 2>/dev/null; tmx inner kill-server 2>/dev/null'
printf 'source-file "%s"\nset-environment -g OCSTOP_CLI "%s"\n' "$EDITORS_DIR/tmux/ocstop.tmux" "$T/cli" >"$T/inner.conf"
tmx inner -f "$T/inner.conf" new-session -d -s in -x 150 -y 20 -c "$T" sh || tap_bail "no inner tmux"
tmx outer -f /dev/null new-session -d -s out -x 150 -y 22 "env -u TMUX tmux -S '$T/tmux/inner' attach -t in" ||
  tap_bail "no outer tmux"
has_client() { tmx inner list-clients | grep -q .; }
wait_until 10 has_client || tap_bail "the inner tmux has no client"
recorded() { [ -e "$T/args" ]; }
# args_for DIR — the CLI's arguments, one a line (NUL-separated on disk), after prefix X in DIR.
args_for() {
  rm -f "$T/args"
  tmx inner new-window -c "$1" sh
  tmx outer send-keys -t out C-b X
  wait_until 10 recorded || return 1
  tr '\0' '|' <"$T/args"
}

NL=$T/$'nl\ntouch\t'$T/ran
mkdir -p "$NL"
tap_eq "a newline in the pane's directory: the CLI gets it whole" "abort|--dir|$NL|" "$(args_for "$NL")"
tap_ok "and what follows the newline did not run" test ! -e "$T/ran"
Q=$T/"a b\$(touch ran2)\`touch ran3\`;'q\""
mkdir -p "$Q"
tap_eq "quotes, \$( ) and ; in it: the CLI gets it whole" "abort|--dir|$Q|" "$(args_for "$Q")"
tap_ok "and none of it ran" test ! -e "$Q/ran2" -a ! -e "$Q/ran3" -a ! -e "$T/ran2"
tap_done
