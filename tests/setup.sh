#!/bin/bash
# tests/setup.sh — idempotent installer of everything the ocstop tests need.
#
#   tests/setup.sh                  install missing Debian packages, opencode-ai@1.18.33 and its SDK
#   tests/setup.sh --print-opencode print the opencode binary path (installs first if needed)
#   tests/setup.sh --check          exit 0 if everything is installed, 1 otherwise (installs nothing)
#
# opencode goes to ${OCSTOP_CACHE:-$HOME/.cache/ocstop}/opencode-1.18.33, @opencode-ai/sdk@1.18.33 (what
# the Kimaki plugin of tests/fixtures/kimaki imports) to .../opencode-sdk-1.18.33.
set -euo pipefail

OC_VERSION=1.18.33
OC_CACHE=${OCSTOP_CACHE:-$HOME/.cache/ocstop}
OC_DIR=$OC_CACHE/opencode-$OC_VERSION
OC_BIN=$OC_DIR/node_modules/opencode-linux-x64/bin/opencode
SDK_DIR=$OC_CACHE/opencode-sdk-$OC_VERSION

APT_PKGS=(build-essential pkg-config meson ninja-build libevent-dev libmsgpack-dev libcurl4-openssl-dev
  libjansson-dev libcmocka-dev libsystemd-dev uthash-dev libunistring-dev clang-format curl tmux python3
  procps jq clang libclang-rt-dev)

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

# npm_install DIR PACKAGE — npm install PACKAGE into DIR/node_modules.
npm_install() {
  local dir=$1 pkg=$2
  command -v npm >/dev/null 2>&1 || die "npm not found"
  say "installing $pkg into $dir"
  mkdir -p "$dir" || die "cannot create $dir"
  # npm 11 installs into the nearest ancestor with a package.json unless this dir has one.
  [ -f "$dir/package.json" ] || echo '{"name":"ocstop-test-deps","private":true}' > "$dir/package.json"
  local log; log=$(mktemp)
  if ! (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$pkg") >"$log" 2>&1; then
    tail -n 30 "$log" >&2; rm -f "$log"; die "npm install $pkg failed"
  fi
  rm -f "$log"
}

install_oc() {
  find_oc >/dev/null && return 0
  npm_install "$OC_DIR" "opencode-ai@$OC_VERSION"
  find_oc >/dev/null || die "opencode installed in $OC_DIR but '$OC_BIN --version' does not print $OC_VERSION"
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
  --check)
    [ -z "$(missing_apt)" ] && find_oc >/dev/null && have_sdk
    ;;
  "")
    install_apt
    install_oc
    install_sdk
    say "ok (opencode $OC_VERSION: $(find_oc))"
    ;;
  *)
    echo "usage: $0 [--print-opencode|--check]" >&2; exit 2
    ;;
esac
