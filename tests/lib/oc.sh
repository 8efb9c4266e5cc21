# tests/lib/oc.sh — sourced bash library for the ocstop integration tests.
#
#   . "$(dirname "$0")/../lib/oc.sh"
#   tmp_dir_new T                # per-test temp dir, removed at exit (kept if OCSTOP_KEEP_TMP=1)
#   fake_llm_start "$T"          # FAKE_PORT FAKE_LOG FAKE_PID FAKE_URL
#   oc_env "$T"                  # isolated HOME/XDG + opencode.json + offline env vars
#   oc_serve_start "$T" "$T/proj" pw   # OC_URL OC_PID OC_PASSWORD OC_LOG
#   sid=$(oc_session_new "$T/proj"); oc_prompt "$sid" hello
#   wait_until 10 oc_is_busy "$sid"
#   tap_ok "session busy" test ...; tap_done
#
# Do not use `set -e` in tests (tap_ok returns 1 on failure) and do not set an EXIT trap (use oc_at_exit).
# Timing facts (opencode 1.18.33, 2 cores): serve healthy 1.8-2.8 s after spawn; first model request
# 1-2.5 s after the first prompt_async of an instance; abort -> idle 10-150 ms.
#
# Everything runs on ephemeral ports, so tests may run in parallel. Note: `opencode serve --port 0`
# tries 4096 first and only then a random port, so one of several parallel servers usually gets 4096;
# always use $OC_URL, never assume 4096 (OC_SERVE_PORT=N forces a port). Every process started through this
# library is killed by the EXIT trap (the opencode process itself, not a wrapper).

OC_VERSION=1.18.33
OC_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OC_TESTS_DIR=$(cd "$OC_LIB_DIR/.." && pwd)
OCSTOP_SRCDIR=${OCSTOP_SRCDIR:-$(cd "$OC_TESTS_DIR/.." && pwd)}
OCSTOP_BUILDDIR=${OCSTOP_BUILDDIR:-$OCSTOP_SRCDIR/build}
export OCSTOP_SRCDIR OCSTOP_BUILDDIR

_OC_PIDS=()
_OC_TMPDIRS=()
_TAP_N=0
_TAP_FAIL=0
_TAP_PLAN=

# ---------------------------------------------------------------- processes / cleanup

# oc_track PID — kill PID at exit.
oc_track() { _OC_PIDS+=("$1"); }

# _oc_descendants PID — all descendant pids of PID (children first level, then deeper).
_oc_descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do echo "$c"; _oc_descendants "$c"; done
}

_OC_AT_EXIT=()
# oc_at_exit CMD — run CMD (eval'd) at exit, before the tracked processes are killed. Use this instead
# of `trap ... EXIT`, which would replace the library's cleanup.
oc_at_exit() { _OC_AT_EXIT+=("$1"); }

