#!/bin/bash
# daemon-options.sh — ocstopd's command line and config file as a new user meets them: --help lists
# every option, a stray argument is named, -n checks the settings without starting, and the example
# config (docs/config.example) and the README's example load as they are.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 24
tmp_dir_new T
export XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -p "$XDG_RUNTIME_DIR"
unset OCSTOP_SOCKET OCSTOP_OPENCODE_URL

tap_run "ocstopd start: exit 1" 1 "$OCSTOPD_BIN" start
tap_eq "... naming the argument and where help is" \
  "ocstopd: unexpected argument 'start'"$'\n'"Try 'ocstopd --help'" "$ERR"
tap_run "an unknown option: exit 1" 1 "$OCSTOPD_BIN" --bogus
tap_contains "... with where help is" "Try 'ocstopd --help'" "$ERR"

tap_run "--help: exit 0" 0 "$OCSTOPD_BIN" --help
HELP=$OUT
tap_run "-h is the same" 0 "$OCSTOPD_BIN" -h
tap_eq "... word for word" "$HELP" "$OUT"
# Every option the daemon parses (its getopt table) is in --help, long and short.
OPTS=$(sed -nE 's/^\t\{ "([a-z-]+)", [a-z_]+, NULL, ('"'"'(.)'"'"'|OPT_[A-Z_]+) \},$/\1 \3/p' \
  "$OCSTOP_SRCDIR/daemon/main.c" | sed 's/ $/ -/')
missing=
while read -r long short; do
  grep -Eq -e "--$long( |$)" <<<"$HELP" || missing+=" --$long"
  [ "$short" = - ] || grep -Eq -e "(^| )-$short, --$long( |$)" <<<"$HELP" || missing+=" -$short"
done <<<"$OPTS"
tap_eq "--help lists every option of the getopt table" "" "$missing"
tap_ok "... which was read (14 options at least)" test "$(wc -l <<<"$OPTS")" -ge 14

# -n: the settings checked, nothing started.
tap_run "-n without a config file: exit 0" 0 "$OCSTOPD_BIN" -n
tap_eq "... saying so" \
  "ocstopd: configuration OK (no file at $XDG_CONFIG_HOME/ocstop/config: defaults, environment and options)" \
  "$(head -n 1 <<<"$OUT")"
tap_ok "... and made no socket" test ! -e "$XDG_RUNTIME_DIR/ocstop"
mkdir -p "$XDG_CONFIG_HOME/ocstop"
printf 'stop_words = x, stop   # two words\nopencode_url = http://127.0.0.1:4097 # repeatable\n' \
  >"$XDG_CONFIG_HOME/ocstop/config"
tap_run "-n with the default file: exit 0" 0 "$OCSTOPD_BIN" -n
tap_eq "... naming it" "ocstopd: configuration OK ($XDG_CONFIG_HOME/ocstop/config)" "$(head -n 1 <<<"$OUT")"
tap_eq "... and what is in force: the stop words, the servers, the socket" \
  "$(printf '  stop words: x stop\n  OpenCode: http://127.0.0.1:4097\n  socket: %s' "$XDG_RUNTIME_DIR/ocstop/ocstop.sock")" \
  "$(tail -n 3 <<<"$OUT")"
printf 'stop_words = x, #\n' >"$T/typo.conf"
tap_run "-n: a stop word lost to a comment is an error, not a silent drop" 1 "$OCSTOPD_BIN" -n -c "$T/typo.conf"
printf 'quiet_ms = 100\nstop_word = x\n' >"$T/bad.conf"
tap_run "-n with an unknown key: exit 1" 1 "$OCSTOPD_BIN" -n -c "$T/bad.conf"
tap_eq "... naming the file, the line and the key" "ocstopd: $T/bad.conf:2: unknown key 'stop_word'" "$ERR"
tap_run "-n checks the options too: a bad --opencode, exit 1" 1 \
  "$OCSTOPD_BIN" -n -c "$XDG_CONFIG_HOME/ocstop/config" --opencode http://127.0.0.1:99999
tap_contains "... saying why" "port must be a number from 1 to 65535" "$ERR"
tap_run "-n with a bad URL in the environment: exit 1" 1 \
  env OCSTOP_OPENCODE_URL=http://127.0.0.1:0 "$OCSTOPD_BIN" -n

# The examples load as they are.
tap_run "docs/config.example loads as it is" 0 "$OCSTOPD_BIN" -n -c "$OCSTOP_SRCDIR/docs/config.example"
# Each of its commented settings, uncommented, is the default and loads too.
sed -nE 's/^#([a-z_]+ = .*)/\1/p' "$OCSTOP_SRCDIR/docs/config.example" | grep -v '^password_file' >"$T/example.conf"
keys=$(sed -nE 's/.*strcmp\(key, "([a-z_]+)"\) == 0.*/\1/p' "$OCSTOP_SRCDIR/daemon/core/config.c" | sort)
tap_eq "docs/config.example shows every key the daemon knows" "$keys" \
  "$(sed -nE 's/^#([a-z_]+) = .*/\1/p' "$OCSTOP_SRCDIR/docs/config.example" | sort)"
# The README's example: the block after "Config file `$XDG_CONFIG_HOME/ocstop/config`".
awk '/^Config file `\$XDG_CONFIG_HOME/ {f = 1} f && /^```$/ {n++; next} f && n == 1 {print} n == 2 {exit}' \
  "$OCSTOP_SRCDIR/README.md" >"$T/readme.conf"
tap_ok "the README's example config loads as it is" \
  eval 'test -s "$T/readme.conf" && "$OCSTOPD_BIN" -n -c "$T/readme.conf" && "$OCSTOPD_BIN" -n -c "$T/example.conf"'
tap_done
