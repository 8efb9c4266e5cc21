#!/bin/bash
# cli-opencode.sh — the CLI a user reaches for, against a real OpenCode 1.18.33: the link
# `ocstop install-plugin` makes is loaded (its shim registers with the daemon, as the proof), `ocstop
# doctor` then says a stop works and names the OpenCode version that registered, and an x typed
# there is stopped through the linked shim.
set -u
# shellcheck source=../lib/oc.sh
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 14
tmp_dir_new T
fake_llm_start "$T" || tap_bail "fake-llm did not start"
oc_env "$T"
PROJ=$T/proj
mkdir -p "$PROJ"
export OCSTOP_SHIM=$OCSTOP_SRCDIR/client/opencode-plugin/ocstop.js PATH=$T/bin:$PATH
# No systemd user manager here: systemctl says so (the real one may hang without a bus).
mkdir -p "$T/bin"; printf '#!/bin/sh\necho "Failed to connect to bus: No medium found"; exit 1\n' >"$T/bin/systemctl"
chmod +x "$T/bin/systemctl"
ocstopd_start "$T" || tap_bail "ocstopd did not start"

tap_run "install-plugin: exit 0" 0 in_dir "$PROJ" ocstop install-plugin
tap_ok "the link is in OpenCode's plugins folder" test -L "$XDG_CONFIG_HOME/opencode/plugins/ocstop.js"
tap_run "doctor before OpenCode starts: exit 0 (the next one loads the shim)" 0 in_dir "$PROJ" ocstop doctor
oc_serve_start "$T" "$PROJ" || tap_bail "opencode serve did not start: $(tail -n 5 "$OC_LOG" 2>/dev/null)"
# registered — the daemon lists OpenCode's process with its shim, and the version it said.
registered() {
  ocstop -j status | jq -e --argjson pid "$OC_PID" \
    'any(.servers[]; .shim == true and .pid == $pid and .version == "1.18.33" and .connected)' >/dev/null
}
# OpenCode loads plugins for a folder when it first works there: a session in the project.
S=$(oc_session_new "$PROJ") || tap_bail "POST /session failed"
tap_ok "OpenCode loaded the linked shim: it registered with the daemon" wait_until 60 registered
tap_run "doctor with OpenCode running: exit 0" 0 in_dir "$PROJ" ocstop doctor
tap_match "doctor names the OpenCode reached and its version" "^ok +opencode: $OC_URL: reached \(http\), OpenCode 1\.18\.33$" "$OUT"
tap_match "doctor names the version that registered the shim" "^ok +registered: OpenCode 1\.18\.33 \(pid $OC_PID\) loaded the shim" "$OUT"
tap_match "doctor names the link" "^ok +shim: installed: $XDG_CONFIG_HOME/opencode/plugins/ocstop.js -> $OCSTOP_SHIM$" "$OUT"
tap_run "doctor --json: exit 0" 0 in_dir "$PROJ" ocstop doctor --json
tap_ok "--json says ok, no check failed" jq -e '.ok == true and all(.checks[]; .status != "fail")' <<<"$OUT"

# An x typed in OpenCode is answered by the linked shim: the message is blocked and the run stops.
oc_prompt "$S" hello || tap_bail "prompt_async failed"
tap_ok "the session runs" wait_until 30 oc_is_busy "$S"
oc_prompt "$S" x || tap_bail "prompt_async x failed"
tap_ok "the x stopped it" wait_until 30 oc_is_idle "$S"
verified() { ocstop -j status | jq -e '.counters.verdicts_abort >= 1 and .counters.verified >= 1' >/dev/null; }
tap_ok "the daemon gave the x an abort verdict and proved the stop" wait_until 30 verified

tap_run "uninstall-plugin: exit 0" 0 in_dir "$PROJ" ocstop uninstall-plugin
tap_done
