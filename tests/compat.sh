#!/bin/bash
# tests/compat.sh — does ocstop work with the OpenCode versions users run? Not part of CI: it
# downloads each version with npm (once, into ${OCSTOP_CACHE:-~/.cache/ocstop}/compat/VERSION),
# runs the x scenarios on each (tests/compat/serve.sh: `opencode serve`, tests/compat/tui.sh: the
# TUI under tmux) with the daemon, CLI and shim of this tree's build, and prints a version ×
# behaviour table. Exit status 0 when every supported version passes everything.
#
#   tests/compat.sh                 the versions below
#   tests/compat.sh 1.15.13 ...     these versions (each counted as supported)
#   OCSTOP_KEEP_TMP=1 tests/compat.sh 1.14.41    keep the logs of the scenarios
#
# The scenarios' TAP goes to ${COMPAT_LOG_DIR:-build/compat}/VERSION-{serve,tui}.tap.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
# The newest patch of each minor from 1.14 on that installs (1.17.20 has no Linux binary: 1.17.19),
# and the first of 1.18. Older ones are tried as best effort: a failure there is reported, not fatal.
SUPPORTED=(1.14.41 1.15.13 1.17.19 1.18.3 1.18.33)
BEST_EFFORT=(1.2.27 1.0.185)
COLUMNS_=(serve-x serve-sync serve-cli tui-x tui-status tui-cli tui-screen)
# How many cases of each column the scenarios run (their plans add up to these).
declare -A CASES=([serve-x]=4 [serve-sync]=4 [serve-cli]=4 [tui-x]=4 [tui-status]=3 [tui-cli]=3 [tui-screen]=1)
CACHE=${OCSTOP_CACHE:-$HOME/.cache/ocstop}/compat
LOGS=${COMPAT_LOG_DIR:-$SRC/build/compat}
export OCSTOP_BUILDDIR=${OCSTOP_BUILDDIR:-$SRC/build}

die() { echo "compat.sh: $*" >&2; exit 2; }
[ -x "$OCSTOP_BUILDDIR/daemon/ocstopd" ] || die "build first: meson setup build && ninja -C build"
command -v tmux >/dev/null && command -v jq >/dev/null && command -v npm >/dev/null ||
  die "needs tmux, jq and npm (tests/setup.sh installs them)"
case $(uname -m) in x86_64) ARCH=x64 ;; aarch64) ARCH=arm64 ;; *) die "no OpenCode binary for $(uname -m)" ;; esac

# install VERSION — the path of OpenCode VERSION's binary, installed into the cache if missing.
# Only the platform's binary package: opencode-ai's postinstall fails on some versions.
install() {
  local v=$1 dir=$CACHE/$1 pkg=opencode-linux-$ARCH
  local bin=$dir/node_modules/$pkg/bin/opencode
  if [ ! -x "$bin" ] || [ "$("$bin" --version 2>/dev/null)" != "$v" ]; then
    mkdir -p "$dir" || return 1
    [ -f "$dir/package.json" ] || echo '{"name":"ocstop-compat","private":true}' >"$dir/package.json"
    echo "# installing $pkg@$v into $dir" >&2
    (cd "$dir" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "$pkg@$v") >&2 || return 1
  fi
  [ "$("$bin" --version 2>/dev/null)" = "$v" ] || { echo "$bin does not say it is $v" >&2; return 1; }
  echo "$bin"
}

if [ $# -gt 0 ]; then SUPPORTED=("$@"); BEST_EFFORT=(); fi
mkdir -p "$LOGS"
declare -A CELL
failed=0
for v in "${SUPPORTED[@]}" "${BEST_EFFORT[@]}"; do
  if ! bin=$(install "$v"); then
    for c in "${COLUMNS_[@]}"; do CELL[$v,$c]="no install"; done
  else
    for s in serve tui; do
      echo "# $v: $s" >&2
      COMPAT_VERSION=$v OPENCODE_BIN=$bin "$SRC/tests/compat/$s.sh" >"$LOGS/$v-$s.tap" 2>&1
      # A column passes when all its cases ran and passed.
      for c in "${COLUMNS_[@]}"; do
        [[ $c == $s-* ]] || continue
        ok=$(grep -c "^ok [0-9]* - \[$c\]" "$LOGS/$v-$s.tap")
        if grep -q "^not ok [0-9]* - \[$c\]" "$LOGS/$v-$s.tap"; then CELL[$v,$c]=FAIL
        elif [ "$ok" -eq "${CASES[$c]}" ]; then CELL[$v,$c]=ok
        else CELL[$v,$c]="not run"; fi
      done
    done
  fi
done

# The table, in Markdown (README.md quotes it).
printf '| OpenCode |'; printf ' %s |' "${COLUMNS_[@]}"; echo
printf '|---|'; printf -- '---|%.0s' "${COLUMNS_[@]}"; echo
for v in "${SUPPORTED[@]}" "${BEST_EFFORT[@]}"; do
  label=$v
  [[ " ${BEST_EFFORT[*]} " == *" $v "* ]] && label="$v (best effort)"
  printf '| %s |' "$label"
  for c in "${COLUMNS_[@]}"; do
    printf ' %s |' "${CELL[$v,$c]}"
    if [ "${CELL[$v,$c]}" != ok ] && [[ " ${SUPPORTED[*]} " == *" $v "* ]]; then failed=1; fi
  done
  echo
done
echo "# the scenarios' TAP: $LOGS" >&2
exit $failed
