#!/bin/bash
# tests/setup.sh — idempotent installer of what the ocstop demo and tests need.
#
#   tests/setup.sh                  everything the tests need: Debian packages, OpenCode 1.18.33, its
#                                   SDK, Chromium and a browser driver (for the web UI test)
#   tests/setup.sh --demo           only what tests/demo.sh needs: the build dependencies, Node.js
#                                   and OpenCode 1.18.33
#   tests/setup.sh --bench          what bench/run.sh needs: the demo's, tmux, strace, gnuplot, perf
#                                   and the SDK (for the Kimaki plugin it compares with)
#   tests/setup.sh --print-opencode print the opencode binary path (installs it first if needed)
#   tests/setup.sh --print-browser  print Chromium's path and the browser driver's module, one a line
#                                   (installs first if needed; exit 1 when Chromium cannot be had)
#   tests/setup.sh --check          exit 0 if everything is installed, 1 otherwise (installs nothing)
#
# It says what it installs, as it goes, on stderr, and nothing when all is there. npm packages are
# fetched from the npm registry as tarballs whose SHA-512 is pinned below and unpacked into
# ${OCSTOP_CACHE:-$HOME/.cache/ocstop}: opencode-1.18.33 (the platform binary of opencode-ai),
# opencode-sdk-1.18.33 (@opencode-ai/sdk and its dependencies, which the Kimaki plugin of
# tests/fixtures/kimaki imports), playwright-core-1.65.1 (the browser driver). So Debian's npm and
# its hundreds of node-* packages are never needed; Node.js is Debian's nodejs when there is none.
# Debian's chromium is the browser; where it cannot be installed, setup goes on and the web UI test
# skips.
set -euo pipefail

OC_VERSION=1.18.33
OC_CACHE=${OCSTOP_CACHE:-$HOME/.cache/ocstop}
OC_DIR=$OC_CACHE/opencode-$OC_VERSION
OC_BIN=$OC_DIR/node_modules/opencode-linux-x64/bin/opencode
OC_BIN_BASELINE=$OC_DIR/node_modules/opencode-linux-x64-baseline/bin/opencode
DRIVER_VERSION=1.65.1
DRIVER_DIR=$OC_CACHE/playwright-core-$DRIVER_VERSION
DRIVER_MODULE=$DRIVER_DIR/node_modules/playwright-core/index.mjs
CHROMIUM_PKG=chromium
CHROMIUM_BIN=/usr/bin/chromium
SDK_DIR=$OC_CACHE/opencode-sdk-$OC_VERSION
REGISTRY=${OCSTOP_NPM_REGISTRY:-https://registry.npmjs.org}

# What the demo builds and runs with.
APT_DEMO=(build-essential pkg-config meson ninja-build libevent-dev libmsgpack-dev libcurl4-openssl-dev
  libjansson-dev uthash-dev libunistring-dev curl ca-certificates jq python3 procps
  iproute2)
# What the tests add.
APT_TESTS=(libcmocka-dev clang-format tmux clang libclang-rt-dev git
  scdoc man-db groff-base zsh fish bash-completion
  debhelper dpkg-dev fakeroot lintian rpm rpmlint systemd
  neovim python3-pynvim python3-msgpack vim emacs-nox)
# What the benchmarks add to the demo's (perf only for bench/run.sh --profile).
APT_BENCH=(tmux strace gnuplot-nox linux-perf)

# Pinned npm tarballs: name version sha512 (hex of the registry's dist.integrity).
NPM_OPENCODE=(opencode-linux-x64 "$OC_VERSION"
  abfb7fde9d824f1393f72da4be37ac6ff2d969bdbed5eaa5861580d3605eea68d3b6662d341701b2b239c83a38170ed948f056da8c8c20630d46a88a4238805b)
NPM_OPENCODE_BASELINE=(opencode-linux-x64-baseline "$OC_VERSION"
  d4a4060628830de2ff5471db1e43afbc5a3c26bf7b593e7e0b5b5e6abfa9ec87034e75e05475ea2235383b88cce261d0cf29133f68bcf381429d6e4b0dafb308)
NPM_SDK=(@opencode-ai/sdk "$OC_VERSION"
  372bab932f7e000dadbd9ea6cbc52d3b9a713e85f1acdca9aa3784a8cb21046891e78da094ecbe284d58fb7970594f99e870bf8529ab75735b5fcd7eaa2b93ce
  cross-spawn 7.0.6
  b95d903963f69d6ceccb668ca7c69189b862f5d9731791e0879487681f4e893184c834e2249cb1d2ecb9d505ddc966ed00736e6b85c9cd429c6b73b3294777bc
  path-key 3.1.1
  a2399e374a9dfb2d23b3312da18e3caf43deab97703049089423aee90e5fe3595f92cc17b8ab58ae18284e92e7c887079b6e1486ac7ee53aa6d889d2c0b844e9
  shebang-command 2.0.0
  907c6bdb366962d766acdd6a0e3aeb5ff675ad1d641bc0f1fa09292b51b87979af5ecc26704d614d6056614ce5ada630d7fc99a7a62e0d8efb62dbdb3747660c
  shebang-regex 3.0.0
  efef9d161b5cc77df9dee05aabc0c347836ec417ad0730bb6503a19934089c711de9b4ab5dd884cb30af1b4ed9e3851874b4a1594c97b7933fca1cfc7a471bd4
  which 2.0.2
  04b2374e5d535b73ef97bd25df2ab763ae22f9ac29c17aac181616924a8cb676d782b303fb28fbae15b492e103c7325a6171a3116e6881aa4a34c10a34c8e26c
  isexe 2.0.0
  447c4c2e9f659ca1c61d19e0f5016144231b600715a67ebdb2648672addfdfac638155564e18f8aaa2db4cb96aed2b23f01f9f210d44b8210623694ab3241e23)
NPM_DRIVER=(playwright-core "$DRIVER_VERSION"
  86a3e9cfb6e548c3f1595768784d728814b35ec2a254e77693e9230af994cb00f618f3b60ddf477dc5a7abd34dd061db3590c5819f497c116bf97e7f04ba34ab)

die() { echo "setup.sh: error: $*" >&2; exit 1; }
# A fetch cut short (an error, ^C) leaves no half-unpacked directory behind.
NPM_TMP=
trap '[ -z "$NPM_TMP" ] || rm -rf "$NPM_TMP"' EXIT
trap 'exit 130' INT TERM
say() { [ "${QUIET:-0}" = 1 ] || echo "setup.sh: $*" >&2; }

# apt_wanted — the Debian packages this run needs.
apt_wanted() {
  printf '%s\n' "${APT_DEMO[@]}"
  case $PROFILE in
    demo) ;;
    bench) printf '%s\n' "${APT_BENCH[@]}" ;;
    *) printf '%s\n' "${APT_TESTS[@]}" "${APT_BENCH[@]}" ;;
  esac
  command -v node >/dev/null 2>&1 || echo nodejs
}

