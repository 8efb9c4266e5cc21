#!/bin/bash
# completions.sh — the shell completions (client/completions/): bash's driven through its function
# as compgen-based completion calls it, fish's through `complete -C`, zsh's in a pseudo-terminal.
# Commands and options are checked against what `ocstop --help` and `ocstopd --help` list, so a new
# one that is not completed fails here. Session ids come from a stub `ocstop` on PATH that prints a
# status JSON, hangs or fails: a daemon that is down or slow must neither hang the shell nor print.
set -u
. "$(dirname "$0")/lib/oc.sh"
. "$(dirname "$0")/lib/ocstop.sh"
. "$(dirname "$0")/lib/help.sh"

# One locale whatever the caller's: what groff prints and how sort orders depend on it.
export LC_ALL=C.UTF-8
C=$OCSTOP_SRCDIR/client/completions
tap_plan 45
tmp_dir_new T

# The stub: logs its arguments, then does what $T/mode says.
mkdir -p "$T/bin" "$T/files/sub"
touch "$T/files/a.sock" "$T/files/b.conf"
cat >"$T/bin/ocstop" <<EOF
#!/bin/bash
printf '%s\n' "\$*" >>"$T/stub.args"
case \$(cat "$T/mode") in
  json) cat "$T/status.json" ;;
  hang) exec sleep 30 ;;
  fail) echo "ocstop: cannot reach the daemon" >&2; exit 1 ;;
esac
EOF
chmod +x "$T/bin/ocstop"
# An ocstop in the current directory, typed as ./ocstop: a completion must never run it (the folder
# may be anyone's); the sessions come from the ocstop on PATH.
mkdir -p "$T/cwd"
printf '#!/bin/sh\ntouch "%s"\n' "$T/cwd-ran" >"$T/cwd/ocstop"
chmod +x "$T/cwd/ocstop"
echo json >"$T/mode"
# As `ocstop -j status` prints it (a session's keys in proto/wire.c's order), with a title and a
# directory that hold what looks like a running session, escaped as JSON escapes it.
cat >"$T/status.json" <<'EOF'
{"servers":[{"url":"http://127.0.0.1:4096","connected":true,"version":"1.18.33","last_error":null,"transport":"http","pid":0,"implicit":true}],"sessions":[{"id":"ses_busy1","server":"http://127.0.0.1:4096","directory":"/p/a \"b\" {c}\\","parent":null,"status":"busy","title":"t {\"id\":\"ses_fake\",\"server\":null,\"directory\":null,\"parent\":null,\"status\":\"busy\"}"},{"id":"ses_idle1","server":"pid:7","directory":"/p","parent":null,"status":"idle","title":null},{"id":"ses_retry-2","server":"pid:7","directory":null,"parent":"ses_busy1","status":"retry","title":"r"},{"id":"ses_unseen","server":null,"directory":null,"parent":null,"status":null,"title":null}],"sessions_truncated":false,"sessions_left_out":0,"counters":{"aborts":0}}
EOF
# fish loads a command's completion only for a command it finds.
ln -s "$OCSTOPD_BIN" "$T/bin/ocstopd"
export PATH=$T/bin:$PATH

# bash_complete WORD... — what bash completes for the last WORD of the command line WORD...,
# one per line, in a fresh bash with only the completion file loaded; its stderr to $T/bash.err.
bash_complete() {
  bash --norc --noprofile -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    case $1 in ocstopd) _ocstopd ;; *) _ocstop ;; esac
    printf "%s\n" "${COMPREPLY[@]}"' - "$C/ocstop.bash" "$@" 2>"$T/bash.err" | sed '/^$/d' | sort
}

tap_ok "ocstop.bash: bash -n" bash -n "$C/ocstop.bash"
tap_ok "bash: ocstop <TAB> gives the commands of ocstop --help" \
  missing "$(help_commands)" "$(bash_complete ocstop '')"
tap_eq "bash: ... a prefix narrows them" "install-plugin" "$(bash_complete ocstop in)"
all=$(for c in '' $(help_commands); do bash_complete ocstop $c -; done)
tap_ok "bash: every option of ocstop --help is completed (with its command)" \
  missing "$(help_options "$OCSTOP_BIN")" "$all"
got=$(bash_complete ocstop status --)
tap_ok "bash: ocstop status -- gives --limit and the common options" missing "$(printf '%s\n' --limit --socket --json)" "$got"
tap_ok "bash: ... and not abort's" bash -c '! grep -qx -- --all <<<"$1"' - "$got"
tap_ok "bash: ocstop abort -- gives abort's options" \
  missing "$(printf '%s\n' --all --dir --force --no-wait --timeout)" "$(bash_complete ocstop abort --)"
tap_ok "bash: ocstop doctor --j and install-plugin --p" \
  missing "$(printf '%s\n' --json --project)" "$(bash_complete ocstop doctor --j; bash_complete ocstop install-plugin --p)"
