#!/bin/bash
# editor-nvim.sh — the Neovim plugin (client/nvim/) in `nvim --headless`, against the real ocstopd and
# a real OpenCode streaming from the fake model: :OcStop stops the project's running session (OpenCode
# and the daemon say it is idle) and echoes the verified outcome while the command itself returns at
# once; :OcStop! stops the rest; the status line's count follows the daemon's events (2 -> 1 -> 0) and
# comes back after the daemon restarts; a daemon that does not answer holds nothing up; a daemon error
# shows its text; a socket directory that is not the user's alone is refused before anything is sent
# there, and a daemon too old to run the events is not used.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

PLAN=34
tap_plan $PLAN
if ! command -v nvim >/dev/null; then
  for i in $(seq $PLAN); do tap_skip "case $i" "nvim is not installed"; done
  tap_done
fi

PLUGIN=$OCSTOP_SRCDIR/client/nvim
world_start
OTHER=$T/other
mkdir -p "$OTHER"
oc_serve_start "$T" "$PROJ" || tap_bail "opencode serve did not start"
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not start"
wait_until 30 ocstop_connected "$OC_URL" || tap_bail "the daemon did not connect to OpenCode"

# The test's hands inside the editor: the status line as it would be drawn, the last message, and
# the time a command takes to return.
# (Even headless, Neovim evaluates a 'statusline' it is given: it is set only once loading was seen
# to connect to nothing.)
cat >"$T/hands.lua" <<'EOF'
_G.T = {
  draw = function() vim.o.statusline = "%!v:lua.require'ocstop'.statusline()" end,
  sl = function() return vim.api.nvim_eval_statusline(vim.o.statusline, {}).str end,
  last = function()
    local m = vim.split(vim.fn.execute('messages'), '\n')
    return m[#m]
  end,
  timed = function(cmd)
    local t = vim.loop.hrtime()
    vim.cmd(cmd)
    return math.floor((vim.loop.hrtime() - t) / 1e5) / 10
  end,
}
EOF
NVIM_SOCK=$T/nvim.sock
# Installed as the package it is shipped as, loaded with :packadd.
mkdir -p "$T/site/pack/ocstop/opt"
ln -s "$PLUGIN" "$T/site/pack/ocstop/opt/ocstop"
(cd "$PROJ" && exec nvim --headless -u NONE -i NONE --cmd "set packpath^=$T/site" --cmd 'packadd ocstop' \
  --cmd "luafile $T/hands.lua" --listen "$NVIM_SOCK" </dev/null >"$T/nvim.log" 2>&1) &
oc_track $!
# nv EXPR — EXPR evaluated in the editor (nvim 0.7 prints a --remote-expr result on stderr).
nv() { nvim --headless --server "$NVIM_SOCK" --remote-expr "$1" 2>&1 </dev/null; }
nv_up() { [ "$(nv 1)" = 1 ]; }
wait_until 10 nv_up || tap_bail "nvim did not start: $(cat "$T/nvim.log")"
# sl_is TEXT — the status line reads TEXT.
sl_is() { local s; s=$(nv 'luaeval("T.sl()")'); echo "status line: '$s'" >&2; [ "$s" = "$1" ]; }
# said REGEX — the last message matches REGEX.
said() { local m; m=$(nv 'luaeval("T.last()")'); echo "last message: $m" >&2; [[ $m =~ $1 ]]; }
# said_all REGEX — the messages, joined by spaces, match REGEX.
said_all() { local m; m=$(nv 'join(split(execute("messages"), "\n"), " ")'); echo "messages: $m" >&2; [[ $m =~ $1 ]]; }
# run CMD — CMD run in the editor after clearing the messages; its time in ms in CMD_MS.
run() { nv 'execute("messages clear")' >/dev/null; CMD_MS=$(nv "luaeval('T.timed(\"$1\")')"); }
STOPPED='^ocstop: stopped 1 session in ([0-9]+) ms \(verified\)$'

tap_eq "the plugin defines :OcStop" 2 "$(nv 'exists(":OcStop")')"
tap_eq "and :OcStopStatus" 2 "$(nv 'exists(":OcStopStatus")')"
tap_eq "loading it connects to nothing (only this status query is connected)" 1 "$(ocstop_counter connected)"
tap_eq "it maps no key unless asked" "" "$(nv 'maparg("<leader>x", "n")')"
nv 'luaeval("require(\"ocstop\").setup({keymap = \"<leader>x\"})")' >/dev/null
tap_ok "setup{keymap} maps it" test -n "$(nv 'maparg("<leader>x", "n")')"
nv 'luaeval("T.draw()")' >/dev/null
tap_ok "once drawn, the status line counts no busy session" wait_until 10 sl_is oc:0

# Two sessions stream: one in the project, one elsewhere.
S1=$(oc_session_new "$PROJ") || tap_bail "no session"
S2=$(oc_session_new "$OTHER") || tap_bail "no session"
stream "$S1" hello || tap_bail "no stream in $S1"
stream "$S2" hello || tap_bail "no stream in $S2"
tap_ok "the status line counts both from the daemon's events" wait_until 10 sl_is oc:2
run OcStopStatus
lists_both() {
  said_all "^ocstop: $OCSTOP_SOCKET: 2 running, 1 OpenCode server connected " &&
    said_all " $S1 busy $PROJ test( |\$)" && said_all " $S2 busy $OTHER test( |\$)"
}
tap_ok ":OcStopStatus lists both" wait_until 10 lists_both
tap_eq "no Vim timer runs in the editor (the count is not polled)" 0 "$(nv 'len(timer_info())')"

run OcStop
tap_ok ":OcStop echoes the verified stop" wait_until 30 said "$STOPPED"
proof_ms=$(nv 'luaeval("T.last()")' | sed -En "s/$STOPPED/\\1/p")
tap_ok ":OcStop returned in $CMD_MS ms, before the proof ($proof_ms ms) and under 50 ms" \
  awk -v c="$CMD_MS" -v p="${proof_ms:-0}" 'BEGIN { exit !(c < p && c < 50) }'
tap_ok "OpenCode says the project's session is idle" oc_is_idle "$S1"
tap_ok "the daemon says so too" ocstop_knows_status "$S1" idle
tap_ok "the session of the other directory still runs" oc_is_busy "$S2" "$OTHER"
tap_ok "the status line counts 1" wait_until 10 sl_is oc:1

run OcStop!
tap_ok ":OcStop! echoes the verified stop of the other one" wait_until 30 said "$STOPPED"
tap_ok "OpenCode says it is idle" oc_is_idle "$S2" "$OTHER"
tap_ok "the status line counts 0" wait_until 10 sl_is oc:0
run OcStop
tap_ok ":OcStop with nothing running says so" wait_until 10 said '^ocstop: nothing to stop$'

# The daemon restarts while a session starts: the status line goes blank, then counts it again.
ocstopd_stop || tap_bail "the daemon did not stop"
tap_ok "with the daemon gone the status line is blank" wait_until 10 sl_is ""
run OcStop
tap_ok ":OcStop says the daemon cannot be reached" \
  wait_until 10 said "^ocstop: cannot connect to $OCSTOP_SOCKET: No such file or directory \(is ocstopd running\?\)$"
stream_plain "$S1" again || tap_bail "no stream in $S1"
ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not restart"
wait_until 30 ocstop_knows_busy "$S1" || tap_bail "the restarted daemon did not see $S1 busy"
tap_ok "after the restart the status line counts the running session" wait_until 15 sl_is oc:1
run OcStop
tap_ok ":OcStop through the new connection is verified" wait_until 30 said "$STOPPED"
tap_ok "OpenCode says the session is idle" oc_is_idle "$S1"
tap_ok "the status line counts 0" wait_until 10 sl_is oc:0

# A daemon that does not answer (stopped) holds nothing up: :OcStop returns at once, the editor
# answers, and the probe's bound says what happened; once it runs again the count comes back.
kill -STOP "$OCSTOPD_PID"
run OcStop
stalled_ms=$CMD_MS
tap_ok "the editor answers while the daemon does not" nv_up
tap_ok ":OcStop said the daemon did not answer" \
  wait_until 10 said "^ocstop: ocstopd at $OCSTOP_SOCKET did not answer in 2000 ms$"
tap_ok ":OcStop returned in $stalled_ms ms all the same" awk -v c="$stalled_ms" 'BEGIN { exit !(c < 50) }'
kill -CONT "$OCSTOPD_PID"
tap_ok "the count comes back once the daemon answers again" wait_until 15 sl_is oc:0

# An error of the daemon reaches the user with its text: OpenCode is gone.
kill -TERM "$OC_PID"
wait_until 30 not ocstop_connected "$OC_URL" || tap_bail "the daemon did not see OpenCode go"
run OcStop
tap_ok "an error from the daemon shows its text and name" \
  wait_until 10 said "^ocstop: .*$OC_URL.* \(opencode_unreachable\)$"
tap_diag "$(nv 'luaeval("T.last()")')"

# A socket directory someone else could listen in is refused before connecting: a squatter there
# (this user's, in a directory open to others; then in a directory of another user) is sent nothing.
# refused_in DIR — a fresh editor's :OcStop with its socket in DIR; its messages in $T/refused.txt.
refused_in() {
  rm -f "$T/refused.txt"
  OCSTOP_SOCKET=$1/ocstop.sock nvim --headless -u NONE -i NONE --cmd "set rtp^=$PLUGIN" \
    --cmd 'runtime plugin/ocstop.lua' -c OcStop \
    -c 'lua vim.wait(5000, function() return vim.fn.execute("messages"):find("ocstop") ~= nil end)' \
    -c "call writefile(split(execute('messages'), '\n'), '$T/refused.txt')" -c 'qa!' </dev/null >/dev/null 2>&1
  cat "$T/refused.txt"
}
mkdir -m 0755 "$T/open"
/usr/bin/python3 "$OCSTOP_SRCDIR/tests/lib/squatter.py" "$T/open/ocstop.sock" "$T/squat.log" >"$T/squat.out" 2>&1 &
oc_track $!
wait_until 10 grep -q listening "$T/squat.out" || tap_bail "the squatter did not listen"
tap_match "a directory open to others is refused, saying why" \
  "^ocstop: refusing to use $T/open/ocstop.sock: its directory $T/open is open to other users \(owner uid $(id -u), mode 0755\)" \
  "$(refused_in "$T/open")"
tap_eq "the squatter was sent nothing" 0 "$(stat -c %s "$T/squat.log" 2>/dev/null || echo 0)"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  mkdir -m 0700 "$T/theirs"
  chown nobody "$T/theirs"
  tap_match "a directory of another user is refused" \
    "^ocstop: refusing to use $T/theirs/ocstop.sock: its directory $T/theirs is owned by another user" \
    "$(refused_in "$T/theirs")"
else
  tap_skip "a directory of another user is refused" "needs root to give a directory away"
fi
# A trusted daemon of an older protocol (the squatter says 3) cannot run the events: it is not used.
mkdir -m 0700 "$T/old"
/usr/bin/python3 "$OCSTOP_SRCDIR/tests/lib/squatter.py" "$T/old/ocstop.sock" "$T/old.log" >"$T/old.out" 2>&1 &
oc_track $!
wait_until 10 grep -q listening "$T/old.out" || tap_bail "the squatter did not listen"
tap_match "a daemon of protocol 3 is named and not used" \
  "^ocstop: ocstopd at $T/old/ocstop.sock speaks protocol 3; this plugin needs 6 or later" "$(refused_in "$T/old")"
tap_done
