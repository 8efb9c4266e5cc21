#!/bin/bash
# man.sh — the man pages (docs/man/): each renders without a warning from man or groff, wide or at
# 80 columns, in a UTF-8 locale or none; carries the version the binaries report; documents every
# command and option the programs' --help lists; ocstop.conf(5)'s example loads; ocstop-protocol(7)
# holds all of proto/PROTOCOL.md and md2scd.py converts each Markdown construct (or refuses it).
set -u
. "$(dirname "$0")/lib/oc.sh"
. "$(dirname "$0")/lib/ocstop.sh"
. "$(dirname "$0")/lib/help.sh"

# One locale whatever the caller's: what groff prints and how sort orders depend on it.
export LC_ALL=C.UTF-8
MAN_DIR=$OCSTOP_BUILDDIR/docs/man
PAGES=(ocstop.1 ocstopd.8 ocstop.conf.5 ocstop-protocol.7)
PLAN=30
tap_plan $PLAN
tmp_dir_new T

if ! [ -f "$MAN_DIR/ocstop.1" ] || ! command -v man >/dev/null; then
  for ((i = 0; i < PLAN; i++)); do tap_skip "man page check $((i + 1))" "no man pages built (-Dman) or no man"; done
  tap_done
  exit 0
fi

# render PAGE [ENV...] — the page as man shows it; its warnings go to stderr. Not on a terminal, man
# neither pages nor keeps the bold.
render() {
  local page=$1; shift
  env "$@" man --warnings -l "$page"
}
# text PAGE — the page on one very wide line per paragraph, never hyphenated: what a grep can read.
text() { MANWIDTH=1000 man --nh --nj -l "$1" 2>/dev/null; }
# section TEXT NAME — the lines of section NAME of a rendered page.
section() { awk -v s="$2" '/^[A-Z]/ { on = ($0 == s); next } on' <<<"$1"; }
# silent PAGE ENV... — the page renders, to something, with nothing on stderr.
silent() {
  local out err
  out=$(render "$@" 2>"$T/err") || { echo "man failed"; cat "$T/err"; return 1; }
  err=$(cat "$T/err")
  [ -z "$err" ] || { echo "$err"; return 1; }
  [ "$(wc -l <<<"$out")" -gt 10 ] || { echo "rendered to almost nothing: $out"; return 1; }
}

for p in "${PAGES[@]}"; do
  tap_ok "$p renders silently (C.UTF-8)" silent "$MAN_DIR/$p" LC_ALL=C.UTF-8
  tap_ok "$p renders silently at 80 columns" silent "$MAN_DIR/$p" LC_ALL=C.UTF-8 MANWIDTH=80
  tap_ok "$p renders silently in the C locale (ASCII)" silent "$MAN_DIR/$p" LC_ALL=C MANWIDTH=80
done

version=$("$OCSTOPD_BIN" --version | awk '{ print $2 }')
footers=$(for p in "${PAGES[@]}"; do text "$MAN_DIR/$p" | tail -n 1 | awk '{ print $1, $2 }'; done | sort -u)
tap_eq "every page's footer names the version ocstopd reports" "ocstop $version" "$footers"

# page_options TEXT — the options the OPTIONS section of a rendered page has an entry for.
page_options() {
  section "$1" OPTIONS | grep -E '^       -' | grep -oE -- '--?[A-Za-z][A-Za-z-]*' | sort -u
}
cli_page=$(text "$MAN_DIR/ocstop.1")
cli_commands=$(help_commands)
page_commands=$(section "$cli_page" COMMANDS | grep -oE '^       [a-z][a-z-]*' | tr -d ' ')
tap_ok "ocstop --help lists commands" test -n "$cli_commands"
tap_ok "ocstop(1) has an entry for every command of ocstop --help" missing "$cli_commands" "$page_commands"
tap_ok "ocstop(1) has an entry for every option of ocstop --help" \
  missing "$(help_options "$OCSTOP_BIN")" "$(page_options "$cli_page")"
tap_ok "ocstopd(8) has an entry for every option of ocstopd --help" \
  missing "$(help_options "$OCSTOPD_BIN")" "$(page_options "$(text "$MAN_DIR/ocstopd.8")")"

# The paths a page names are where this build installs (meson's datadir), as the CLI knows them.
shim=$("$OCSTOP_BIN" --help | grep -oE '/[^ ,()]*/ocstop/ocstop\.js' | head -n 1)
if [ -n "$shim" ]; then
  tap_contains "ocstop(1) names the shim where ocstop --help says it is" "$shim" \
    "$(section "$cli_page" FILES)"
else
  tap_skip "ocstop(1) names the shim where ocstop --help says it is" "ocstop --help names no shim"
fi

# The example as the page's source has it (the rendered one is indented).
awk '/^# EXAMPLE/ { s = 1 } s && /^```/ { if (b) exit; b = 1; next } b' \
  "$MAN_DIR/ocstop.conf.5.scd" >"$T/config"
