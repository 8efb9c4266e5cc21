#!/bin/bash
# packaging/build-and-test.sh — the .deb and the .rpm, built from a clean export of the committed
# tree (git archive HEAD) and tested as a user gets them. For each package:
#   build (with the unit tests), lint (lintian / rpmlint: no error, no warning), a man page for each
#   program, install (apt-get install ./DEB; rpm -i --nodeps on this Debian host), the installed
#   units verified (systemd-analyze --user verify), the socket enabled for every user, socket
#   activation as the installed units say it (systemd-socket-activate: systemd need not be PID 1),
#   the x scenario (tests/integration/x-serve.sh) against the installed programs and shim with the
#   real OpenCode, then removal (apt-get purge; rpm -e) with nothing of the package left.
# Prints TAP with a fixed plan; each case says how long it took. Needs root (it installs
# packages); as another user it skips. The meson test `packaging` (suite 'packaging') runs it;
# packaging/README.md says more.
# When every case passed, the packages are copied to $OCSTOP_PACKAGES_DIR (default
# <source>/build-packages). Environment: OCSTOP_KEEP_TMP=1 keeps the work directory (logs).
set -u
# The steps are functions that step() runs.
# shellcheck disable=SC2317

SRC=$(cd "$(dirname "$0")/.." && pwd)
# As a meson test it runs only when asked: `meson test` as root must not install packages on the
# machine unasked.
if [ "${1:-}" = --when-asked ] && [ "${OCSTOP_PACKAGING:-0}" != 1 ]; then
  echo "1..0 # SKIP installs packages on this machine: set OCSTOP_PACKAGING=1 (tests/run-all.sh does)"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "1..0 # SKIP needs root: it installs and removes packages"
  exit 0
fi
. "$SRC/tests/lib/oc.sh"

tap_plan 25
# Not a tmp_dir_new: the library reads those for sanitizer reports, and this one holds the sources
# (tests/lib/oc.sh's own patterns among them).
W=$(mktemp -d "${TMPDIR:-/tmp}/ocstop-packaging.XXXXXX") || tap_bail "no temp dir"
if [ "${OCSTOP_KEEP_TMP:-0}" = 1 ]; then
  oc_at_exit 'echo "# kept: $W"'
else
  oc_at_exit 'rm -rf "$W"'
fi
mkdir -p "$W/logs"

# secs MS — MS milliseconds as seconds with one decimal.
secs() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }

# step DESC CMD... — run CMD (its output to a log), one TAP case that passes when CMD exits 0 and
# says how long it took; on failure the log's last lines follow. Returns CMD's exit status.
step() {
  local desc=$1 log=$W/logs/$((_TAP_N + 1)).log t0 rc ms; shift
  t0=$(now_ms)
  "$@" >"$log" 2>&1; rc=$?
  ms=$(($(now_ms) - t0))
  if tap_eq "$desc ($(secs $ms) s)" 0 "$rc"; then return 0; fi
  tap_diag "$(_tap_cmdline "$@")"
  tap_diag "$(tail -n "$TAP_LOG_LINES" "$log")"
  return "$rc"
}
# not_run DESC WHY — a case that could not run because an earlier one failed.
not_run() { tap_fail "$1" "not run: $2"; }

# ---------------------------------------------------------------- the source

EXPORT=
VERSION=
export_tree() {
  local dirty
  git -C "$SRC" rev-parse --verify -q HEAD >/dev/null || { echo "$SRC is not a git checkout"; return 1; }
  dirty=$(git -C "$SRC" status --porcelain --untracked-files=no)
  [ -z "$dirty" ] || printf 'not in the packages (not committed):\n%s\n' "$dirty"
  VERSION=$(git -C "$SRC" show HEAD:meson.build | sed -n "s/^ *version: *'\([^']*\)'.*/\1/p" | head -n1)
  [[ $VERSION =~ ^[0-9]+(\.[0-9]+)*$ ]] || { echo "no version in meson.build: '$VERSION'"; return 1; }
  EXPORT=$W/src/ocstop-$VERSION
  mkdir -p "$W/src" "$W/deb" "$W/rpm/SOURCES" "$W/rpm/SPECS" || return 1
  git -C "$SRC" archive --prefix="ocstop-$VERSION/" -o "$W/rpm/SOURCES/ocstop-$VERSION.tar.gz" HEAD &&
    tar -xzf "$W/rpm/SOURCES/ocstop-$VERSION.tar.gz" -C "$W/src" || return 1
  # The packages' changelog dates: the commit's, so that a build of one commit is one build.
  COMMIT_TIME=$(git -C "$SRC" log -1 --format=%ct HEAD)
  echo "ocstop $VERSION, commit $(git -C "$SRC" rev-parse --short HEAD)"
}
step "export the committed tree (git archive HEAD) and read meson.build's version" export_tree ||
  tap_bail "no source to build"
