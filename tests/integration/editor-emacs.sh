#!/bin/bash
# editor-emacs.sh — Emacs's client (client/editors/emacs/ocstop.el) in batch mode against ocstopd and
# a real OpenCode: it byte-compiles without a warning and passes checkdoc; ocstop-stop stops the
# project's streaming session from a subfolder and says it was verified, without waiting for it, and
# stops nothing elsewhere; ocstop-stop-all stops it and a second one from anywhere, in one message;
# ocstop-status lists it; the daemon's, the CLI's and Emacs's own errors show their text.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"
. "$(dirname "$0")/../lib/editors.sh"

PLAN=21
tap_plan $PLAN
if ! command -v emacs >/dev/null; then
  for _ in $(seq 1 $PLAN); do tap_skip "emacs" "no emacs on PATH (Debian: apt install emacs-nox)"; done
  tap_done
fi
ELDIR=$EDITORS_DIR/emacs

# Compiled in a copy: the .elc stays out of the source tree.
tmp_dir_new C
cp "$ELDIR/ocstop.el" "$C/"
tap_run "byte-compiles" 0 emacs -Q --batch --eval '(setq byte-compile-error-on-warn t)' -f batch-byte-compile "$C/ocstop.el"
tap_eq "byte-compiles without a warning" "" "$OUT$ERR"
tap_run "checkdoc runs" 0 emacs -Q --batch --eval "(progn (require 'checkdoc) (checkdoc-file \"$C/ocstop.el\"))"
tap_eq "checkdoc finds nothing" "" "$OUT$ERR"

editors_world
# emacs_run DIR FORM [WAIT] — start Emacs in DIR with ocstop.el, evaluate FORM, wait for a message
# (or status buffer) matching WAIT (regexp, default "ocstop" at a line's start); EOUT gets what
# tests/lib/editor-drive.el wrote.
emacs_run() {
  rm -f "$T/emacs.out"
  (cd "$1" && OCSTOP_EL=$2 OCSTOP_WAIT=${3:-} OUTFILE=$T/emacs.out timeout 60 \
    emacs -Q --batch -L "$ELDIR" -l ocstop -l "$OC_LIB_DIR/editor-drive.el" </dev/null >/dev/null 2>&1)
  local rc=$?
  EOUT=$(cat "$T/emacs.out" 2>/dev/null)
  tap_diag "$EOUT"
  return $rc
}

# 1. ocstop-stop from the project's subfolder.
stream "$S" hello || tap_bail "no stream"
tap_ok "ocstop-stop in the project's subfolder: Emacs ran it and quit" emacs_run "$PROJ/src" '(ocstop-stop)'
tap_match "ocstop-stop says the session was stopped, verified" "$(stopped_msg "$S")" "$EOUT"
tap_ok "OpenCode reports the session idle" oc_is_idle "$S"
tap_ok "the daemon reports it idle" wait_until 10 ocstop_knows_status "$S" idle
tap_ok "ocstop-stop returned before the result came" drive_returned_first "$T/emacs.out"
tap_diag "ocstop-stop returned in $(drive_field "$T/emacs.out" cmd_ms) ms; its message came after $(drive_field "$T/emacs.out" ms) ms"

# 2. ocstop-stop in another folder leaves the project alone.
stream "$S" "hello again" || tap_bail "no stream"
tap_ok "ocstop-stop elsewhere: Emacs ran it" emacs_run "$T/elsewhere" '(ocstop-stop)'
tap_match "ocstop-stop elsewhere says nothing to stop" '^ocstop: nothing to stop$' "$EOUT"
tap_ok "the session still runs" oc_is_busy "$S"

# 3. ocstop-stop-all stops it from anywhere, and a second session with it: one message for both.
S2=$(oc_session_new "$PROJ") || tap_bail "no second session"
stream "$S2" "the second" || tap_bail "no stream"
tap_ok "ocstop-stop-all elsewhere: Emacs ran it" emacs_run "$T/elsewhere" '(ocstop-stop-all)'
tap_match "ocstop-stop-all says both sessions were stopped, verified" '^ocstop: stopped 2 sessions in [0-9]+ ms \(verified\)$' "$EOUT"
tap_ok "OpenCode reports the session idle after ocstop-stop-all" oc_is_idle "$S"
tap_ok "OpenCode reports the second session idle after ocstop-stop-all" oc_is_idle "$S2"

# 4. ocstop-status lists the session in its buffer.
tap_ok "ocstop-status: Emacs ran it" emacs_run "$PROJ" '(ocstop-status)' "^$S "
tap_match "ocstop-status lists the session, idle" "^$S +idle( |\$)" "$EOUT"

# 5. Errors show their text: the daemon's (no such session), the CLI's (no daemon), Emacs's own.
emacs_run "$PROJ" "(ocstop-stop '(\"ses_zzz\"))" >/dev/null
tap_match "an unknown session: the daemon's error text" '^ocstop: no such session: ses_zzz .*\(not_found\)$' "$EOUT"
emacs_run "$PROJ" "(let ((ocstop-socket \"$T/none/ocstop.sock\")) (ocstop-stop))" >/dev/null
tap_match "no daemon: the CLI says it cannot connect" "^ocstop: cannot connect to $T/none/ocstop.sock: .*\(is ocstopd running\?\)\$" "$EOUT"
emacs_run "$PROJ" "(let ((ocstop-command \"$T/no-such-ocstop\")) (ocstop-stop))" "^Cannot" >/dev/null
tap_match "no CLI: Emacs says it cannot run it" "^Cannot run .$T/no-such-ocstop. \(set .ocstop-command.\)\$" "$EOUT"
tap_done
