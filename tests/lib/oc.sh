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

# oc_env_pids VAR=VALUE — the live processes whose environment holds VAR=VALUE (a zombie's reads
# empty).
oc_env_pids() {
  local f p
  for f in /proc/[0-9]*/environ; do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" != "$BASHPID" ] && grep -qzx "$1" "$f" 2>/dev/null && echo "$p"
  done
}
# oc_env_none VAR=VALUE — no such process is left (says which are, on stderr).
oc_env_none() {
  local left; left=$(oc_env_pids "$1")
  [ -z "$left" ] && return 0
  ps -o pid=,etime=,args= -p "$(echo $left | tr ' ' ,)" >&2
  return 1
}
# oc_tagged_pids TAG — the processes whose environment holds OCSTOP_TEST_TAG=TAG. A process a test has
# a server start (tmux starts the TUI) is no descendant of the test's; give it the tag to find it,
# and everything it starts in turn.
oc_tagged_pids() { oc_env_pids "OCSTOP_TEST_TAG=$1"; }
# oc_tagged_none TAG — no process with the tag is left (says which are, on stderr).
oc_tagged_none() { oc_env_none "OCSTOP_TEST_TAG=$1"; }
# oc_end_tagged TAG — TERM the tagged processes, and KILL those left after 3 s: a TUI whose terminal
# went away may take minutes to notice.
oc_end_tagged() {
  local p
  for p in $(oc_tagged_pids "$1"); do kill -TERM "$p" 2>/dev/null; done
  wait_until 3 oc_tagged_none "$1" 2>/dev/null && return 0
  for p in $(oc_tagged_pids "$1"); do kill -KILL "$p" 2>/dev/null; done
  wait_until 5 oc_tagged_none "$1"
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
  # The daemon may finish replies in flight first, and then report its leaks (ASan, valgrind): it
  # gets 30 s before the KILL that would hide them.
  local waits
  for p in "${_OC_PIDS[@]}"; do
    waits=40
    [ "$p" != "${OCSTOPD_PID:-}" ] || waits=600
    for i in $(seq 1 "$waits"); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  # Leftovers (e.g. a bash tool's `sleep 300` that outlived opencode).
  for p in "${all[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  _OC_PIDS=()
  _oc_sanitizer_reports && rc=1
  if [ "${OCSTOP_KEEP_TMP:-0}" != 1 ]; then
    for p in "${_OC_TMPDIRS[@]}"; do rm -rf "$p"; done
  elif [ ${#_OC_TMPDIRS[@]} -gt 0 ]; then
    echo "# kept temp dirs: ${_OC_TMPDIRS[*]}" >&2
  fi
  [ "$rc" -eq 0 ] || exit "$rc"
}
trap oc_cleanup EXIT

# _oc_sanitizer_reports — in the sanitizer build, an ASan, LSan or UBSan report in any log of the test
# (the daemon's, once it has exited and checked its leaks), or under valgrind (tests/valgrind.sh) an
# error summary that counts any, fails the whole test, whatever its cases said: the first report is
# printed as a Bail out. True when there was one.
_oc_sanitizer_reports() {
  local f re='ERROR: (Address|Leak)Sanitizer|SUMMARY: UndefinedBehaviorSanitizer|\.c:[0-9]+:[0-9]+: runtime error:|ERROR SUMMARY: [1-9]'
  [ ${#_OC_TMPDIRS[@]} -gt 0 ] || return 1
  f=$(grep -rIlE "$re" "${_OC_TMPDIRS[@]}" 2>/dev/null | head -n1)
  [ -n "$f" ] || return 1
  echo "Bail out! a sanitizer or valgrind reported an error in $f"
  if grep -qE 'ERROR SUMMARY: [1-9]' "$f"; then
    grep -E '^==[0-9]+== .' "$f" | grep -vE 'Memcheck,|Copyright|Using Valgrind|Command:' | head -n 40
  else
    grep -m1 -A30 -E "$re" "$f"
  fi | _tap_comment
  return 0
}
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

# Scratch files for captured output (tap_ok, tap_run, wait_until, stays_false).
_OC_SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/ocstop-tap.XXXXXX") && _OC_TMPDIRS+=("$_OC_SCRATCH")

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
_secs_ms() {
  [[ $1 =~ ^([0-9]+)(\.([0-9]{1,3}))?$ ]] || { echo "bad number of seconds: '$1'" >&2; return 2; }
  local f=${BASH_REMATCH[3]}000
  echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${f:0:3}))
}

# wait_until SECS CMD... — run CMD every 50 ms until it succeeds; 1 on timeout. CMD's output is shown
# only on timeout, on stderr, with the last try's exit status.
wait_until() {
  local _w_secs=$1 _w_ms; _w_ms=$(_secs_ms "$1") || return 2
  shift
  local _w_end=$(($(now_ms) + _w_ms)) _w_n=0 _w_rc _w_f=$_OC_SCRATCH/wait.$BASHPID.${#FUNCNAME[@]}
  while :; do
    _w_n=$((_w_n + 1))
    "$@" >"$_w_f.1" 2>"$_w_f.2"; _w_rc=$?
    [ $_w_rc -eq 0 ] && return 0
    [ "$(now_ms)" -ge $_w_end ] && break
    sleep 0.05
  done
  cat "$_w_f.1" "$_w_f.2" >&2
  echo "wait_until: still false after $_w_secs s ($_w_n tries; last exit status $_w_rc): $(_tap_cmdline "$@")" >&2
  return 1
}

# stays_false SECS CMD... — true if CMD answers "no" (exit status 1) every time it is asked, every 50 ms
# for SECS seconds (e.g. "no new model request"). A "yes" fails at once, and so does any other status:
# a probe that cannot answer (no daemon, no model server) must not pass for a quiet one.
stays_false() {
  local _w_ms; _w_ms=$(_secs_ms "$1") || return 2
  shift
  local _w_t0; _w_t0=$(now_ms)
  local _w_end=$((_w_t0 + _w_ms)) _w_n=0 _w_rc _w_f=$_OC_SCRATCH/stays.$BASHPID.${#FUNCNAME[@]}
  while :; do
    _w_n=$((_w_n + 1))
    "$@" >"$_w_f.1" 2>"$_w_f.2"; _w_rc=$?
    [ $_w_rc -ne 1 ] && break
    [ "$(now_ms)" -ge $_w_end ] && return 0
    sleep 0.05
  done
  cat "$_w_f.1" "$_w_f.2" >&2
  if [ $_w_rc -eq 0 ]; then
    echo "stays_false: became true after $(($(now_ms) - _w_t0)) ms (try $_w_n): $(_tap_cmdline "$@")" >&2
  else
    echo "stays_false: the probe failed with exit status $_w_rc (try $_w_n): $(_tap_cmdline "$@")" >&2
  fi
  return 1
}

# not CMD... — negate CMD (for tap_ok/wait_until, where `!` cannot be passed). An error status (2 and
# above, as grep, test and the probes here use it) stays an error: it is never read as "no".
not() {
  "$@"
  case $? in 0) return 1 ;; 1) return 0 ;; *) return 2 ;; esac
}

# in_dir DIR CMD... — CMD run in DIR (in a subshell).
in_dir() { (cd "$1" && shift && "$@"); }

# pid_gone PID — the process PID has exited (2 for an empty or malformed PID).
pid_gone() { [[ ${1:-} =~ ^[0-9]+$ ]] || return 2; ! kill -0 "$1" 2>/dev/null; }

# median N... — the median of whole numbers (the lower middle one for an even count).
median() { [ $# -gt 0 ] || return 2; printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# ---------------------------------------------------------------- TAP
#
# Every test declares its plan first: tap_plan N. run-all.sh counts planned cases that never ran
# (after tap_bail or an early exit) as failed. A failing case is followed by `# ` lines that say why:
# the command, its exit status and its output (tap_ok, tap_run), or what was wanted and what was got
# (tap_eq, tap_match, tap_contains). Every line of a diagnostic is prefixed with "# ", control
# characters show as "?", and long outputs are cut to their last TAP_DIAG_LINES lines (logs to
# TAP_LOG_LINES).

TAP_DIAG_LINES=${TAP_DIAG_LINES:-40}
TAP_LOG_LINES=${TAP_LOG_LINES:-100}
TAP_DIAG_COLS=${TAP_DIAG_COLS:-400}

# tap_plan N — print the plan "1..N"; tap_done checks that N cases ran.
tap_plan() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || { echo "Bail out! tap_plan: not a number: '${1:-}'"; exit 1; }
  _TAP_PLAN=$1
  echo "1..$1"
  command -v jq >/dev/null || tap_bail "jq is missing (tests/setup.sh installs it)"
}

# _tap_comment [PREFIX] — stdin as TAP comment lines.
_tap_comment() {
  LC_ALL=C tr '\000-\010\013-\037\177' '?' |
    LC_ALL=C awk -v p="${1:-}" -v max="$TAP_DIAG_LINES" -v cols="$TAP_DIAG_COLS" '
      { l[NR % max] = $0 }
      END {
        s = NR > max ? NR - max + 1 : 1
        if (s > 1) print "# " p "(" s - 1 " earlier lines left out)"
        for (i = s; i <= NR; i++) {
          x = l[i % max]
          if (length(x) > cols) x = substr(x, 1, cols) "..."
          print "# " p x
        }
      }'
}

# tap_diag TEXT... — TEXT as TAP comments, one "# " line per line.
tap_diag() { printf '%s\n' "$*" | _tap_comment; }

# _tap_show LABEL VALUE — "# LABEL: VALUE" for one line, else "# LABEL:" and the lines indented.
_tap_show() {
  if [ -z "$2" ]; then echo "# $1: (empty)"
  elif [[ $2 != *$'\n'* ]]; then printf '%s: %s\n' "$1" "$2" | _tap_comment
  else echo "# $1:"; printf '%s\n' "$2" | _tap_comment "  "
  fi
}
# _tap_show_file LABEL FILE — the file's content as _tap_show does, if it has any.
_tap_show_file() {
  [ -s "$2" ] || return 0
  echo "# $1:"
  _tap_comment "  " <"$2"
}
# _tap_cmdline CMD... — CMD as one shell-like line: arguments with other than plain characters are quoted.
_tap_cmdline() {
  local a s=
  for a in "$@"; do
    [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]] || a="'${a//\'/\'\\\'\'}'"
    s+="${s:+ }$a"
  done
  printf '%s' "$s"
}

# _tap_line ok|"not ok" DESC [DIRECTIVE] — one case line. DESC stays on its line and a "#" in it is
# escaped, so that it never reads as a directive.
_tap_line() {
  local d=${2//$'\n'/ }
  d=${d//\#/\\#}
  echo "$1 $_TAP_N - $d${3:+ # $3}"
}
_TAP_TODO=
_tap_pass() { _TAP_N=$((_TAP_N + 1)); _tap_line ok "$1" "${_TAP_TODO:+TODO $_TAP_TODO}"; }
_tap_not_ok() {
  _TAP_N=$((_TAP_N + 1))
  [ -n "$_TAP_TODO" ] || _TAP_FAIL=$((_TAP_FAIL + 1))
  _tap_line "not ok" "$1" "${_TAP_TODO:+TODO $_TAP_TODO}"
}

# tap_todo WHY TAP-CHECK... — run the case (tap_ok, tap_eq...) as a known defect, not yet fixed: its
# failure is reported but fails nothing; once it passes, TAP readers (meson) report it, so the TODO
# comes off.
tap_todo() {
  local _t_rc
  _TAP_TODO=${1//#/}
  shift
  "$@"; _t_rc=$?
  _TAP_TODO=
  return $_t_rc
}

# tap_ok DESC CMD... — ok when CMD exits 0. On failure: the command, its exit status and its output.
tap_ok() {
  local _t_desc=$1; shift
  if [ $# -eq 0 ]; then _tap_not_ok "$_t_desc"; tap_diag "tap_ok: no command to check"; return 1; fi
  local _t_f=$_OC_SCRATCH/ok.$BASHPID _t_rc
  "$@" >"$_t_f" 2>&1; _t_rc=$?
  if [ $_t_rc -eq 0 ]; then _tap_pass "$_t_desc"; return 0; fi
  _tap_not_ok "$_t_desc"
  _tap_show command "$(_tap_cmdline "$@")"
  echo "# exit status: $_t_rc"
  _tap_show_file output "$_t_f"
  return 1
}

# tap_run DESC WANT CMD... — run CMD; its stdout goes to OUT, its stderr to ERR (both without the
# trailing newlines, as $(...) gives them), its exit status to RC. ok when RC is WANT: a number, or
# "!0" for any failure. On failure: the command, the exit status and both outputs.
tap_run() {
  local _t_desc=$1 _t_want=$2; shift 2
  local _t_f=$_OC_SCRATCH/run.$BASHPID
  "$@" >"$_t_f.1" 2>"$_t_f.2"; RC=$?
  OUT=$(cat "$_t_f.1"); ERR=$(cat "$_t_f.2")
  if [ "$_t_want" = '!0' ] && [ $RC -ne 0 ] || [ "$_t_want" = "$RC" ]; then _tap_pass "$_t_desc"; return 0; fi
  _tap_not_ok "$_t_desc"
  _tap_show command "$(_tap_cmdline "$@")"
  echo "# exit status: $RC (want $_t_want)"
  _tap_show stdout "$OUT"
  _tap_show stderr "$ERR"
  return 1
}

# tap_eq DESC WANT GOT — ok when GOT is WANT.
tap_eq() {
  if [ "$2" = "$3" ]; then _tap_pass "$1"; return 0; fi
  _tap_not_ok "$1"; _tap_show want "$2"; _tap_show got "$3"; return 1
}
# tap_match DESC ERE TEXT — ok when a line of TEXT matches the extended regular expression ERE.
tap_match() {
  if grep -Eq -e "$2" <<<"$3"; then _tap_pass "$1"; return 0; fi
  _tap_not_ok "$1"; _tap_show "want a line matching" "$2"; _tap_show got "$3"; return 1
}
# tap_contains DESC STRING TEXT — ok when TEXT contains STRING (literally).
tap_contains() {
  if [[ -n $2 && $3 == *"$2"* ]]; then _tap_pass "$1"; return 0; fi
  _tap_not_ok "$1"; _tap_show "want text containing" "$2"; _tap_show got "$3"; return 1
}

# tap_fail DESC [WHY] — a failed case. tap_skip DESC [WHY] — a skipped one.
tap_fail() { _tap_not_ok "$1"; [ $# -lt 2 ] || tap_diag "$2"; return 1; }
tap_skip() { _TAP_N=$((_TAP_N + 1)); _tap_line ok "$1" "SKIP ${2:-}"; }

# tap_logs — the tail of this test's logs (model, OpenCode, daemon, daemon events) as diagnostics.
tap_logs() {
  local f
  for f in "${FAKE_LOG:-}" "${OC_LOG:-}" "${OCSTOPD_LOG:-}" "${T:+$T/monitor.jsonl}"; do
    [ -n "$f" ] && [ -s "$f" ] || continue
    echo "# last lines of $f:"
    tail -n "$TAP_LOG_LINES" "$f" | TAP_DIAG_LINES=$TAP_LOG_LINES _tap_comment "  "
  done
}

# tap_bail MSG — abort the whole test: the cases not run count as failed.
tap_bail() {
  echo "Bail out! $*"
  [ -z "$_TAP_PLAN" ] || echo "# $((_TAP_PLAN - _TAP_N)) of $_TAP_PLAN planned cases not run"
  tap_logs
  exit 1
}

# tap_done — check the plan and exit with the failure status.
tap_done() {
  if [ -z "$_TAP_PLAN" ]; then echo "1..$_TAP_N"; echo "# no plan declared (tap_plan)"; _TAP_FAIL=$((_TAP_FAIL + 1))
  elif [ "$_TAP_PLAN" != "$_TAP_N" ]; then echo "# planned $_TAP_PLAN tests but ran $_TAP_N"; _TAP_FAIL=$((_TAP_FAIL + 1)); fi
  [ "$_TAP_FAIL" -eq 0 ] && exit 0
  tap_logs
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
# FAKE_TICK_MS: how often a streamed reply sends its next part (default 100).
fake_llm_start() {
  local dir=$1
  mkdir -p "$dir"
  FAKE_LOG=$dir/fake-llm.log
  : >"$FAKE_LOG"
  local out=$dir/fake-llm.out
  node "$OC_TESTS_DIR/fake-llm.mjs" --port 0 --log "$FAKE_LOG" --tick-ms "${FAKE_TICK_MS:-100}" >"$out" 2>"$dir/fake-llm.err" </dev/null &
  FAKE_PID=$!
  oc_track "$FAKE_PID"
  if ! wait_until 30 grep -qs '^listening ' "$out"; then
    echo "fake_llm_start: no 'listening' line" >&2; cat "$dir/fake-llm.err" >&2; return 1
  fi
  FAKE_PORT=$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$out" | head -n1)
  FAKE_URL=http://127.0.0.1:$FAKE_PORT
  export FAKE_PORT FAKE_URL FAKE_LOG FAKE_PID
}

fake_stats() { curl -s -m 2 "$FAKE_URL/__stats"; }
# fake_stat KEY — a number from the fake model's /__stats; 2 when it does not answer with one.
fake_stat() {
  local v
  v=$(fake_stats | jq -e ".$1" 2>/dev/null) && [[ $v =~ ^[0-9]+$ ]] ||
    { echo "the fake model at $FAKE_URL gave no $1" >&2; return 2; }
  echo "$v"
}
# fake_requests — number of chat requests so far.
fake_requests() { fake_stat requests; }
# fake_open_streams — number of "stream" responses still open.
fake_open_streams() { fake_stat open_streams; }
# Probes: 0 yes, 1 no, 2 could not tell; they print what they saw.
fake_has_open_stream() { local n; n=$(fake_open_streams) || return 2; echo "open model streams: $n" >&2; [ "$n" -gt 0 ]; }
fake_no_open_stream() { local n; n=$(fake_open_streams) || return 2; echo "open model streams: $n" >&2; [ "$n" = 0 ]; }
# fake_requests_gt N — true when more than N chat requests arrived (2 if N is not a number).
fake_requests_gt() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || { echo "fake_requests_gt: not a count: '${1:-}'" >&2; return 2; }
  local n; n=$(fake_requests) || return 2
  echo "model requests: $n (were $1)" >&2
  [ "$n" -gt "$1" ]
}
# fake_streaming_since N — a "stream" request made after the Nth request has its stream open.
fake_streaming_since() {
  fake_has_open_stream || return $?
  local k
  k=$(jq -R --argjson n "$1" 'fromjson? | select(.n > $n and .kind == "stream") | .n' "$FAKE_LOG") || return 2
  echo "stream requests after #$1: ${k//$'\n'/ }" >&2
  [ -n "$k" ]
}
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
# stream_plain SID TEXT — prompt; wait until the model streams the reply (a new stream request is open).
# With an event capture (sse_capture_start) it first waits for SID's last turn to be over.
stream_plain() {
  local n; n=$(fake_requests) || return 1
  turn_over "$1" && oc_prompt "$1" "$2" && wait_until 30 fake_streaming_since "$n"
}
# turn_over SID — wait (30 s at most) until OpenCode has ended SID's last turn, when this test
# records OpenCode's events (SSE_FILE, for OC_URL's server); else true.
turn_over() { [ -z "${SSE_FILE:-}" ] || wait_until 30 sse_turn_over "$SSE_FILE" "$1"; }

# history_clean SID — no user message with text x (any case/space) and no user message without parts.
history_clean() {
  oc_get "/session/$1/message" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const msgs = JSON.parse(s);
      const bad = msgs.filter((m) => m.info.role === "user" &&
        (m.parts.length === 0 || m.parts.some((p) => p.type === "text" && p.text.trim().toLowerCase() === "x")));
      console.error(`${msgs.length} messages; offending user messages: ${JSON.stringify(bad)}`);
      process.exit(bad.length || !msgs.length ? 1 : 0); });'
}
# oc_abort SID — POST /session/SID/abort; echoes the body ("true").
oc_abort() { oc_curl -X POST "$OC_URL/session/$1/abort"; }

# oc_status [DIR] — GET /session/status (for DIR, default: server cwd).
oc_status() {
  if [ -n "${1:-}" ]; then oc_curl -f "$OC_URL/session/status?directory=$(_urlenc "$1")"; else oc_curl -f "$OC_URL/session/status"; fi
}
# oc_status_of SID [DIR] — idle|busy|retry (idle when absent from the map). 2 for a malformed SID: an
# unknown id would always read as idle.
oc_status_of() {
  [[ ${1:-} =~ ^ses_[A-Za-z0-9]+$ ]] || { echo "oc_status_of: not a session id: '${1:-}'" >&2; return 2; }
  local s t
  s=$(oc_status "${2:-}") || return 2
  t=$(jq -er --arg id "$1" '.[$id].type // "idle"' <<<"$s") || { echo "oc_status_of: $s" >&2; return 2; }
  echo "$t"
}
_oc_status_is() { local t; t=$(oc_status_of "$2" "${3:-}") || return 2; echo "OpenCode: $2 $t" >&2; [ "$t" = "$1" ]; }
oc_is_busy() { _oc_status_is busy "$@"; }
oc_is_idle() { _oc_status_is idle "$@"; }
oc_is_retry() { _oc_status_is retry "$@"; }

# sse_capture_start FILE — record OpenCode's /global/event stream (of OC_URL) in FILE; SSE_FILE.
sse_capture_start() {
  local out=$1
  oc_curl -N -m 600 "$OC_URL/global/event" >"$out" 2>/dev/null &
  SSE_PID=$! SSE_FILE=$out
  oc_track "$SSE_PID"
  wait_until 30 grep -qs server.connected "$out"
}
# sse_count FILE ERE — how many recorded events match ERE. sse_count_gt FILE ERE N — more than N.
sse_count() { grep -Ec -e "$2" "$1"; }
# sse_toasts FILE REGEX — how many toasts (tui.toast.show: every client may show them) whose message
# matches REGEX (extended, anchored; a prompt_async x's toast ends with its session's id, which chat
# bridges read it by) FILE recorded.
sse_toasts() { sse_count "$1" "\"type\":\"tui\.toast\.show\",\"properties\":\{\"message\":\"$2( ses_[A-Za-z0-9]+)?\""; }
sse_toasts_gt() { local n; n=$(sse_toasts "$1" "$2"); echo "toasts matching $2: $n (were $3)" >&2; [ "$n" -gt "$3" ]; }
sse_count_gt() { local n; n=$(sse_count "$1" "$2"); echo "events matching $2: $n (were $3)" >&2; [ "$n" -gt "$3" ]; }
# sse_parts_for FILE SID — count message.part events about SID in FILE.
sse_parts_for() { sse_count "$1" "\"type\":\"message\\.part[^\"]*\".*\"sessionID\":\"$2\""; }
# sse_turn_over FILE SID — OpenCode has ended SID's last turn: the last of SID's status, idle, message
# and part events in FILE is session.idle (true for a session with none). After an abort OpenCode
# says idle twice: at once, and again when the turn's runner has ended; a prompt sent between the two
# joins the ending runner and is left unanswered, so a new turn waits for this. message.removed is no
# part of a turn (the shim has a blocked message removed from the screens after the stop).
sse_turn_over() {
  [ -r "$1" ] || return 2
  local last
  last=$(grep -Eo "\"type\":\"(session\.(status|idle)|message\.(updated|part\.[a-z]+))\",\"properties\":\{\"sessionID\":\"$2\"" "$1" |
    tail -n1 | cut -d'"' -f4) || return 2
  echo "last event of $2: ${last:-none}" >&2
  [ -z "$last" ] || [ "$last" = session.idle ]
}
# sse_has_parts FILE SID — FILE has recorded part events about SID.
sse_has_parts() { local n; n=$(sse_parts_for "$@"); echo "part events of $2: $n" >&2; [ "$n" -gt 0 ]; }

# idle_timer_start — start tests/lib/time-to-idle.mjs for $OC_URL as a coprocess; wait until it is
# subscribed to the events.
idle_timer_start() {
  coproc IDLE_TIMER { exec node "$OC_LIB_DIR/time-to-idle.mjs" "$OC_URL" "${OC_PASSWORD:-}"; }
  oc_track "$IDLE_TIMER_PID"
  local l=
  read -r -t 30 l <&"${IDLE_TIMER[0]}"
  [ "$l" = ready ] || { echo "time-to-idle.mjs did not start: ${l:-no output}" >&2; return 1; }
}
# time_to_idle SID (--abort | TEXT) — set IDLE_MS to the milliseconds from the abort or the prompt
# TEXT to SID's idle event (SID must be streaming). 1 with the reason on stderr when that fails. (The
# coprocess's descriptors do not reach subshells: call it in the test's own shell, not in $(...).)
time_to_idle() {
  local req l=
  IDLE_MS=
  if [ "$2" = --abort ]; then req="abort $1"; else req="say $1 $2"; fi
  [[ $req != *$'\n'* ]] || { echo "time_to_idle: a newline in '$2'" >&2; return 2; }
  echo "$req" >&"${IDLE_TIMER[1]}" || { echo "time_to_idle: the timer is gone" >&2; return 2; }
  read -r -t 70 l <&"${IDLE_TIMER[0]}"
  [[ $l =~ ^[0-9]+$ ]] || { echo "time_to_idle $req: ${l:-no answer in 70 s}" >&2; return 1; }
  IDLE_MS=$l
}

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
# oc_proc_pid ERE [PID] — the pid of a descendant of PID (default OC_PID) whose cmdline matches ^ERE$.
# Looks only under this test's opencode, so parallel tests do not see each other's processes.
oc_proc_pid() { oc_descendant_cmdlines "${2:-$OC_PID}" | grep -E "^[0-9]+ $1\$" | head -n1 | cut -d' ' -f1 | grep .; }
oc_proc_running() { oc_proc_pid "$@" >/dev/null; }