cd "$T/files" || exit 1
tap_eq "bash: ocstop --socket <TAB> completes paths" "$(printf 'a.sock\nb.conf\nsub')" \
  "$(bash_complete ocstop --socket '')"
tap_eq "bash: ... also written --socket=" "a.sock" "$(bash_complete ocstop --socket = a)"
tap_eq "bash: ocstop abort --dir <TAB> completes directories" "sub" "$(bash_complete ocstop abort --dir '')"
cd "$T" || exit 1

: >"$T/stub.args"
tap_eq "bash: ocstop abort <TAB> gives the running sessions' ids" "$(printf 'ses_busy1\nses_retry-2')" \
  "$(bash_complete ocstop abort '')"
tap_eq "bash: ... asked of ocstop -j status" "-j status" "$(cat "$T/stub.args")"
: >"$T/stub.args"
tap_eq "bash: ... on the socket the line names" "ses_busy1" \
  "$(bash_complete ocstop --socket /x/o.sock abort ses_b)"
tap_eq "bash: ... (-s /x/o.sock -j status)" "-s /x/o.sock -j status" "$(cat "$T/stub.args")"
echo hang >"$T/mode"
t0=$(now_ms)
got=$(bash_complete ocstop abort '')
t=$(($(now_ms) - t0))
tap_ok "bash: a daemon that does not answer costs at most 2.5 s ($t ms)" test "$t" -lt 2500
tap_eq "bash: ... and gives nothing, silently" "" "$got$(cat "$T/bash.err")"
echo fail >"$T/mode"
tap_eq "bash: a daemon that is down gives nothing, silently" "" \
  "$(bash_complete ocstop abort '')$(cat "$T/bash.err")"
echo json >"$T/mode"
rm -f "$T/cwd-ran"; cd "$T/cwd" || exit 1
tap_eq "bash: ./ocstop abort <TAB> gives the ids from the ocstop on PATH" "$(printf 'ses_busy1\nses_retry-2')" \
  "$(bash_complete ./ocstop abort '')"
tap_ok "bash: ... and never runs ./ocstop" not test -e "$T/cwd-ran"
cd "$T" || exit 1
# The real ocstop on PATH, with no daemon behind its socket.
mkdir -p "$T/real"; ln -s "$OCSTOP_BIN" "$T/real/ocstop"
tap_eq "bash: the real ocstop with no daemon gives nothing, silently" "" \
  "$(PATH=$T/real:$PATH OCSTOP_SOCKET=$T/none/ocstop.sock bash_complete ocstop abort '')$(cat "$T/bash.err")"

tap_ok "bash: every option of ocstopd --help is completed" \
  missing "$(help_options "$OCSTOPD_BIN")" "$(bash_complete ocstopd -)"
cd "$T/files" || exit 1
tap_eq "bash: ocstopd --config <TAB> completes paths" "b.conf" "$(bash_complete ocstopd --config b)"
cd "$T" || exit 1

# As installed: bash-completion loads ocstopd's completion through the link to ocstop's file.
BC=/usr/share/bash-completion/bash_completion
if [ -f "$BC" ]; then
  mkdir -p "$T/share/bash-completion/completions"
  cp "$C/ocstop.bash" "$T/share/bash-completion/completions/ocstop"
  ln -s ocstop "$T/share/bash-completion/completions/ocstopd"
  for p in ocstop ocstopd; do
    tap_match "bash-completion loads $p's completion from the installed layout" "_$p $p\$" \
      "$(XDG_DATA_DIRS=$T/share bash --norc --noprofile -c '
        . "$1"; __load_completion "$2"; complete -p "$2"' - "$BC" "$p" 2>&1)"
  done
else
  tap_skip "bash-completion loads ocstop's completion" "no bash-completion installed"
  tap_skip "bash-completion loads ocstopd's completion" "no bash-completion installed"
fi

