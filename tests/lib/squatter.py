"""A socket squatter: listens where a client looks for ocstopd and answers every request the
way a daemon that knows nothing would (nothing to stop, no sessions, register's max_len 2^30 to
ask for every prompt), keeping every byte it is sent in LOG.

  python3 squatter.py SOCKET LOG [UID]

With UID it binds as the caller and then becomes UID before listen(), so the socket file is the
caller's but the kernel reports UID as the listener (SO_PEERCRED). Prints "listening" once it
listens. Runs from stdin too (python3 - ...), for a user who cannot read the source tree.
"""
import os
import socket
import struct
import sys


def pack(o):
    if o is None:
        return b"\xc0"
    if o is True or o is False:
        return b"\xc3" if o else b"\xc2"
    if isinstance(o, int):
        return bytes([o]) if 0 <= o < 0x80 else b"\xce" + struct.pack(">I", o)
    if isinstance(o, str):
        b = o.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(o, list):
        return bytes([0x90 | len(o)]) + b"".join(pack(x) for x in o)
    return bytes([0x80 | len(o)]) + b"".join(pack(k) + pack(v) for k, v in o.items())


ANSWER = {
    "version": "0.1.0", "protocol": 3, "results": [], "servers": [], "sessions": [],
    "stop_words": ["x"], "max_len": 1 << 30, "http": False, "relay": True, "server": "pid:1",
}


def msgid(buf):
    """The msgid of a request at the start of buf, or None."""
    if len(buf) < 3 or buf[0] != 0x94 or buf[1] != 0x00:
        return None
    t = buf[2]
    if t < 0x80:
        return t
    size = {0xCC: 1, 0xCD: 2, 0xCE: 4}.get(t)
    return int.from_bytes(buf[3:3 + size], "big") if size and len(buf) >= 3 + size else None


def main():
    path = sys.argv[1]
    log = open(sys.argv[2], "ab", buffering=0)
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    os.chmod(path, 0o666)
    if len(sys.argv) > 3:
        os.setgroups([])
        os.setgid(int(sys.argv[3]))
        os.setuid(int(sys.argv[3]))
    s.listen(16)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        c.settimeout(2)
        try:
            while True:
                buf = c.recv(65536)
                if not buf:
                    break
                log.write(buf)
                mid = msgid(buf)
                if mid is not None:
                    c.sendall(pack([1, mid, None, ANSWER]))
        except OSError:
            pass
        c.close()


main()