oc_cleanup() {
  local rc=$? p i
  for p in "${_OC_AT_EXIT[@]}"; do eval "$p" || true; done
  local all=()
  for p in "${_OC_PIDS[@]}"; do while read -r i; do all+=("$i"); done < <(_oc_descendants "$p"); done
  for ((i = ${#_OC_PIDS[@]} - 1; i >= 0; i--)); do
    p=${_OC_PIDS[i]}
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${_OC_PIDS[@]}"; do
    for i in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  # Leftovers (e.g. a bash tool's `sleep 300` that outlived opencode).
  for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  _OC_PIDS=()
  if [ "${OCSTOP_KEEP_TMP:-0}" != 1 ]; then
    for p in "${_OC_TMPDIRS[@]}"; do rm -rf "$p"; done
  elif [ ${#_OC_TMPDIRS[@]} -gt 0 ]; then
    echo "# kept temp dirs: ${_OC_TMPDIRS[*]}" >&2
  fi
  return $rc
}
trap oc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tmp_dir_new VAR — create a temp dir under ${TMPDIR:-/tmp}, store its path in VAR; removed at exit
# (kept with OCSTOP_KEEP_TMP=1). Must run in the main shell, not in $(...).
tmp_dir_new() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/ocstop-test.XXXXXX") || return 1
  _OC_TMPDIRS+=("$d")
  printf -v "$1" '%s' "$d"
}

# ---------------------------------------------------------------- polling

# wait_until DEADLINE_SECS CMD... — run CMD every 50 ms until it succeeds; 1 on timeout.
wait_until() {
  local secs=$1; shift
  local ms=$(( ${secs%%.*} * 1000 ))
  if [[ $secs == *.* ]]; then local f=${secs#*.}000; ms=$(( ms + 10#${f:0:3} )); fi
  local end=$(( $(date +%s%N) / 1000000 + ms ))
  while :; do
    "$@" && return 0
    [ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
    sleep 0.05
  done
}

# not CMD... — negate CMD (for tap_ok/wait_until, where `!` cannot be passed).
not() { ! "$@"; }
# stays_false SECS CMD... — true if CMD stays false for SECS seconds (e.g. "no new model request").
stays_false() { local s=$1; shift; ! wait_until "$s" "$@"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---------------------------------------------------------------- TAP

tap_plan() { _TAP_PLAN=$1; echo "1..$1"; }
tap_diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }

# tap_ok DESC CMD... — ok/not ok from CMD's exit status. tap_ok DESC (no CMD) is a plain pass.
tap_ok() {
  local desc=$1; shift
  _TAP_N=$((_TAP_N + 1))
  if [ $# -eq 0 ] || "$@"; then
    echo "ok $_TAP_N - $desc"
  else
    echo "not ok $_TAP_N - $desc"
    _TAP_FAIL=$((_TAP_FAIL + 1))
    return 1
  fi
}
tap_fail() { _TAP_N=$((_TAP_N + 1)); _TAP_FAIL=$((_TAP_FAIL + 1)); echo "not ok $_TAP_N - $1"; [ $# -lt 2 ] || tap_diag "$2"; return 1; }
tap_skip() { _TAP_N=$((_TAP_N + 1)); echo "ok $_TAP_N - $1 # SKIP ${2:-}"; }
# tap_bail MSG — abort the whole test (counts as failure).
tap_bail() { echo "Bail out! $*"; exit 1; }

# tap_done — print the trailing plan (if tap_plan was not used) and exit with the failure status.
tap_done() {
  if [ -z "$_TAP_PLAN" ]; then echo "1..$_TAP_N"
  elif [ "$_TAP_PLAN" != "$_TAP_N" ]; then echo "# planned $_TAP_PLAN tests but ran $_TAP_N"; _TAP_FAIL=$((_TAP_FAIL + 1)); fi
  [ "$_TAP_FAIL" -eq 0 ] && exit 0
  exit 1
}

# ---------------------------------------------------------------- opencode binary / environment

# oc_bin — echo the opencode binary path ($OPENCODE_BIN overrides).
oc_bin() {
  if [ -n "${OPENCODE_BIN:-}" ]; then echo "$OPENCODE_BIN"; return 0; fi
  local d=${OCSTOP_CACHE:-$HOME/.cache/ocstop}/opencode-$OC_VERSION b
  # $HOME may already be the isolated test HOME: look in the saved real one too.
  for b in "$d/node_modules/opencode-linux-x64/bin/opencode" \
           "${_OC_REAL_HOME:-$HOME}/.cache/ocstop/opencode-$OC_VERSION/node_modules/opencode-linux-x64/bin/opencode"; do
    if [ -x "$b" ]; then OPENCODE_BIN=$b; export OPENCODE_BIN; echo "$b"; return 0; fi
  done
  OPENCODE_BIN=$(QUIET=1 "$OC_TESTS_DIR/setup.sh" --print-opencode) || return 1
  export OPENCODE_BIN; echo "$OPENCODE_BIN"
}

# oc_env DIR — isolated HOME under DIR/home, opencode.json pointing at the fake LLM on $FAKE_PORT (starts
# one with fake_llm_start DIR if FAKE_PORT is unset), plugin-install stub, offline env vars.
# Exports HOME, XDG_*, OPENCODE_DISABLE_*, OC_CONFIG_DIR (= DIR/home/.config/opencode; put plugins in
# $OC_CONFIG_DIR/plugin/).
oc_env() {
  local dir=$1
  [ -n "${FAKE_PORT:-}" ] || fake_llm_start "$dir" || return 1
  oc_bin >/dev/null || return 1   # resolve with the real HOME
  _OC_REAL_HOME=${_OC_REAL_HOME:-$HOME}
  local h=$dir/home
  local c=$h/.config/opencode
  mkdir -p "$c/node_modules" "$c/plugin" "$h/.local/share" "$h/.cache" "$h/.local/state"
  cat >"$c/opencode.json" <<JSON
{ "\$schema": "https://opencode.ai/config.json",
  "autoupdate": false, "share": "disabled", "model": "fake/fake-model", "small_model": "fake/fake-model",
  "enabled_providers": ["fake"], "lsp": false, "formatter": false,
  "permission": { "bash": "allow", "edit": "allow", "webfetch": "allow", "external_directory": "allow" },
  "provider": { "fake": { "npm": "@ai-sdk/openai-compatible", "name": "Fake",
    "options": { "baseURL": "http://127.0.0.1:$FAKE_PORT/v1", "apiKey": "dummy" },
    "models": { "fake-model": { "name": "Fake Model", "tool_call": true,
      "limit": { "context": 100000, "output": 4096 } } } } } }
JSON
  # Stub: makes opencode's background `npm install @opencode-ai/plugin` a no-op (else a 70 s stall offline).
  echo "{\"dependencies\":{\"@opencode-ai/plugin\":\"$OC_VERSION\"}}" >"$c/package.json"
  echo "{\"lockfileVersion\":3,\"packages\":{\"\":{\"dependencies\":{\"@opencode-ai/plugin\":\"$OC_VERSION\"}}}}" >"$c/package-lock.json"
  export OC_CONFIG_DIR=$c
  export HOME=$h XDG_CONFIG_HOME=$h/.config XDG_DATA_HOME=$h/.local/share \
    XDG_CACHE_HOME=$h/.cache XDG_STATE_HOME=$h/.local/state
  export OPENCODE_DISABLE_AUTOUPDATE=1 OPENCODE_DISABLE_MODELS_FETCH=1 OPENCODE_DISABLE_LSP_DOWNLOAD=1 \
    OPENCODE_DISABLE_DEFAULT_PLUGINS=1 OPENCODE_DISABLE_SHARE=1 OPENCODE_DISABLE_CLAUDE_CODE=1 \
    OPENCODE_DISABLE_EXTERNAL_SKILLS=1 OPENCODE_DISABLE_EMBEDDED_WEB_UI=1
  unset OPENCODE_SERVER_PASSWORD OPENCODE_SERVER_USERNAME OPENCODE_CONFIG OPENCODE_CONFIG_DIR \
    OPENCODE_CONFIG_CONTENT OPENCODE_PURE OPENCODE_DB 2>/dev/null || true
}

# ---------------------------------------------------------------- fake LLM

# fake_llm_start DIR — start tests/fake-llm.mjs on an ephemeral port. Sets FAKE_PORT FAKE_URL FAKE_LOG FAKE_PID.
fake_llm_start() {
  local dir=$1
  mkdir -p "$dir"
  FAKE_LOG=$dir/fake-llm.log
  : >"$FAKE_LOG"
  local out=$dir/fake-llm.out
  node "$OC_TESTS_DIR/fake-llm.mjs" --port 0 --log "$FAKE_LOG" >"$out" 2>"$dir/fake-llm.err" </dev/null &
  FAKE_PID=$!
  oc_track "$FAKE_PID"
  if ! wait_until 10 grep -qs '^listening ' "$out"; then
    echo "fake_llm_start: no 'listening' line" >&2; cat "$dir/fake-llm.err" >&2; return 1
  fi
  FAKE_PORT=$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$out" | head -n1)
  FAKE_URL=http://127.0.0.1:$FAKE_PORT
  export FAKE_PORT FAKE_URL FAKE_LOG FAKE_PID
}

fake_stats() { curl -s -m 2 "$FAKE_URL/__stats"; }
_json_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
# fake_requests — number of chat requests so far.
fake_requests() { fake_stats | _json_num requests; }
# fake_open_streams — number of "stream" responses still open.
fake_open_streams() { fake_stats | _json_num open_streams; }
fake_has_open_stream() { [ "$(fake_open_streams)" -gt 0 ] 2>/dev/null; }
fake_no_open_stream() { [ "$(fake_open_streams)" = 0 ]; }
# fake_requests_gt N — true when more than N chat requests arrived.
fake_requests_gt() { [ "$(fake_requests)" -gt "$1" ] 2>/dev/null; }
# fake_count_kind KIND — number of logged requests of KIND (stream, tool, tool_result, task, fail, title).
fake_count_kind() { grep -c "\"kind\":\"$1\"" "$FAKE_LOG"; }
# fake_kinds — the kinds of all logged requests, one per line.
fake_kinds() { sed -n 's/.*"kind":"\([a-z_]*\)".*/\1/p' "$FAKE_LOG"; }

# ---------------------------------------------------------------- opencode serve

# oc_serve_start DIR PROJDIR [PASSWORD] — start `opencode serve --port 0` in PROJDIR (after oc_env).
# Sets OC_URL OC_PID OC_PASSWORD OC_LOG and waits (60 s max) for /global/health.
oc_serve_start() {
  local dir=$1 proj=$2 pw=${3:-}
  local bin; bin=$(oc_bin) || return 1
  mkdir -p "$proj"
  OC_LOG=$dir/serve.log
  OC_PASSWORD=$pw
  : >"$OC_LOG"
  # exec: $! is the opencode process itself. The password is passed in its environment only.
  ( cd "$proj" && if [ -n "$pw" ]; then export OPENCODE_SERVER_PASSWORD=$pw; fi
    exec "$bin" serve --port "${OC_SERVE_PORT:-0}" --hostname 127.0.0.1 ) >"$OC_LOG" 2>&1 </dev/null &
  OC_PID=$!
  oc_track "$OC_PID"
  export OC_PID OC_PASSWORD OC_LOG
  if ! wait_until 60 grep -qs 'opencode server listening on http://' "$OC_LOG"; then
    echo "oc_serve_start: no listening line in 60 s" >&2; tail -n 20 "$OC_LOG" >&2; return 1
  fi
  OC_URL=$(sed -n 's|.*opencode server listening on \(http://[0-9.:]*[0-9]\).*|\1|p' "$OC_LOG" | head -n1)
  export OC_URL
  # Requests that connect in the first ~300 ms after listen never get an answer: short timeouts, retry.
  if ! wait_until 60 _oc_healthy; then
    echo "oc_serve_start: $OC_URL/global/health not 200 within 60 s" >&2; tail -n 20 "$OC_LOG" >&2; return 1
  fi
}
_oc_healthy() { [ "$(oc_curl -m 1 -o /dev/null -w '%{http_code}' "$OC_URL/global/health")" = 200 ]; }

# oc_curl [curl args...] URL — curl with auth (if OC_PASSWORD) and a 10 s default timeout.
# Later -m options override the default.
oc_curl() {
  local a=(-s -m 10)
  [ -n "${OC_PASSWORD:-}" ] && a+=(-u "${OPENCODE_SERVER_USERNAME:-opencode}:$OC_PASSWORD")
  curl "${a[@]}" "$@"
}

# oc_get PATH / oc_post PATH [JSON] — relative to OC_URL.
oc_get() { oc_curl "$OC_URL$1"; }
oc_post() {
  if [ $# -ge 2 ]; then oc_curl -X POST -H 'content-type: application/json' -d "$2" "$OC_URL$1"
  else oc_curl -X POST "$OC_URL$1"; fi
}

# _urlenc STR — percent-encode STR (pure bash, byte-wise).
_urlenc() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in [a-zA-Z0-9.~_-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac
  done
  printf '%s' "$out"
}

# json_str STR — STR as a JSON string literal (with quotes).
json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\r'/\\r}; s=${s//$'\t'/\\t}
  printf '"%s"' "$s"
}

# oc_session_new DIR [TITLE] — create a session for directory DIR, echo its id. TITLE defaults to "test";
# TITLE "" creates an untitled session, whose first prompt makes OpenCode send an extra "title" request.
oc_session_new() {
  local d=$1 title=${2-test} out body='{}'
  [ -n "$title" ] && body="{\"title\":$(json_str "$title")}"
  out=$(oc_curl -X POST -H 'content-type: application/json' -H "x-opencode-directory: $(_urlenc "$d")" \
    -d "$body" "$OC_URL/session") || return 1
  sed -n 's/^{"id":"\(ses_[^"]*\)".*/\1/p' <<<"$out" | grep . || { echo "oc_session_new: $out" >&2; return 1; }
}

# oc_prompt SID TEXT — POST prompt_async; fails unless 204.
oc_prompt() {
  local body code
  body="{\"parts\":[{\"type\":\"text\",\"text\":$(json_str "$2")}]}"
  code=$(oc_curl -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' -d "$body" \
    "$OC_URL/session/$1/prompt_async")
  [ "$code" = 204 ] || { echo "oc_prompt: HTTP $code" >&2; return 1; }
}

# oc_abort SID — POST /session/SID/abort; echoes the body ("true").
oc_abort() { oc_curl -X POST "$OC_URL/session/$1/abort"; }

# oc_status [DIR] — GET /session/status (for DIR, default: server cwd).
oc_status() {
  if [ -n "${1:-}" ]; then oc_curl -f "$OC_URL/session/status?directory=$(_urlenc "$1")"; else oc_curl -f "$OC_URL/session/status"; fi
}
# oc_status_of SID [DIR] — idle|busy|retry (idle when absent from the map).
oc_status_of() {
  local s t
  s=$(oc_status "${2:-}") || return 1
  [[ $s == "{"* ]] || return 1
  t=$(grep -o "\"$1\":{\"type\":\"[a-z]*\"" <<<"$s" | sed 's/.*"type":"\([a-z]*\)"/\1/')
  echo "${t:-idle}"
}
oc_is_busy() { [ "$(oc_status_of "$@")" = busy ]; }
oc_is_idle() { [ "$(oc_status_of "$@")" = idle ]; }
oc_is_retry() { [ "$(oc_status_of "$@")" = retry ]; }

# oc_children SID — JSON array of child sessions.
oc_children() { oc_curl "$OC_URL/session/$1/children"; }
oc_has_children() { local c; c=$(oc_children "$1") && [[ $c == *'"id":"ses_'* ]]; }
# oc_child_ids SID — child session ids, one per line.
oc_child_ids() { oc_children "$1" | grep -o '"id":"ses_[^"]*"' | sed 's/"id":"\(.*\)"/\1/'; }

# oc_descendant_cmdlines [PID] — "pid cmdline" of every descendant of PID (default OC_PID).
oc_descendant_cmdlines() {
  local p c
  for p in $(_oc_descendants "${1:-$OC_PID}"); do
    c=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
    echo "$p ${c% }"
  done
}
# oc_proc_running ERE [PID] — true if a descendant of PID (default OC_PID) has a cmdline matching ^ERE$.
# Looks only under this test's opencode, so parallel tests do not see each other's processes.
oc_proc_running() { oc_descendant_cmdlines "${2:-$OC_PID}" | grep -qE "^[0-9]+ $1\$"; }
oc_proc_gone() { ! oc_proc_running "$@"; }
