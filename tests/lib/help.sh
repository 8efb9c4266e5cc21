# tests/lib/help.sh — what the programs' --help lists, for the tests that check the man pages and
# the completions cover it (source after oc.sh and ocstop.sh).

# help_commands — the commands `ocstop --help` lists, one per line.
help_commands() {
  "$OCSTOP_BIN" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on' |
    grep -oE '^  [a-z][a-z-]*' | tr -d ' ' | sort -u
}

# help_options PROG — the options PROG --help names, one per line; "[-hnV]" is -h, -n and -V.
help_options() {
  "$1" --help | grep -oE -- '(^|[][ ,|(])--?[A-Za-z][A-Za-z-]*' | sed 's/^[^-]*//' |
    awk '/^-[A-Za-z][A-Za-z]+$/ { for (i = 2; i <= length($0); i++) print "-" substr($0, i, 1); next }
      { print }' | sort -u
}

# missing WANTED HAVE — fails, saying which, when a line of WANTED is not a line of HAVE.
missing() {
  local m
  m=$(comm -23 <(sed '/^$/d' <<<"$1" | sort -u) <(sort -u <<<"$2"))
  [ -z "$m" ] || { echo "missing:"; printf '  %s\n' "$m"; return 1; }
}