missing_apt() {
  local p st
  for p in $(apt_wanted); do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || echo "$p"
  done
}

# Path of a working opencode binary of the pinned version, or nothing.
find_oc() {
  local b
  for b in "$OC_BIN" "$OC_BIN_BASELINE"; do
    if [ -x "$b" ] && [ "$(timeout 30 "$b" --version 2>/dev/null | tail -n1)" = "$OC_VERSION" ]; then
      echo "$b"; return 0
    fi
  done
  return 1
}

# apt_install PKG... — install Debian packages, showing progress (a fresh machine takes minutes).
apt_install() {
  local sudo="" log rc
  command -v apt-get >/dev/null 2>&1 || die "missing packages ($*) and no apt-get"
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing packages ($*); run as root or install sudo"
    sudo="sudo"
  fi
  say "installing Debian packages: $* (with their dependencies; a few minutes on a fresh machine)"
  log=$(mktemp)
  $sudo apt-get update -q >"$log" 2>&1 || { tail -n 30 "$log" >&2; rm -f "$log"; die "apt-get update failed"; }
  set +o pipefail
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      -o Dpkg::Use-Pty=0 "$@" 2>&1 | tee -a "$log" |
    awk -v quiet="${QUIET:-0}" '
      quiet == 1 { next }
      / newly installed/ { n = $0; sub(/ newly installed.*/, "", n); sub(/.*, /, "", n); total = n + 0
                           print "setup.sh:   " total " packages to install" > "/dev/stderr"; fflush() }
      /^Setting up / { done++; print "setup.sh:   [" done "/" total "] " $3 > "/dev/stderr"; fflush() }'
  rc=${PIPESTATUS[0]}
  set -o pipefail
  if [ "$rc" -ne 0 ]; then
    tail -n 30 "$log" >&2; rm -f "$log"; die "apt-get install failed"
  fi
  rm -f "$log"
}