tap_ok "ocstop.conf(5) has an example" grep -q '^stop_words = ' "$T/config"
if "$OCSTOPD_BIN" --help | grep -q -- '--check-config'; then
  mkdir -m 0700 "$T/run"
  tap_run "ocstopd -n loads ocstop.conf(5)'s example" 0 \
    env -u OCSTOP_OPENCODE_URL -u OPENCODE_SERVER_PASSWORD -u OPENCODE_SERVER_USERNAME \
    -u OCSTOP_SOCKET XDG_RUNTIME_DIR="$T/run" "$OCSTOPD_BIN" -n -c "$T/config"
  tap_contains "... and says it is OK" "configuration OK" "$OUT$ERR"
else
  tap_skip "ocstopd -n loads ocstop.conf(5)'s example" "ocstopd --help lists no --check-config"
  tap_skip "... and says it is OK" "ocstopd --help lists no --check-config"
fi

# ocstop-protocol(7): PROTOCOL.md whole, and no Markdown left in it.
proto_md=$OCSTOP_SRCDIR/proto/PROTOCOL.md
proto_page=$(text "$MAN_DIR/ocstop-protocol.7")
want=$( (sed -n 's/^## \(.*\)/\1/p' "$proto_md" | tr '[:lower:]' '[:upper:]'
  sed -n 's/^### \(.*\)/   \1/p' "$proto_md") | tr -d '`*')
tap_ok "every heading of PROTOCOL.md is one of ocstop-protocol(7)" \
  missing "$want" "$(grep -E '^([A-Z]|   [^ ])' <<<"$proto_page")"
want=$(grep -E '^\| *[^-| ]' "$proto_md" | grep -vE '^\| *(what|code|name) *\|' |
  awk -F'|' '{ gsub(/^ +| +$|`/, "", $2); print "       " $2 }')
tap_ok "every row of PROTOCOL.md's tables is an entry of ocstop-protocol(7)" \
  missing "$want" "$proto_page"
tap_ok "no Markdown is left in ocstop-protocol(7)" \
  bash -c '! grep -nE "\`|\*\*|\|-|^ *#" <<<"$1"' - "$proto_page"

# md2scd.py on each construct it takes.
cat >"$T/sample.md" <<'EOF'
# Sample (version 9)

Intro with `code_name`, **bold**, *emphasis*, a [link](https://example.com/x), a
[file link](proto/PROTOCOL.md), an escaped \* and a path_with_underscores…

## Section one

- an item with `a|b`
  continued here
  - a nested item
- [second] item

1. first
2. second

    indented code \n kept

| name | value |
|---|---|
| `one` | 1 with `x|y` |
| two | 2 |

### Sub section

```text
{long: 1, literal: 2, line: 3, that: 4, must: 5, wrap: 6, at: 7, commas: 8, here: 9, ok: 10}
```
- .starts with a dot
EOF
tap_run "md2scd.py converts the sample" 0 python3 "$OCSTOP_SRCDIR/docs/man/md2scd.py" "$T/sample.md" 9.9.9
printf '%s\n' "$OUT" >"$T/sample.scd"
scdoc <"$T/sample.scd" >"$T/sample.7" 2>"$T/scdoc.err"
tap_ok "scdoc takes it and man renders it silently at 80 columns" \
  silent "$T/sample.7" LC_ALL=C MANWIDTH=80
sample=$(render "$T/sample.7" LC_ALL=C.UTF-8 MANWIDTH=80 2>/dev/null)
tap_eq "each construct reads as meant" "$(cat <<'EOF'
NAME
       ocstop-protocol - sample (version 9)
DESCRIPTION
       Intro with code_name, bold, emphasis, a link (https://example.com/x), a
       file link, an escaped * and a path_with_underscores...
SECTION ONE
       •   an item with a|b continued here
           •   a nested item
       •   [second] item
       1.   first
       2.   second
           indented code \n kept
       one
           value: 1 with x|y
       two
           value: 2
   Sub section
           {long: 1, literal: 2, line: 3, that: 4, must: 5, wrap: 6, at: 7,
            commas: 8, here: 9, ok: 10}
       •   .starts with a dot
SEE ALSO
       ocstop(1), ocstopd(8), ocstop.conf(5)
EOF
)" "$(sed -n '/^NAME/,/^SEE ALSO/p;/^SEE ALSO/{n;p;q}' <<<"$sample" | grep -v '^$' |
  sed 's/\xe2\x80\x90/-/g')"
printf '# T\n\n| a | b |\n|---|---|\n| 1 |\n' >"$T/bad.md"
tap_run "md2scd.py refuses a table row that lacks a cell" 1 \
  python3 "$OCSTOP_SRCDIR/docs/man/md2scd.py" "$T/bad.md" 1
tap_contains "... naming its line" "bad.md: line 5: 1 cells where the header has 2" "$ERR"
printf '# T\n\ntext\n\n> quoted\n' >"$T/quote.md"
tap_run "md2scd.py refuses what it does not convert (a block quote)" 1 \
  python3 "$OCSTOP_SRCDIR/docs/man/md2scd.py" "$T/quote.md" 1
tap_done