tap_diag "$(head -n 3 "$W/logs/1.log")"

# from_template IN OUT — IN with @VERSION@ and the dates filled in.
from_template() {
  sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$(LC_ALL=C date -u -R -d "@$COMMIT_TIME")/g" \
    -e "s/@RPMDATE@/$(LC_ALL=C date -u -d "@$COMMIT_TIME" '+%a %b %d %Y')/g" "$1" >"$2"
}

# ---------------------------------------------------------------- checks shared by both packages

# man_pages_for_programs FILE-LIST — every program in /usr/bin of the list has its man page there.
man_pages_for_programs() {
  local list=$1 p missing=0
  for p in $(sed -n 's|^/usr/bin/\([^/]*\)$|\1|p' "$list"); do
    if grep -Eq "^/usr/share/man/man[1-8]/$p\.[1-8](\.gz)?\$" "$list"; then
      echo "$p: $(grep -E "^/usr/share/man/man[1-8]/$p\." "$list")"
    else
      echo "$p: no man page"; missing=1
    fi
  done
  return $missing
}

# unit_dir FILE-LIST — where the list puts the user units.
unit_dir() { sed -n 's|/ocstopd\.socket$||p' "$1" | head -n1; }

# verify_units FILE-LIST — systemd-analyze --user verify on the installed units (their syntax, the
# programs they run, the man pages they name).
verify_units() {
  local d; d=$(unit_dir "$1")
  [ -n "$d" ] || { echo "no ocstopd.socket in the package"; return 1; }
  [ -d "$W/verify-run" ] || mkdir -m 0700 "$W/verify-run"
  XDG_RUNTIME_DIR=$W/verify-run systemd-analyze --user verify "$d/ocstopd.socket" "$d/ocstopd.service"
}

ENABLE_LINK=/etc/systemd/user/sockets.target.wants/ocstopd.socket
# enabled_globally FILE-LIST — the package enabled the socket for every user.
enabled_globally() {
  local d; d=$(unit_dir "$1")
  ls -l "$ENABLE_LINK" || return 1
  [ "$(readlink "$ENABLE_LINK")" = "$d/ocstopd.socket" ] || { echo "the link points elsewhere"; return 1; }
  [ "$(systemctl --global is-enabled ocstopd.socket)" = enabled ]
}

