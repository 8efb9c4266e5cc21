#!/bin/bash
# daemon-startup.sh — what a client waits for when its connection starts the daemon: a request that
# waits on the activated socket is answered before the daemon loads libcurl and contacts its
# OpenCode servers (bench/startup: the load is most of a start); libcurl is loaded when a server is
# first contacted; and where libcurl cannot be loaded the daemon still starts, and the server says
# why in its last error, in `ocstop status` and `ocstop doctor`.
set -u
. "$(dirname "$0")/../lib/oc.sh"
. "$(dirname "$0")/../lib/ocstop.sh"

tap_plan 11
tmp_dir_new T
export XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config
mkdir -m 0700 "$XDG_RUNTIME_DIR" "$T/act"
unset OCSTOP_SOCKET OCSTOP_OPENCODE_URL OPENCODE_SERVER_PASSWORD

# first_reply.py — activates ocstopd as systemd does, a client's ping already written on the socket
# and an OpenCode server (a listening TCP socket, never answered) given with --opencode; reports
# which came first: the reply, or the daemon's connection to the server. Then waits for that
# connection, and prints whether libcurl is loaded by then.
cat >"$T/first_reply.py" <<'PY'
import os, select, signal, socket, sys, time
path, log, daemon = sys.argv[1], sys.argv[2], sys.argv[3:]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(8)
url = "http://127.0.0.1:%d" % srv.getsockname()[1]
lst = socket.socket(socket.AF_UNIX)
lst.bind(path)
lst.listen(16)
cli = socket.socket(socket.AF_UNIX)
cli.connect(path)
cli.sendall(bytes([0x94, 0x00, 0x01, 0xA4]) + b"ping" + bytes([0x90]))
pid = os.fork()
if pid == 0:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.dup2(lst.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execv(daemon[0], daemon + ["--opencode", url])
p = select.poll()
p.register(cli, select.POLLIN)
p.register(srv, select.POLLIN)
ready = {fd for fd, _ in p.poll(10000)}
if cli.fileno() in ready and srv.fileno() not in ready:
    print("reply first" if cli.recv(64)[:1] == b"\x94" else "a reply that is none")
else:
    print("server first" if srv.fileno() in ready else "neither in 10 s")
conn = select.select([srv], [], [], 10)[0]
loaded = "libcurl" in open("/proc/%d/maps" % pid).read()
print("server contacted" if conn else "server never contacted", "libcurl loaded" if loaded else "")
os.kill(pid, signal.SIGTERM)
os.waitpid(pid, 0)
PY

# 1. The order, five times (each a new daemon): a shim's verdict or a CLI's request that activated
# the daemon must not wait for the load.
# The log says it without a race: the client's connection is taken before the server is attached
# (which loads libcurl), whatever the machine's load.
orders= logs=
for i in 1 2 3 4 5; do
  out=$(python3 "$T/first_reply.py" "$T/act/s$i.sock" "$T/first$i.log" "$OCSTOPD_BIN" -v \
    -s "$T/act/unused.sock" 2>&1)
  orders="$orders${out%%$'\n'*};"
  rest=${out#*$'\n'}
  logs="$logs$(grep -oE 'client 1: connected|watching OpenCode' "$T/first$i.log" | tr '\n' ';')"
done
tap_eq "a request waiting on the activated socket is answered before the server is contacted (5 starts)" \
  "reply first;reply first;reply first;reply first;reply first;" "$orders"
tap_eq "... the logs: the client taken before the server is attached" \
  "$(printf 'client 1: connected;watching OpenCode;%.0s' 1 2 3 4 5)" "$logs"
tap_eq "... and the server is contacted after, libcurl loaded then" "server contacted libcurl loaded" "$rest"

# 2. No libcurl to load (a bind mount over it, in a mount namespace of this test's own): the daemon
# starts and answers; the server it was given says why it is not watched.
LIBCURL=$(ldconfig -p | sed -n 's/^\tlibcurl\.so\.4 (.*) => //p' | head -n 1)
if [ -z "$LIBCURL" ] || ! unshare -m true 2>/dev/null; then
  for i in 1 2 3 4 5 6 7 8; do
    tap_skip "libcurl missing" "needs libcurl.so.4 in ldconfig's cache and a mount namespace (root)"
  done
  tap_done
  exit 0
fi
export OCSTOP_SOCKET=$T/run/nocurl.sock
unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' sh "$LIBCURL" \
  "$OCSTOPD_BIN" -v --opencode http://127.0.0.1:9 >"$T/nocurl.log" 2>&1 </dev/null &
DPID=$!; oc_track $DPID
tap_ok "libcurl missing: the daemon starts and answers" wait_until 30 ocstop -q ping
tried() { ocstop -j status | jq -e '.servers[0].last_error != null' >/dev/null; }
tap_ok "... the server gets an error" wait_until 30 tried
err=$(ocstop -j status | jq -r '.servers[0].last_error')
tap_contains "... that says libcurl cannot be loaded" "libcurl cannot be loaded" "$err"
tap_contains "... and what to install" "install it (Debian: libcurl4" "$err"
tap_run "ocstop status: exit 0" 0 ocstop status
tap_contains "... shows it" "libcurl cannot be loaded" "$OUT"
tap_run "ocstop doctor: exit 1 (no OpenCode reached)" 1 ocstop doctor
tap_contains "... and says why" "libcurl cannot be loaded" "$OUT"
kill -TERM "$DPID"; wait "$DPID" 2>/dev/null
tap_done
