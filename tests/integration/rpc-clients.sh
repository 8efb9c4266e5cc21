#!/bin/bash
# rpc-clients.sh — msgpack-rpc clients other than ours stop a real OpenCode (fake model) through the
# real daemon: pynvim 0.4.2's session layer (method names as bin, error_wrapper set), a plain client
# of a dozen lines on python3-msgpack (tests/lib/mrpc.py, pipelining), and Neovim's own
# rpcrequest/rpcnotify from `nvim --headless -u NONE`, without the plugin (tests/lib/nvim-rpc.lua).
# Each asks, sees an error's text, stops a streaming session waiting for the proof or as a
# notification, and hears the stop as an event.
set -u
# shellcheck source=../lib/oc.sh
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 36
world_start
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start"
OPENCODE_SERVER_PASSWORD=$OC_PASSWORD ocstopd_start "$T" --opencode "$OC_URL" || tap_bail "ocstopd did not start"
tap_ok "daemon connects to OpenCode" wait_until 30 ocstop_connected "$OC_URL"

PY=/usr/bin/python3
# client KIND CASE [SESSION] — tests/lib/rpc_clients.py; its JSON in OUT.
client() { tap_run "$1 $2${3:+ (streaming session)}: exit 0" 0 "$PY" "$OCSTOP_SRCDIR/tests/lib/rpc_clients.py" "$1" "$OCSTOP_SOCKET" "$2" ${3:+"$3"}; }
# is JQ — OUT satisfies JQ.
is() { jq -e "$@" <<<"$OUT" >/dev/null; }
# log_has TEXT — the daemon's log has TEXT (fixed).
log_has() { grep -qF -- "$1" "$OCSTOPD_LOG"; }
MISSING='not_found: no such session: ses_zzzNobodyHasThis (no OpenCode server knows it)'
# streaming — a new session of the project, its reply streaming, in S.
streaming() { S=$(oc_session_new "$PROJ") && stream "$S" hello; }
# shows_errors KIND LABEL — the client shows an error's name and message.
shows_errors() {
  client "$1" missing
  tap_ok "$2: an error shows its name and message" is --arg m "$MISSING" '.error == $m'
}
# stops_by_notification KIND LABEL — abort as a notification stops a streaming session; the client
# hears the stop as an event.
stops_by_notification() {
  streaming || tap_bail "no streaming session"
  client "$1" notify "$S"
  tap_ok "$2: abort as a notification stops it, the stop event says so" \
    is --arg s "$S" '.stop.session == $s and .stop.stopped == true'
  tap_ok "$2: OpenCode says the session is idle" oc_is_idle "$S"
}

# has CHECK N WHY — CHECK (eval'd) succeeds; else the N cases that need it are skipped for WHY.
has() {
  eval "$1" >/dev/null 2>&1 && return 0
  local i
  for ((i = 1; i <= $2; i++)); do tap_skip "case $i of its client" "$3"; done
  return 1
}

# 1. pynvim's session layer.
if has '"$PY" -c "import pynvim"' 17 "python3-pynvim is not installed (tests/setup.sh)"; then
  client pynvim ping
  tap_ok "pynvim: ping answers protocol 6 with the name as str, as bin, and without params" \
    is '.str.protocol == 6 and .bin.protocol == 6 and .none.protocol == 6'
  tap_ok "pynvim's nvim_set_client_info is logged as an ignored notification" \
    log_has "notification 'nvim_set_client_info' ignored: no such method"
  shows_errors pynvim pynvim
  streaming || tap_bail "no streaming session"
  client pynvim status
  tap_ok "pynvim: status lists the streaming session busy" \
    is --arg s "$S" 'any(.sessions[]; .id == $s and .status == "busy")'
  client pynvim abort "$S"
  tap_ok "pynvim: abort waits for the proof: stopped" abort_stopped "$OUT" "$S"
  tap_ok "pynvim: OpenCode says the session is idle" oc_is_idle "$S"
  stops_by_notification pynvim "pynvim (async_=True)"
  client pynvim facade
  tap_ok "pynvim: an Nvim object made on the session pings, and its NvimError has the error's text" \
    is --arg m "$MISSING" '.ping.protocol == 6 and .error == $m'
  client pynvim attach
  tap_ok "pynvim.attach ends with an error that says the daemon is not Neovim" \
    is '.class == "NvimError" and (.error | startswith("unknown_method: unknown method '"'"'nvim_get_api_info'"'"': this is ocstopd, not Neovim"))'
fi

# 2. A plain msgpack-rpc client.
if has '"$PY" -c "import msgpack"' 10 "python3-msgpack is not installed (tests/setup.sh)"; then
  client raw ping
  tap_ok "plain client: ping with [[]], [] and [{}] answers protocol 6" \
    is '.empty_table.protocol == 6 and .none.protocol == 6 and .map.protocol == 6'
  shows_errors raw "plain client"
  streaming || tap_bail "no streaming session"
  client raw pipeline "$S"
  tap_ok "plain client: four requests in one write; the abort, waiting for its proof, is answered last" \
    is '.order == [1, 3, 4, 2]'
  tap_ok "plain client: the pipelined abort stopped the session" abort_stopped "$(jq -c .abort <<<"$OUT")" "$S"
  stops_by_notification raw "plain client"
fi

# 3. Neovim, with nothing but its own rpcrequest/rpcnotify.
if has "command -v nvim" 8 "nvim is not installed (Debian: neovim; tests/setup.sh)"; then
  streaming || tap_bail "no streaming session"
  tap_run "nvim --headless -u NONE runs the script: exit 0" 0 \
    env SID="$S" OUT="$T/nvim.json" timeout 60 nvim --headless -u NONE -i NONE -c "luafile $OCSTOP_SRCDIR/tests/lib/nvim-rpc.lua"
  OUT=$(cat "$T/nvim.json" 2>/dev/null)
  tap_ok "Neovim: the script ran to its end" is '.failed == null and .ping != null'
  tap_ok "Neovim: Lua {} is no options: ping answers protocol 6" is '.ping.protocol == 6'
  tap_ok "Neovim: Lua {session = nil} is no options, and the error says what to abort" \
    is '.lua_no_options == "bad_request: say what to abort: session, sessions, directory or all"'
  tap_ok "Neovim: pcall(vim.rpcrequest) gets the error's text" is --arg m "$MISSING" '.lua_error == $m'
  tap_ok "Neovim: Vimscript's v:exception has the error's text" \
    is --arg m "$MISSING" '.vim_error | endswith("\n" + $m)'
  tap_ok "Neovim: rpcnotify abort stopped the session; the nvim function was called with the stop event" \
    is --arg s "$S" '.stopped == true and any(.events[]; .type == "stop" and .stop.session == $s and .stop.stopped)'
  tap_diag "rpcnotify abort to the stop event in Neovim: $(jq .event_ms <<<"$OUT") ms (the stop's own ms: $(jq --arg s "$S" '[.events[] | select(.stop.session == $s) | .stop.ms][0]' <<<"$OUT"))"
  tap_ok "Neovim's nvim_error_event for a function it has not is logged with its message" \
    log_has "Neovim could not run an event: Vim:E117: Unknown function: OcstopNoSuchFunction"
fi
tap_done