# activation NAME FILE-LIST — start the daemon as the installed units say, with systemd's
# activation protocol: systemd-socket-activate listens on the socket's ListenStream= (%t is
# XDG_RUNTIME_DIR) and runs the service's ExecStart= on the first connection, passing the socket.
activation() {
  local name=$1 d run home sock exec_start pid out rc=0
  d=$(unit_dir "$2")
  run=$W/run-$name home=$W/home-$name
  mkdir -m 0700 "$run" && mkdir "$home" || return 1
  sock=$(sed -n 's/^ListenStream=//p' "$d/ocstopd.socket")
  exec_start=$(sed -n 's/^ExecStart=//p' "$d/ocstopd.service")
  [ -n "$sock" ] && [ -n "$exec_start" ] || { echo "no ListenStream= or no ExecStart= in $d"; return 1; }
  sock=${sock//%t/$run}
  echo "ListenStream: $sock; ExecStart: $exec_start"
  # systemd makes the socket's directory (DirectoryMode=); systemd-socket-activate does not.
  mkdir -m 0700 "$(dirname "$sock")" || return 1
  # shellcheck disable=SC2086 # ExecStart= is a command line
  env -u OCSTOP_SOCKET HOME="$home" XDG_CONFIG_HOME="$home/.config" XDG_RUNTIME_DIR="$run" \
    systemd-socket-activate -l "$sock" -- $exec_start >"$W/activate-$name.log" 2>&1 &
  pid=$!
  oc_track "$pid"
  wait_until 10 test -S "$sock" || { echo "no socket at $sock"; return 1; }
  # Nothing but the activator runs until a client connects.
  echo "before the first connection: $(readlink "/proc/$pid/exe")"
  [ "$(readlink "/proc/$pid/exe")" != "${exec_start%% *}" ] || { echo "the daemon started early"; rc=1; }
  # The client finds the socket by the clients' own rule (XDG_RUNTIME_DIR), not by being told.
  out=$(env -u OCSTOP_SOCKET HOME="$home" XDG_RUNTIME_DIR="$run" "$OCSTOP_INSTALLED" -j ping) ||
    { echo "ocstop ping failed: $out"; cat "$W/activate-$name.log"; return 1; }
  echo "ocstop -j ping: $out"
  jq -e --arg v "$VERSION" '.version == $v' <<<"$out" >/dev/null || { echo "not version $VERSION"; rc=1; }
  # The activator execs the service in place: the same process now is the daemon.
  echo "after it: $(readlink "/proc/$pid/exe")"
  [ "$(readlink "/proc/$pid/exe")" = "${exec_start%% *}" ] || { echo "the activator did not run $exec_start"; rc=1; }
  wait_until 5 grep -q 'listening on the socket systemd passed' "$W/activate-$name.log" ||
    { echo "the daemon did not take the socket passed to it"; rc=1; }
  jq -e '.activated == true' <<<"$out" >/dev/null || { echo "ping does not say activated: true"; rc=1; }
  cat "$W/activate-$name.log"
  kill -TERM "$pid" && wait_until 10 exited "$pid" || { echo "the daemon did not end on TERM"; rc=1; }
  wait "$pid" 2>/dev/null
  return $rc
}
# plugin_link — what a user types after the install: the installed ocstop links the installed shim
# into their OpenCode plugins folder, says so, and takes it away again.
plugin_link() {
  local home=$W/home-plugin link out
  mkdir -p "$home" || return 1
  link=$home/.config/opencode/plugins/ocstop.js
  out=$(env -u XDG_CONFIG_HOME -u OCSTOP_SHIM HOME="$home" "$OCSTOP_INSTALLED" install-plugin) || return 1
  echo "install-plugin: $out"
  [ "$(readlink "$link")" = "$SHIM_INSTALLED" ] || { echo "$link is not a link to $SHIM_INSTALLED"; return 1; }
  out=$(env -u XDG_CONFIG_HOME -u OCSTOP_SHIM HOME="$home" "$OCSTOP_INSTALLED" uninstall-plugin) || return 1
  echo "uninstall-plugin: $out"
  [ ! -e "$link" ] && [ ! -L "$link" ] || { echo "$link is still there"; return 1; }
}

# editors_load — the editors' clients load from where the package put them, and :help finds their
# help (the tags made at build): Neovim's by :packadd, Vim's from its folder, Emacs's by require. An
# editor that is not installed is said and left out.
editors_load() {
  local home=$W/home-editors rc=0
  mkdir -p "$home" || return 1
  if command -v nvim >/dev/null; then
    HOME=$home nvim --headless -u NONE -i NONE -c "lua local ok, e = pcall(function()
      vim.cmd('packadd ocstop'); assert(vim.fn.exists(':OcStop') == 2, 'no :OcStop')
      vim.cmd('help :OcStop'); assert(vim.fn.expand('%:t') == 'ocstop.txt', 'no help')
      end) if ok then vim.cmd('qa!') else io.stderr:write(tostring(e), '\\n'); vim.cmd('cquit 1') end" \
      </dev/null && echo "nvim: :packadd ocstop, :help :OcStop" || { echo "nvim: the plugin or its help"; rc=1; }
  else
    echo "nvim: not installed, not tried"
  fi
  if command -v vim >/dev/null; then
    HOME=$home vim -u NONE -N -es -i NONE --cmd "set rtp+=$EDITORS_INSTALLED/vim" \
      -c 'runtime plugin/ocstop.vim' -c 'if exists(":OcStop") != 2 | cquit 1 | endif' \
      -c 'help :OcStop' -c "if expand('%:t') !=# 'ocstop.txt' | cquit 2 | endif" -c 'qa!' </dev/null &&
      echo "vim: the plugin, :help :OcStop" || { echo "vim: the plugin or its help"; rc=1; }
  else
    echo "vim: not installed, not tried"
  fi
  if command -v emacs >/dev/null; then
    HOME=$home emacs -Q --batch -L "$EDITORS_INSTALLED/emacs" \
      --eval "(progn (require 'ocstop) (unless (commandp 'ocstop-stop) (kill-emacs 1)))" &&
      echo "emacs: (require 'ocstop)" || { echo "emacs: ocstop.el"; rc=1; }
  else
    echo "emacs: not installed, not tried"
  fi
  return $rc
}

