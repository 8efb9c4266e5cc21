#!/bin/bash
# tests/valgrind.sh BUILDDIR PROGRAM [ARGS...] — the exe_wrapper of meson's 'valgrind' test setup
# (HACKING.md): the project's own programs (under BUILDDIR: the unit tests) run under valgrind;
# anything else (the integration tests' scripts, python, node) runs as it is, and the integration
# tests start the daemon under valgrind through OCSTOPD_WRAPPER="tests/valgrind.sh --always".
# Under valgrind an error or a definite or indirect leak makes the program exit 3, and the summary
# says "ERROR SUMMARY: N errors" with N > 0 (what tests/lib/oc.sh looks for in the daemon's log).
run() {
  exec valgrind --error-exitcode=3 --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --track-origins=yes "$@"
}

build=$1; shift
[ "$build" = --always ] && run "$@"
case $1 in
  "$build"/*) [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] && run "$@" ;;
esac
exec "$@"
