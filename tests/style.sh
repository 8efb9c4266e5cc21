#!/bin/bash
# tests/style.sh [--fix] — the project's one style, checked (a unit test) or applied:
#   * C: .clang-format, with clang-format (Debian's, 14 or later);
#   * every tracked text file: ends with a newline, no trailing blanks (Markdown excepted), no
#     tabs outside C, Makefiles and scdoc sources, no CRLF.
# Prints TAP. --fix rewrites C files in place and reports what else is wrong.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRC" || exit 1
FIX=0
[ "${1:-}" = --fix ] && FIX=1

if git rev-parse --git-dir >/dev/null 2>&1; then
  mapfile -t FILES < <(git ls-files --cached --others --exclude-standard)
else
  # An exported tree (a package build): not the build directories (meson's, debhelper's obj-*,
  # rpm's *-build), nor the debian/ that a Debian build copies from packaging/debian/ and fills.
  mapfile -t FILES < <(find . \( -path ./build\* -o -path ./obj-\* -o -path './*-build' -o -path ./debian \) \
    -prune -o -type f -print | sed 's|^\./||')
fi
C_FILES=()
for f in "${FILES[@]}"; do
  [ -f "$f" ] || continue
  case $f in *.c|*.h) C_FILES+=("$f") ;; esac
done

echo "1..2"
if ! command -v clang-format >/dev/null; then
  echo "not ok 1 - C files follow .clang-format"
  echo "# clang-format is not installed (apt-get install clang-format)"
elif [ "$FIX" = 1 ]; then
  clang-format -i "${C_FILES[@]}"
  echo "ok 1 - C files formatted # SKIP --fix"
else
  out=$(clang-format --dry-run --Werror "${C_FILES[@]}" 2>&1)
  if [ -z "$out" ]; then
    echo "ok 1 - C files follow .clang-format (${#C_FILES[@]} files)"
  else
    echo "not ok 1 - C files follow .clang-format"
    n=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: error' <<<"$out")
    grep -E '^[^ ]+:[0-9]+:[0-9]+: error' <<<"$out" | sed 's/:[0-9]*:[0-9]*: error.*//' |
      sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/# \2: \1 places/' | head -n 40
    echo "# $n places in all; fix with: tests/style.sh --fix"
  fi
fi

bad=$(python3 - "${FILES[@]}" <<'PY'
import sys
for path in sys.argv[1:]:
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    # Fuzz inputs are bytes, whatever they look like.
    if b"\0" in data or not data or path.startswith("fuzz/corpus/"):
        continue
    text = data.decode("utf-8", "replace")
    problems = []
    if not text.endswith("\n"):
        problems.append("no newline at the end")
    if "\r\n" in text:
        problems.append("CRLF line ends")
    # scdoc indents with tabs only (docs/man/); make wants them in debian/rules.
    tabs_ok = path.endswith((".c", ".h", "Makefile", "debian/rules", ".tsv", ".scd", ".scd.in"))
    for n, line in enumerate(text.split("\n"), 1):
        if line != line.rstrip() and not path.endswith(".md"):
            problems.append("trailing blanks on line %d" % n)
            break
    for n, line in enumerate(text.split("\n"), 1):
        if "\t" in line and not tabs_ok:
            problems.append("a tab on line %d" % n)
            break
    for p in problems:
        print("%s: %s" % (path, p))
PY
)
if [ -z "$bad" ]; then
  echo "ok 2 - text files end with a newline, carry no trailing blanks or stray tabs"
else
  echo "not ok 2 - text files end with a newline, carry no trailing blanks or stray tabs"
  head -n 40 <<<"$bad" | sed 's/^/# /'
fi
[ -z "${out:-}" ] && [ -z "$bad" ]
