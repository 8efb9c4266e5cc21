"""systemd socket activation without systemd, as a .socket unit would do it, or wrongly.

    activate.py KIND PATH PIDFILE CMD...

binds and listens on the Unix socket PATH (KIND "stream"; or hands over what a wrong unit would:
"dgram" a datagram socket, "unlistened" a stream socket that does not listen, "file" a regular
file), forks, and in the child puts it on fd 3 (blocking, inheritable, as systemd does), sets
LISTEN_FDS=1 and LISTEN_PID to the child's pid, and execs CMD. The parent writes the child's pid to
PIDFILE, keeps the socket open (as systemd does), passes SIGTERM on, and exits with the child's
status.
"""
import os
import signal
import socket
import sys

kind, path, pidfile, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if kind == "file":
    obj = open(path, "w")
else:
    obj = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM if kind == "dgram" else socket.SOCK_STREAM)
    obj.bind(path)
    if kind == "stream":
        obj.listen(16)
        obj.setblocking(True)
pid = os.fork()
if pid == 0:
    os.dup2(obj.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
    os.execv(cmd[0], cmd)
with open(pidfile + ".tmp", "w") as f:
    f.write(f"{pid}\n")
os.rename(pidfile + ".tmp", pidfile)
signal.signal(signal.SIGTERM, lambda sig, frame: os.kill(pid, signal.SIGTERM))
while True:
    try:
        _, status = os.waitpid(pid, 0)
        break
    except InterruptedError:
        continue
sys.exit(os.waitstatus_to_exitcode(status))
