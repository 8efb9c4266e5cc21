"""A msgpack-rpc peer for tests that must act as clients no well-behaved client would be: a plugin
shim that never answers, a subscriber that never reads, two shims claiming one OpenCode process.

    from peer import Peer
    p = Peer(path)                     # connects
    p.call("ping")                     # request, wait for its reply; returns (error, result)
    p.notify("opencode.event", {...})
    p.next_request("opencode.sessions")  # wait for a request the daemon sends us

Only the msgpack subset the protocol uses; nothing here is clever, everything has a deadline.
"""
import socket
import struct
import time

from rawrpc import pack


# PROTOCOL.md, Errors: each error's name with its kind (1 validation, 0 exception).
ERROR_KINDS = {"bad_request": 1, "unknown_method": 1, "not_found": 1, "limit": 1,
               "opencode_unreachable": 0, "timeout": 0, "internal": 0}


def error_name(err):
    """The name of a reply's error [kind, "name: message"]; None when it is not of that form, names
    no error of the protocol, or its kind is not the name's."""
    if not isinstance(err, list) or len(err) != 2 or not isinstance(err[1], str):
        return None
    name = err[1].split(": ", 1)[0]
    kind = ERROR_KINDS.get(name)
    if kind is None or type(err[0]) is not int or err[0] != kind:
        return None
    return name


class Decoder:
    """Values from a byte stream, as they complete."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        pos = 0
        while True:
            try:
                value, pos = self._value(pos)
            except IndexError:
                break
            out.append(value)
        # One cut for all the values: cutting after each would copy the rest each time.
        self.buf = self.buf[pos:]
        return out

    def _take(self, pos, n):
        if pos + n > len(self.buf):
            raise IndexError
        return self.buf[pos:pos + n], pos + n

    def _value(self, pos):
        b = self._take(pos, 1)[0][0]
        pos += 1
        if b < 0x80:
            return b, pos
        if b >= 0xE0:
            return b - 0x100, pos
        if b < 0x90:
            return self._map(pos, b & 0x0F)
        if b < 0xA0:
            return self._array(pos, b & 0x0F)
        if b < 0xC0:
            raw, pos = self._take(pos, b & 0x1F)
            return raw.decode(), pos
        fixed = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in fixed:
            return fixed[b], pos
        ints = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
        if b in ints:
            raw, pos = self._take(pos, struct.calcsize(ints[b]))
            return struct.unpack(ints[b], raw)[0], pos
        sizes = {0xD9: ">B", 0xDA: ">H", 0xDB: ">I", 0xC4: ">B", 0xC5: ">H", 0xC6: ">I",
                 0xDC: ">H", 0xDD: ">I", 0xDE: ">H", 0xDF: ">I"}
        if b in sizes:
            raw, pos = self._take(pos, struct.calcsize(sizes[b]))
            n = struct.unpack(sizes[b], raw)[0]
            if b in (0xDC, 0xDD):
                return self._array(pos, n)
            if b in (0xDE, 0xDF):
                return self._map(pos, n)
            raw, pos = self._take(pos, n)
            return (raw.decode() if b >= 0xD9 else raw), pos
        raise ValueError("unsupported msgpack byte 0x%02x" % b)

    def _array(self, pos, n):
        out = []
        for _ in range(n):
            v, pos = self._value(pos)
            out.append(v)
        return out, pos

    def _map(self, pos, n):
        out = {}
        for _ in range(n):
            k, pos = self._value(pos)
            v, pos = self._value(pos)
            out[k] = v
        return out, pos


class Peer:
    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.dec = Decoder()
        self.inbox = []
        self.msgid = 0

    def send(self, obj):
        self.sock.sendall(pack(obj))

    def _pump(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.time()))
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the daemon closed the connection")
        self.inbox.extend(self.dec.feed(data))

    def _wait(self, match, timeout):
        deadline = time.time() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if match(m):
                    return self.inbox.pop(i)
            if time.time() >= deadline:
                raise TimeoutError("no matching message")
            try:
                self._pump(deadline)
            except socket.timeout:
                pass

    def call(self, method, params=None, timeout=5.0):
        self.msgid += 1
        mid = self.msgid
        self.send([0, mid, method, [params] if params is not None else []])
        reply = self._wait(lambda m: m[0] == 1 and m[1] == mid, timeout)
        return reply[2], reply[3]

    def notify(self, method, params):
        self.send([2, method, [params]])

    def next_request(self, method, timeout=5.0):
        return self._wait(lambda m: m[0] == 0 and m[2] == method, timeout)

    def drain(self, quiet=0.2):
        """Read whatever arrives until the daemon goes quiet."""
        while True:
            try:
                self._pump(time.time() + quiet)
            except socket.timeout:
                return

    def close(self):
        self.sock.close()