install_apt() {
  local miss
  miss=$(missing_apt | tr '\n' ' ')
  [ -z "${miss// /}" ] && return 0
  # shellcheck disable=SC2086
  apt_install $miss
  miss=$(missing_apt | tr '\n' ' ')
  [ -z "${miss// /}" ] || die "still missing after apt-get: $miss"
}

# npm_fetch DIR NAME VERSION SHA512 [NAME VERSION SHA512]... — unpack each pinned tarball into
# DIR/node_modules/NAME, after checking its SHA-512. DIR is replaced only once all are in.
npm_fetch() {
  local dir=$1 tmp name ver sum tgz url got
  shift
  command -v curl >/dev/null 2>&1 || die "curl not found"
  mkdir -p "$(dirname "$dir")" || die "cannot create $(dirname "$dir")"
  tmp=$(mktemp -d "$dir.XXXXXX") || die "cannot create a directory beside $dir"
  NPM_TMP=$tmp
  while [ $# -ge 3 ]; do
    name=$1 ver=$2 sum=$3
    shift 3
    say "fetching $name@$ver from $REGISTRY"
    tgz=$tmp/${name//\//_}-$ver.tgz
    url=$REGISTRY/$name/-/${name##*/}-$ver.tgz
    curl -fsSL --retry 3 --connect-timeout 20 --max-time 900 -o "$tgz" "$url" ||
      { rm -rf "$tmp"; die "cannot download $url"; }
    got=$(sha512sum "$tgz" | cut -d' ' -f1)
    [ "$got" = "$sum" ] || { rm -rf "$tmp"; die "$url: SHA-512 $got, expected $sum"; }
    mkdir -p "$tmp/node_modules/$name"
    tar -xzf "$tgz" -C "$tmp/node_modules/$name" --strip-components=1 --no-same-owner ||
      { rm -rf "$tmp"; die "cannot unpack $tgz"; }
    rm -f "$tgz"
  done
  rm -rf "$dir"
  mv "$tmp" "$dir" || die "cannot move $tmp to $dir"
  NPM_TMP=
}

install_oc() {
  find_oc >/dev/null && return 0
  npm_fetch "$OC_DIR" "${NPM_OPENCODE[@]}"
  # CPUs without AVX2 need the baseline build (what opencode-ai's launcher would pick).
  find_oc >/dev/null || npm_fetch "$OC_DIR" "${NPM_OPENCODE_BASELINE[@]}"
  find_oc >/dev/null || die "opencode unpacked in $OC_DIR but neither binary prints $OC_VERSION"
}

have_chromium() { [ -x "$CHROMIUM_BIN" ] && timeout 30 "$CHROMIUM_BIN" --version >/dev/null 2>&1; }
have_driver() { [ -f "$DRIVER_MODULE" ]; }

# Chromium is needed by one test only: a system without it still runs all the others.
install_browser() {
  if ! have_chromium; then
    if [ "$(id -u)" = 0 ] || command -v sudo >/dev/null 2>&1; then
      ( apt_install "$CHROMIUM_PKG" ) || true
    fi
    have_chromium || { say "warning: no $CHROMIUM_BIN (package $CHROMIUM_PKG); the web UI test will skip"; return 0; }
  fi
  have_driver || npm_fetch "$DRIVER_DIR" "${NPM_DRIVER[@]}"
  have_driver || die "playwright-core unpacked in $DRIVER_DIR but $DRIVER_MODULE is missing"
}

have_sdk() {
  [ "$(jq -r .version "$SDK_DIR/node_modules/@opencode-ai/sdk/package.json" 2>/dev/null)" = "$OC_VERSION" ]
}

install_sdk() {
  have_sdk && return 0
  npm_fetch "$SDK_DIR" "${NPM_SDK[@]}"
  have_sdk || die "@opencode-ai/sdk@$OC_VERSION unpacked in $SDK_DIR but not found there"
}

PROFILE=tests
case "${1:-}" in
  --demo)
    PROFILE=demo
    install_apt
    install_oc
    ;;
  --bench)
    PROFILE=bench
    install_apt
    install_oc
    install_sdk
    ;;
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
    echo "usage: $0 [--demo|--bench|--print-opencode|--print-browser|--check]" >&2; exit 2
    ;;
esac