# exited PID — the child PID has exited (gone, or a zombie not yet waited for).
exited() { [ ! -e "/proc/$1" ] || [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

# x_scenario — tests/integration/x-serve.sh of this commit against the installed programs and shim.
X_CASES=
x_scenario() {
  local rc
  OCSTOPD_BIN=$OCSTOPD_INSTALLED OCSTOP_BIN=$OCSTOP_INSTALLED OCSTOP_SHIM_SRC=$SHIM_INSTALLED \
    OCSTOP_SRCDIR=$EXPORT OCSTOP_BUILDDIR=$W/no-build "$EXPORT/tests/integration/x-serve.sh"
  rc=$?
  X_CASES="$(grep -c '^ok ' "$W/logs/$((_TAP_N + 1)).log") of $(sed -n 's/^1\.\.//p' "$W/logs/$((_TAP_N + 1)).log")"
  return $rc
}

# nothing_left FILE-LIST — no file of the list is left, nor a directory no other package owns, nor
# the enable link, nor deb-systemd-helper's record of it.
nothing_left() {
  local p left=0
  while read -r p; do
    [ -e "$p" ] || [ -L "$p" ] || continue
    if [ -d "$p" ] && [ ! -L "$p" ]; then
      dpkg -S "$p" >/dev/null 2>&1 && continue
      echo "left: directory $p"
    else
      echo "left: $p"
    fi
    left=1
  done <"$1"
  if [ -e "$ENABLE_LINK" ] || [ -L "$ENABLE_LINK" ]; then echo "left: $ENABLE_LINK"; left=1; fi
  if find /var/lib/systemd/deb-systemd-user-helper-enabled -name '*ocstopd*' 2>/dev/null | grep .; then
    left=1
  fi
  [ $left = 0 ] && echo "nothing left of $(wc -l <"$1") paths"
  return $left
}

OCSTOPD_INSTALLED=/usr/bin/ocstopd
OCSTOP_INSTALLED=/usr/bin/ocstop
EDITORS_INSTALLED=/usr/share/ocstop/editors
SHIM_INSTALLED=/usr/share/ocstop/ocstop.js

# ---------------------------------------------------------------- Debian

build_deb() {
  local d=$W/deb/ocstop-$VERSION
  cp -a "$EXPORT" "$d" && cp -a "$d/packaging/debian" "$d/debian" &&
    from_template "$d/debian/changelog.in" "$d/debian/changelog" && rm "$d/debian/changelog.in" || return 1
  (cd "$d" && dpkg-buildpackage -us -uc -b) || return 1
  PKGFILE=$(ls "$W"/deb/ocstop_"$VERSION"-*_*.deb) && [ -f "$PKGFILE" ] && keep_package &&
    dpkg-deb -c "$PKGFILE" |
    awk '{ p = substr($6, 2); if (p != "/") { sub("/$", "", p); print p } }' >"$W/deb-files"
}
lint_deb() { lintian --fail-on error,warning "$W"/deb/ocstop_"$VERSION"-*_*.changes; }
install_deb() {
  dpkg-query -W -f='${db:Status-Status}' ocstop 2>/dev/null | grep -qx installed &&
    { echo "ocstop is installed already (dpkg): apt-get purge ocstop first"; return 1; }
  rpm -q ocstop >/dev/null 2>&1 && { echo "ocstop is installed by rpm: rpm -e ocstop first"; return 1; }
  oc_at_exit 'dpkg -s ocstop >/dev/null 2>&1 && apt-get purge -y -q ocstop >/dev/null'
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$PKGFILE" &&
    dpkg -L ocstop | grep -v '^/\.$' >"$W/deb-installed"
}
remove_deb() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ocstop; }

# ---------------------------------------------------------------- RPM (rpm 4.18 on this Debian host)

build_rpm() {
  local spec=$W/rpm/SPECS/ocstop.spec
  from_template "$EXPORT/packaging/rpm/ocstop.spec.in" "$spec" || return 1
  # --nodeps: the BuildRequires are Fedora's names, which this host's rpm database does not hold;
  # the macros file stands in for Fedora's (packaging/README.md).
  rpmbuild -ba --nodeps --load "$EXPORT/packaging/rpm/macros.debian-host" --define "_topdir $W/rpm" \
    "$spec" || return 1
  PKGFILE=$(ls "$W"/rpm/RPMS/*/ocstop-"$VERSION"-*.rpm) && [ -f "$PKGFILE" ] && keep_package &&
    rpm -qlp "$PKGFILE" >"$W/rpm-files"
}
lint_rpm() {
  rpmlint -c "$EXPORT/packaging/rpm/rpmlint-debian-host.toml" "$PKGFILE" "$W"/rpm/SRPMS/*.src.rpm \
    "$W/rpm/SPECS/ocstop.spec" | tee "$W/rpmlint.out"
  grep -q ' 0 errors, 0 warnings' "$W/rpmlint.out"
}
install_rpm() {
  rpm -q ocstop >/dev/null 2>&1 && { echo "ocstop is installed already (rpm): rpm -e ocstop first"; return 1; }
  # rpm -i --nodeps would overwrite dpkg's files, and rpm -e delete them.
  dpkg-query -W -f='${db:Status-Status}' ocstop 2>/dev/null | grep -qx installed &&
    { echo "ocstop is installed by dpkg: apt-get purge ocstop first"; return 1; }
  [ ! -e "$OCSTOPD_INSTALLED" ] || { echo "$OCSTOPD_INSTALLED exists (another install): not overwritten"; return 1; }
  oc_at_exit 'rpm -q ocstop >/dev/null 2>&1 && rpm -e --nodeps ocstop'
  rpm -i --nodeps "$PKGFILE" && rpm -ql ocstop >"$W/rpm-installed"
}
remove_rpm() { rpm -e ocstop; }

# ---------------------------------------------------------------- the cases

# package_cases P BUILD LINT INSTALL REMOVE — the twelve cases of package P (deb, rpm): build_P,
# lint_P, install_P and remove_P do the work (BUILD, LINT, INSTALL, REMOVE name it); build_P sets
# PKGFILE and writes P-files, install_P writes P-installed. A case whose ground failed is not run.
package_cases() {
  local p=$1 build=$2 lint=$3 install=$4 remove=$5 why='' c list=$W/$1-installed
  step "$p: $build (with the unit tests)" "build_$p" || why="the package did not build"
  if [ -z "$why" ]; then
    step "$p: $lint" "lint_$p"
    step "$p: every program has its man page" man_pages_for_programs "$W/$p-files"
    step "$p: $install$(basename "$PKGFILE")" "install_$p" || why="the package did not install"
  else
    for c in "$lint" "man pages" "${install% }"; do not_run "$p: $c" "$why"; done
  fi
  if [ -n "$why" ]; then
    for c in "units verified" "enabled" "activation" "install-plugin" "editors" "x scenario" "$remove" \
      "nothing left"; do
      not_run "$p: $c" "$why"
    done
    return
  fi
  step "$p: systemd-analyze --user verify on the installed units" verify_units "$list"
  step "$p: the socket is enabled for every user ($ENABLE_LINK)" enabled_globally "$list"
  step "$p: socket activation as the installed units say; ocstop ping answers" activation "$p" "$list"
  step "$p: ocstop install-plugin links the installed shim; uninstall-plugin takes it away" plugin_link
  step "$p: the editors' clients load from where the package put them" editors_load
  step "$p: the x scenario (x-serve.sh) against the installed programs and shim" x_scenario
  tap_diag "x-serve.sh: $X_CASES cases passed"
  if step "$p: $remove" "remove_$p"; then
    step "$p: nothing of the package is left" nothing_left "$list"
  else
    not_run "$p: nothing left" "$remove failed"
  fi
}

# The packages built, kept for the user (README: Install) once tested.
OUT=${OCSTOP_PACKAGES_DIR:-$SRC/build-packages}
BUILT=()
keep_package() { BUILT+=("$PKGFILE"); }

package_cases deb "dpkg-buildpackage -b" "lintian --fail-on error,warning" "apt-get install ./" \
  "apt-get purge ocstop"
package_cases rpm "rpmbuild -ba --nodeps" "rpmlint (0 errors, 0 warnings; this host's filters)" \
  "rpm -i --nodeps " "rpm -e ocstop"

if [ "${#BUILT[@]}" -gt 0 ] && [ "$_TAP_FAIL" = 0 ] && mkdir -p "$OUT" && cp "${BUILT[@]}" "$OUT/"; then
  tap_diag "the packages, in $OUT:$(for f in "${BUILT[@]}"; do printf ' %s' "${f##*/}"; done)"
fi
tap_done
