"""Raw msgpack-rpc over the daemon's socket, for tests of malformed input and of peers.

    python3 rawrpc.py SOCKET CASE

Prints one line per observation; exits 0 when the case behaved as the protocol says.
"""
import socket
import struct
import sys
import time


def _head(n, fix, fix_max, t8, t16, t32):
    """A length prefix in its shortest form, as msgpack-c writes it."""
    if fix is not None and n <= fix_max:
        return bytes([fix | n])
    if t8 is not None and n < 0x100:
        return bytes([t8, n])
    if n < 0x10000:
        return bytes([t16]) + struct.pack(">H", n)
    return bytes([t32]) + struct.pack(">I", n)


def pack(o):
    """The msgpack subset these tests need."""
    if o is None:
        return b"\xc0"
    if o is True:
        return b"\xc3"
    if o is False:
        return b"\xc2"
    if isinstance(o, float):
        return b"\xcb" + struct.pack(">d", o)
    if isinstance(o, int):
        if 0 <= o < 0x80:
            return bytes([o])
        if 0 <= o < 0x10000:
            return b"\xcd" + struct.pack(">H", o)
        if 0 <= o < 0x100000000:
            return b"\xce" + struct.pack(">I", o)
        if -0x20 <= o < 0:
            return struct.pack(">b", o)
        return b"\xd3" + struct.pack(">q", o)
    if isinstance(o, str):
        b = o.encode()
        return _head(len(b), 0xA0, 31, 0xD9, 0xDA, 0xDB) + b
    if isinstance(o, bytes):
        return _head(len(o), None, -1, 0xC4, 0xC5, 0xC6) + o
    if isinstance(o, list):
        return _head(len(o), 0x90, 15, None, 0xDC, 0xDD) + b"".join(pack(x) for x in o)
    if isinstance(o, dict):
        return _head(len(o), 0x80, 15, None, 0xDE, 0xDF) + b"".join(pack(k) + pack(v) for k, v in o.items())
    raise TypeError(o)


def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    return s


def read_some(s, wait=2.0):
    """Bytes until the peer goes quiet or closes; None when it closed with nothing."""
    s.settimeout(wait)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data if data else None
            data += chunk
            s.settimeout(0.3)
    except socket.timeout:
        return data


def closed(s):
    s.settimeout(3)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def case_invalid_then_valid(path):
    # A well-formed frame that is not a request gets an error reply; the connection goes on.
    s = connect(path)
    s.sendall(pack([0, 7, "ping"]))                      # 3 elements: invalid, msgid readable
    s.sendall(pack([0, 8, "nosuchmethod", []]))
    s.sendall(pack([0, 9, "abort", ["notamap"]]))
    s.sendall(pack([0, 10, "ping", []]))
    data = read_some(s)
    ok = (pack(1)[0:1] in data and b"unknown method" in data and b"params must be" in data
          and b"protocol" in data)
    print("# replies:", data)
    return ok


def case_garbage(path):
    s = connect(path)
    s.sendall(b"\xc1\xc1\xc1 this is not msgpack")
    return closed(s)


def case_oversized(path):
    s = connect(path)
    s.sendall(b"\x94\x00\x01\xa4ping\x91\xdb" + struct.pack(">I", 2 << 20))
    try:
        s.sendall(b"a" * (1 << 20) + b"a" * 1000)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return closed(s)


def case_huge_header(path):
    # An array header claiming a billion elements must not make the daemon allocate for them.
    s = connect(path)
    s.sendall(b"\x94\x00\x01\xa4ping\xdd\x40\x00\x00\x00")
    return closed(s)


def case_pipelined(path):
    s = connect(path)
    s.sendall(b"".join(pack([0, i, "ping", []]) for i in range(1, 201)))
    data = b""
    deadline = time.time() + 5
    while data.count(b"protocol") < 200 and time.time() < deadline:
        data += read_some(s, 1.0) or b""
    print("# pings answered:", data.count(b"protocol"))
    return data.count(b"protocol") == 200


def case_connect(path):
    s = connect(path)
    s.sendall(pack([0, 1, "ping", []]))
    data = read_some(s)
    print("# reply:", data)
    return data is not None and b"protocol" in data


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    try:
        ok = CASES[sys.argv[2]](sys.argv[1])
    except OSError as e:
        print("# error:", e)
        ok = False
    sys.exit(0 if ok else 1)
