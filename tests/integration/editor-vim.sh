#!/bin/bash
# editor-vim.sh — Vim's client (client/editors/vim) in batch mode against ocstopd and a real
# OpenCode: :OcStop stops the project's streaming session from a subfolder and says it was
# verified, without waiting for it; :OcStop elsewhere stops nothing; :OcStop! stops it and a second
# one from anywhere, in one message; the opt-in key stops it; :OcStopStatus lists it; the CLI's and
# the daemon's errors show their text; the help's tags build.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/../lib/editors.sh"

PLAN=24
tap_plan $PLAN
if ! command -v vim >/dev/null || ! vim --version | grep -q '+job'; then
  for _ in $(seq 1 $PLAN); do tap_skip "vim" "no vim with +job on PATH (Debian: apt install vim)"; done
  tap_done
fi
VIMDIR=$EDITORS_DIR/vim

# The help: its tags build without an error (in a copy: the tags file stays out of the source tree).
tmp_dir_new C
cp -r "$VIMDIR" "$C/vim"
tap_run "the help's tags build" 0 vim -u NONE -N -es -i NONE -c "helptags $C/vim/doc" -c 'qa!'
tap_ok "the help's tags name the commands" grep -Eq $'^:OcStop\tocstop.txt\t' "$C/vim/doc/tags"

editors_world

# vim_run DIR EX [WAIT [PRE]] — start Vim in DIR with the plugin (after the Ex command PRE, as a
# vimrc would), run EX, wait for a message matching WAIT (Vim pattern, default "ocstop" at a line's
# start); VOUT gets what tests/lib/editor-drive.vim wrote.
vim_run() {
  rm -f "$T/vim.out"
  (cd "$1" && OCSTOP_EX=$2 OCSTOP_WAIT=${3:-} OUTFILE=$T/vim.out timeout 60 vim -u NONE -N -es -i NONE \
    --cmd "set rtp^=$VIMDIR" --cmd "${4:-}" --cmd "source $VIMDIR/plugin/ocstop.vim" \
    -S "$OC_LIB_DIR/editor-drive.vim" </dev/null >/dev/null 2>&1)
  local rc=$?
  VOUT=$(cat "$T/vim.out" 2>/dev/null)
  tap_diag "$VOUT"
  return $rc
}

# 1. :OcStop from the project's subfolder.
stream "$S" hello || tap_bail "no stream"
tap_ok ":OcStop in the project's subfolder: Vim ran it and quit" vim_run "$PROJ/src" OcStop
tap_match ":OcStop says the session was stopped, verified" "$(stopped_msg "$S")" "$VOUT"
tap_ok "OpenCode reports the session idle" oc_is_idle "$S"
tap_ok "the daemon reports it idle" wait_until 10 ocstop_knows_status "$S" idle
tap_ok ":OcStop returned before the result came" drive_returned_first "$T/vim.out"
tap_diag ":OcStop returned in $(drive_field "$T/vim.out" cmd_ms) ms; its message came after $(drive_field "$T/vim.out" ms) ms"

# 2. :OcStop in another folder leaves the project alone.
stream "$S" "hello again" || tap_bail "no stream"
tap_ok ":OcStop elsewhere: Vim ran it" vim_run "$T/elsewhere" OcStop
tap_match ":OcStop elsewhere says nothing to stop" '^ocstop: nothing to stop$' "$VOUT"
tap_ok "the session still runs" oc_is_busy "$S"

# 3. :OcStop! stops it from anywhere, and a second session with it: one message for both.
S2=$(oc_session_new "$PROJ") || tap_bail "no second session"
stream "$S2" "the second" || tap_bail "no stream"
tap_ok ":OcStop! elsewhere: Vim ran it" vim_run "$T/elsewhere" 'OcStop!'
tap_match ":OcStop! says both sessions were stopped, verified" '^ocstop: stopped 2 sessions in [0-9]+ ms \(verified\)$' "$VOUT"
tap_ok "OpenCode reports the session idle after :OcStop!" oc_is_idle "$S"
tap_ok "OpenCode reports the second session idle after :OcStop!" oc_is_idle "$S2"

# 4. The key: none unless asked for; g:ocstop_map binds it to :OcStop.
tap_ok "no key without g:ocstop_map" vim_run "$PROJ" 'echomsg "ocstop maps: " . maparg("\\x", "n")'
tap_match "the key is unbound" '^ocstop maps: $' "$VOUT"
stream "$S" "and again" || tap_bail "no stream"
tap_ok "g:ocstop_map's key: Vim ran it" vim_run "$PROJ" 'normal \x' '' "let g:ocstop_map = '<Leader>x'"
tap_match "the key stopped the session, verified" "$(stopped_msg "$S")" "$VOUT"
tap_ok "OpenCode reports the session idle after the key" oc_is_idle "$S"

# 5. :OcStopStatus lists the session.
tap_ok ":OcStopStatus: Vim ran it" vim_run "$PROJ" OcStopStatus "\\n$S "
tap_match ":OcStopStatus lists the session, idle" "^$S +idle( |\$)" "$VOUT"

# 6. Errors show their text: the daemon's (no such session), the CLI's (no daemon), Vim's own.
vim_run "$PROJ" 'OcStop ses_zzz' >/dev/null
tap_match "an unknown session: the daemon's error text" '^ocstop: no such session: ses_zzz .*\(not_found\)$' "$VOUT"
vim_run "$PROJ" OcStop '' "let g:ocstop_socket = '$T/none/ocstop.sock'" >/dev/null
tap_match "no daemon: the CLI says it cannot connect" "^ocstop: cannot connect to $T/none/ocstop.sock: .*\(is ocstopd running\?\)\$" "$VOUT"
vim_run "$PROJ" OcStop '' "let g:ocstop_command = '$T/no-such-ocstop'" >/dev/null
tap_match "no CLI: Vim says it cannot run it" "^ocstop: cannot run '$T/no-such-ocstop' \(set g:ocstop_command\)\$" "$VOUT"
tap_done
