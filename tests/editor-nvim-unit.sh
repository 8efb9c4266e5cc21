#!/bin/bash
# editor-nvim-unit.sh — the Neovim plugin's logic alone (tests/nvim/unit.lua, TAP), and its help file
# builds its tags without a warning. Skipped when nvim is not installed.
set -u
SRC=${OCSTOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
PLUGIN=$SRC/client/nvim
if ! command -v nvim >/dev/null; then
  echo '1..0 # SKIP nvim is not installed'
  exit 0
fi
nvim --headless -u NONE -i NONE --cmd "set rtp^=$PLUGIN" -c "luafile $SRC/tests/nvim/unit.lua" </dev/null 2>&1
rc=$?
# The help file: tags in a copy (the source tree stays clean), no message at all.
T=$(mktemp -d) || exit 1
trap 'rm -rf "$T"' EXIT
cp -r "$PLUGIN/doc" "$T/"
msg=$(nvim --headless -u NONE -i NONE -c "helptags $T/doc" -c 'qa!' </dev/null 2>&1)
if [ -n "$msg" ] || ! grep -q "^:OcStop$(printf '\t')" "$T/doc/tags"; then
  echo "# helptags of doc/ocstop.txt: ${msg:-no tag for :OcStop}"
  echo "Bail out! the help file does not build its tags cleanly"
  exit 1
fi
exit $rc