# zsh: its completion system driven in a pseudo-terminal (tests/lib/zsh-complete.zsh).
if command -v zsh >/dev/null && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
  # zsh_complete LINE — the matches zsh offers for the end of LINE, sorted.
  zsh_complete() {
    zsh -f "$OCSTOP_SRCDIR/tests/lib/zsh-complete.zsh" "$C" "$T/zsh.out" "$1" || echo "(zsh did not finish)"
    sort -u "$T/zsh.out"
  }
  tap_ok "_ocstop: zsh -n" zsh -n "$C/_ocstop"
  tap_ok "zsh: ocstop <TAB> gives the commands of ocstop --help" \
    missing "$(help_commands)" "$(zsh_complete 'ocstop ')"
  all=$(for c in '' $(help_commands); do zsh_complete "ocstop $c -"; done)
  tap_ok "zsh: every option of ocstop --help is completed (with its command)" \
    missing "$(help_options "$OCSTOP_BIN")" "$all"
  got=$(zsh_complete 'ocstop status --')
  tap_ok "zsh: ocstop status -- gives --limit, not --all" \
    bash -c 'grep -qx -- --limit <<<"$1" && ! grep -qx -- --all <<<"$1"' - "$got"
  tap_ok "zsh: every option of ocstopd --help is completed" \
    missing "$(help_options "$OCSTOPD_BIN")" "$(zsh_complete 'ocstopd -')"
  : >"$T/stub.args"
  t0=$(now_ms)
  tap_eq "zsh: ocstop --socket=/x/o.sock abort <TAB> gives the running sessions' ids" \
    "$(printf 'ses_busy1\nses_retry-2')" "$(zsh_complete 'ocstop --socket=/x/o.sock abort ')"
  t_json=$(($(now_ms) - t0))
  tap_eq "zsh: ... asked of ocstop -s /x/o.sock -j status" "-s /x/o.sock -j status" \
    "$(sort -u "$T/stub.args")"
  echo hang >"$T/mode"
  t0=$(now_ms)
  got=$(zsh_complete 'ocstop abort ')
  t=$(($(now_ms) - t0 - t_json))
  tap_ok "zsh: a daemon that does not answer costs at most 2.5 s more ($t ms), and gives nothing" \
    test "$t" -lt 2500 -a -z "$got"
  echo json >"$T/mode"
  rm -f "$T/cwd-ran"; cd "$T/cwd" || exit 1
  tap_eq "zsh: ./ocstop abort <TAB> gives the ids from the ocstop on PATH" \
    "$(printf 'ses_busy1\nses_retry-2')" "$(zsh_complete './ocstop abort ')"
  tap_ok "zsh: ... and never runs ./ocstop" not test -e "$T/cwd-ran"
  cd "$T" || exit 1
else
  for i in 1 2 3 4 5 6 7 8 9 10; do tap_skip "zsh completion check $i" "no zsh with zsh/zpty"; done
fi

# fish: loaded by name from a completion directory, as installed.
if command -v fish >/dev/null; then
  # fish_complete FISH-COMMAND-LINE — the candidates fish gives, without descriptions.
  fish_complete() {
    fish --no-config -c 'set fish_complete_path $argv[1] $fish_complete_path; complete -C $argv[2]' \
      "$C" "$1" 2>"$T/fish.err" | cut -f1 | sort
  }
  tap_ok "ocstop.fish, ocstopd.fish: fish -n" fish -n "$C/ocstop.fish" "$C/ocstopd.fish"
  tap_ok "fish: ocstop <TAB> gives the commands of ocstop --help" \
    missing "$(help_commands)" "$(fish_complete 'ocstop ')"
  got=$(fish_complete 'ocstop status --')
  tap_ok "fish: ocstop status -- gives --limit, not --all" \
    bash -c 'grep -qx -- --limit <<<"$1" && ! grep -qx -- --all <<<"$1"' - "$got"
  # fish offers the short options for "-", the long ones for "--".
  all=$(for c in '' $(help_commands); do fish_complete "ocstop $c -"; fish_complete "ocstop $c --"; done)
  tap_ok "fish: every option of ocstop --help is completed (with its command)" \
    missing "$(help_options "$OCSTOP_BIN")" "$all"
  tap_ok "fish: every option of ocstopd --help is completed" \
    missing "$(help_options "$OCSTOPD_BIN")" "$(fish_complete 'ocstopd -'; fish_complete 'ocstopd --')"
  : >"$T/stub.args"
  tap_eq "fish: ocstop -s /x/o.sock abort <TAB> gives the running sessions' ids" \
    "$(printf 'ses_busy1\nses_retry-2')" "$(fish_complete 'ocstop -s /x/o.sock abort ')"
  tap_eq "fish: ... asked of ocstop -s /x/o.sock -j status" "-s /x/o.sock -j status" \
    "$(sort -u "$T/stub.args")"
  echo hang >"$T/mode"
  t0=$(now_ms)
  got=$(fish_complete 'ocstop abort ')
  t=$(($(now_ms) - t0))
  tap_ok "fish: a daemon that does not answer costs at most 2.5 s ($t ms), and gives nothing" \
    test "$t" -lt 2500 -a -z "$got$(cat "$T/fish.err")"
  echo json >"$T/mode"
  rm -f "$T/cwd-ran"; cd "$T/cwd" || exit 1
  tap_eq "fish: ./ocstop abort <TAB> gives the ids from the ocstop on PATH" \
    "$(printf 'ses_busy1\nses_retry-2')" "$(fish_complete './ocstop abort ')"
  tap_ok "fish: ... and never runs ./ocstop" not test -e "$T/cwd-ran"
  cd "$T" || exit 1
else
  for i in 1 2 3 4 5 6 7 8 9 10; do tap_skip "fish completion check $i" "fish is not installed"; done
fi
tap_done
