#!/bin/bash
# smoke-opencode.sh — proves the harness: real opencode serve + fake LLM, abort by HTTP.
set -u
# shellcheck source=../lib/oc.sh
. "$(dirname "$0")/../lib/oc.sh"

tap_plan 21
tmp_dir_new T
fake_llm_start "$T" || tap_bail "fake-llm did not start"
oc_env "$T"
PROJ=$T/proj
oc_serve_start "$T" "$PROJ" "pw-$$" || tap_bail "opencode serve did not start: $(tail -n 5 "$OC_LOG" 2>/dev/null)"
tap_ok "opencode serve healthy at $OC_URL (pid $OC_PID)" _oc_healthy
tap_eq "unauthenticated request gets 401" 401 \
  "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$OC_URL/global/health")"

# 1. Streaming reply, aborted over HTTP.
S=$(oc_session_new "$PROJ") || tap_bail "POST /session failed"
n=$(fake_requests) || tap_bail "the fake model does not answer"
oc_prompt "$S" hello || tap_bail "prompt_async failed"
tap_ok "session busy after prompt_async" wait_until 30 oc_is_busy "$S"
tap_ok "fake LLM has an open stream" wait_until 30 fake_streaming_since "$n"
n=$(fake_requests)
tap_eq "abort answers true" true "$(oc_abort "$S")"
tap_ok "session idle after abort" wait_until 30 oc_is_idle "$S"
tap_ok "model stream closed after abort" wait_until 30 fake_no_open_stream
tap_ok "no model request after abort" stays_false 1 fake_requests_gt "$n"

# 2. A bash tool running `sleep 300`.
S2=$(oc_session_new "$PROJ") || tap_bail "POST /session failed"
oc_prompt "$S2" 'TOOL(sleep 300)' || tap_bail "prompt_async failed"
tap_ok "TOOL(sleep 300) runs sleep 300 under opencode" wait_until 30 oc_proc_running 'sleep 300'
P=$(oc_proc_pid 'sleep 300')
n=$(fake_requests)
tap_eq "abort during tool answers true" true "$(oc_abort "$S2")"
tap_ok "sleep 300 killed by the abort" wait_until 30 pid_gone "$P"
tap_ok "session idle after tool abort" wait_until 30 oc_is_idle "$S2"
tap_ok "no tool_result request after abort" stays_false 1 fake_requests_gt "$n"

# 3. A subagent: TASK(...) creates a child session whose request streams forever.
S3=$(oc_session_new "$PROJ") || tap_bail "POST /session failed"
n=$(fake_requests)
oc_prompt "$S3" 'TASK(write a poem)' || tap_bail "prompt_async failed"
tap_ok "TASK creates a child session" wait_until 30 oc_has_children "$S3"
C=$(oc_child_ids "$S3" | head -n1)
tap_ok "child streams from the fake LLM" wait_until 30 fake_streaming_since "$n"
tap_ok "the child is busy" oc_is_busy "$C"
oc_abort "$S3" >/dev/null
both_idle() { oc_is_idle "$1" && oc_is_idle "$2"; }
tap_ok "parent and child idle after aborting the parent" wait_until 30 both_idle "$S3" "$C"
tap_ok "child stream closed" wait_until 30 fake_no_open_stream

# 4. Provider errors: HTTP 429 with retry-after: 2 keeps the session in "retry" (OpenCode gives up by
#    itself after 5 retries, ~10 s here); the abort must end it at once.
S4=$(oc_session_new "$PROJ") || tap_bail "POST /session failed"
oc_prompt "$S4" 'FAIL429(2)' || tap_bail "prompt_async failed"
tap_ok "FAIL429 puts the session in retry" wait_until 30 oc_is_retry "$S4"
oc_abort "$S4" >/dev/null
# Well before OpenCode would give up by itself (~10 s).
tap_ok "session idle after aborting the retry" wait_until 5 oc_is_idle "$S4"
n=$(fake_requests)
tap_ok "no retry request after abort (one would come every 2 s)" stays_false 2.5 fake_requests_gt "$n"

tap_diag "fake LLM requests: $(fake_kinds | tr '\n' ' ')"
tap_done
