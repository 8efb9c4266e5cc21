"""A plain msgpack-rpc client over a Unix socket (python3-msgpack), as small as one can be: what any
msgpack-rpc library does, for tests/lib/rpc_clients.py."""
import socket

import msgpack


class Client:
    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.unpacker = msgpack.Unpacker(raw=False)
        self.msgid = 0

    def send(self, *msg):
        self.sock.sendall(msgpack.packb(list(msg)))

    def request(self, method, *params):
        """Send a request, return its msgid (pipelined: read the reply with next())."""
        self.msgid += 1
        self.send(0, self.msgid, method, list(params))
        return self.msgid

    def notify(self, method, *params):
        self.send(2, method, list(params))

    def next(self):
        """The next message from the daemon, as a list."""
        for msg in self.unpacker:
            return msg
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the daemon closed the connection")
            self.unpacker.feed(data)
            for msg in self.unpacker:
                return msg
