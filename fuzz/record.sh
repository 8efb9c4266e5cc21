#!/bin/bash
# fuzz/record.sh OUT — record real OpenCode traffic for the seed corpora (fuzz/README.md): run the
# integration tests x-serve and core-abort (OpenCode 1.18.33, the shim, the CLI, the daemon) with
# the daemon under strace, then keep their /global/event captures as OUT/TEST.sse and each control
# connection's bytes, as the daemon read them and as it sent them, as OUT/TEST-N-in.rpc and
# OUT/TEST-N-out.rpc. Then `fuzz/seeds.py DIR OUT` makes seeds of them. Needs the build in
# OCSTOP_BUILDDIR (default <src>/build) and strace; OCSTOP_RECORD_TESTS names other tests.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${OCSTOP_BUILDDIR:-$SRC/build}
out=$(mkdir -p "$1" && cd "$1" && pwd) || exit 1
command -v strace >/dev/null || { echo "record.sh: strace is not installed" >&2; exit 1; }

for t in ${OCSTOP_RECORD_TESTS:-x-serve core-abort}; do
  OCSTOP_KEEP_TMP=1 OCSTOPD_WRAPPER="strace -ff -qq -xx -s 1048576 -e trace=accept4,read,sendto,close -o $out/$t.strace" \
    meson test -C "$BUILD" --print-errorlogs "$t" >/dev/null
  kept=$(sed -n 's/^# kept temp dirs: //p' "$BUILD/meson-logs/testlog.txt" | tail -n1)
  for d in $kept; do
    [ -f "$d/events.sse" ] && cp "$d/events.sse" "$out/$t.sse"
    rm -rf "$d"
  done
  python3 - "$out" "$t" <<'PY'
import glob, os, re, sys

out, test = sys.argv[1], sys.argv[2]
call = re.compile(r'^(\w+)\((\d+), (?:"((?:\\x[0-9a-f]{2})*)"[^,]*)?.*= (-?\d+)')
n = 0
for path in sorted(glob.glob(os.path.join(out, test + ".strace.*"))):
    conns = {}

    def flush(fd):
        global n
        c = conns.pop(fd)
        if c[0] or c[1]:
            n += 1
            for side, data in (("in", c[0]), ("out", c[1])):
                with open(os.path.join(out, "%s-%d-%s.rpc" % (test, n, side)), "wb") as f:
                    f.write(bytes(data))

    for line in open(path, encoding="ascii", errors="replace"):
        m = call.match(line)
        if not m:
            continue
        name, fd, hexs, ret = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        if name == "accept4" and ret >= 0:
            conns[ret] = (bytearray(), bytearray())
        elif name in ("read", "sendto") and fd in conns and ret > 0 and hexs:
            data = bytes.fromhex(hexs.replace("\\x", ""))[:ret]
            conns[fd][0 if name == "read" else 1].extend(data)
        elif name == "close" and fd in conns:
            flush(fd)
    for fd in list(conns):
        flush(fd)
    os.remove(path)
print("%s: %d connections" % (test, n))
PY
done
ls -l "$out"
