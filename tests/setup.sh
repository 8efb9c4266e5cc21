#!/bin/bash
# tests/setup.sh — idempotent installer of everything the ocstop tests need.
#
#   tests/setup.sh                  install missing Debian packages, opencode-ai@1.18.33 and its SDK
#   tests/setup.sh --print-opencode print the opencode binary path (installs first if needed)
#   tests/setup.sh --print-browser  print Chromium's path and the browser driver's module, one a line
#                                   (installs first if needed; exit 1 when Chromium cannot be had)
#   tests/setup.sh --check          exit 0 if everything is installed, 1 otherwise (installs nothing)
#
# opencode goes to ${OCSTOP_CACHE:-$HOME/.cache/ocstop}/opencode-1.18.33, the browser driver
# (playwright-core, for the web UI test) and @opencode-ai/sdk@1.18.33 (what the Kimaki plugin of
# tests/fixtures/kimaki imports, in .../opencode-sdk-1.18.33) beside it. Debian's chromium is the
# browser; where it cannot be installed, setup goes on and the web UI test skips.
set -euo pipefail

OC_VERSION=1.18.33
OC_CACHE=${OCSTOP_CACHE:-$HOME/.cache/ocstop}
OC_DIR=$OC_CACHE/opencode-$OC_VERSION
OC_BIN=$OC_DIR/node_modules/opencode-linux-x64/bin/opencode
DRIVER_VERSION=1.65.1
DRIVER_DIR=$OC_CACHE/playwright-core-$DRIVER_VERSION
DRIVER_MODULE=$DRIVER_DIR/node_modules/playwright-core/index.mjs
CHROMIUM_PKG=chromium
CHROMIUM_BIN=/usr/bin/chromium
SDK_DIR=$OC_CACHE/opencode-sdk-$OC_VERSION

APT_PKGS=(build-essential pkg-config meson ninja-build libevent-dev libmsgpack-dev libcurl4-openssl-dev
  libjansson-dev libcmocka-dev libsystemd-dev uthash-dev libunistring-dev clang-format curl tmux python3
  procps jq clang libclang-rt-dev iproute2 git debhelper dpkg-dev fakeroot lintian rpm rpmlint systemd)

die() { echo "setup.sh: error: $*" >&2; exit 1; }
say() { [ "${QUIET:-0}" = 1 ] || echo "setup.sh: $*"; }

missing_apt() {
  local pkgs=("${APT_PKGS[@]}") p st
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then pkgs+=(nodejs npm); fi
  for p in "${pkgs[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || echo "$p"
  done
}

# Path of a working opencode binary of the pinned version, or nothing.
find_oc() {
  local b
  for b in "$OC_BIN" "$OC_DIR/node_modules/opencode-linux-x64-baseline/bin/opencode" \
           "$OC_DIR/node_modules/.bin/opencode"; do
    if [ -x "$b" ] && [ "$(timeout 30 "$b" --version 2>/dev/null | tail -n1)" = "$OC_VERSION" ]; then
      echo "$b"; return 0
    fi
  done
  return 1
}

install_apt() {
  local miss
  miss=$(missing_apt | tr '\n' ' ')
  [ -z "${miss// /}" ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing packages ($miss) and no apt-get"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages ($miss); run as root or install sudo"
    sudo="sudo"
  fi
  say "installing Debian packages: $miss"
  local log; log=$(mktemp)
  # shellcheck disable=SC2086
  if ! { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $miss; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2; rm -f "$log"; die "apt-get install failed"
  fi
  rm -f "$log"
  miss=$(missing_apt | tr '\n' ' ')
  [ -z "${miss// /}" ] || die "still missing after apt-get: $miss"
}

# npm_install DIR PACKAGE@VERSION — install one pinned npm package into DIR of its own.
npm_install() {
  command -v npm >/dev/null 2>&1 || die "npm not found"
  say "installing $2 into $1"
  mkdir -p "$1" || die "cannot create $1"
  # npm 11 installs into the nearest ancestor with a package.json unless this dir has one.
  [ -f "$1/package.json" ] || echo '{"name":"ocstop-test-deps","private":true}' > "$1/package.json"
  local log; log=$(mktemp)
  if ! (cd "$1" && npm install --no-audit --no-fund --loglevel=error "$2") >"$log" 2>&1; then
    tail -n 30 "$log" >&2; rm -f "$log"; die "npm install $2 failed"
  fi
  rm -f "$log"
}

install_oc() {
  find_oc >/dev/null && return 0
  npm_install "$OC_DIR" "opencode-ai@$OC_VERSION"
  find_oc >/dev/null || die "opencode installed in $OC_DIR but '$OC_BIN --version' does not print $OC_VERSION"
}

have_chromium() { [ -x "$CHROMIUM_BIN" ] && timeout 30 "$CHROMIUM_BIN" --version >/dev/null 2>&1; }
have_driver() { [ -f "$DRIVER_MODULE" ]; }

# Chromium is needed by one test only: a system without it still runs all the others.
install_browser() {
  if ! have_chromium; then
    if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
      local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      say "installing Debian package: $CHROMIUM_PKG"
      { $sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
          --no-install-recommends "$CHROMIUM_PKG"; } >/dev/null 2>&1 || true
    fi
    have_chromium || { say "warning: no $CHROMIUM_BIN (package $CHROMIUM_PKG); the web UI test will skip"; return 0; }
  fi
  have_driver || npm_install "$DRIVER_DIR" "playwright-core@$DRIVER_VERSION"
  have_driver || die "playwright-core installed in $DRIVER_DIR but $DRIVER_MODULE is missing"
}

have_sdk() {
  [ "$(jq -r .version "$SDK_DIR/node_modules/@opencode-ai/sdk/package.json" 2>/dev/null)" = "$OC_VERSION" ]
}

install_sdk() {
  have_sdk && return 0
  npm_install "$SDK_DIR" "@opencode-ai/sdk@$OC_VERSION"
  have_sdk || die "@opencode-ai/sdk@$OC_VERSION installed in $SDK_DIR but not found there"
}

case "${1:-}" in
  --print-opencode)
    QUIET=1 install_oc >&2
    find_oc || die "opencode $OC_VERSION not found"
    ;;
  --print-browser)
    QUIET=1 install_browser >&2
    have_chromium || die "no Chromium at $CHROMIUM_BIN"
    printf '%s\n%s\n' "$CHROMIUM_BIN" "$DRIVER_MODULE"
    ;;
  --check)
    [ -z "$(missing_apt)" ] && find_oc >/dev/null && have_sdk && { ! have_chromium || have_driver; }
    ;;
  "")
    install_apt
    install_oc
    install_browser
    install_sdk
    say "ok (opencode $OC_VERSION: $(find_oc))"
    ;;
  *)
    echo "usage: $0 [--print-opencode|--print-browser|--check]" >&2; exit 2
    ;;
esac
