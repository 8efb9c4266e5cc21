"""Peers that make the daemon tear things down at awkward moments; each case prints TAP-ready
'# ' diagnostics and exits 0 when the daemon behaved.

    python3 teardown.py SOCKET CASE

publish_overflows_subscriber
    A subscriber that never reads is also the shim of a relayed OpenCode with a stop in flight.
    Another stop is proven from inside the daemon's walk over its stops; publishing that stop
    pushes the subscriber's output over its bound. Dropping that connection drops its server and
    ends its stop: that must not happen under the walk (it used to free the next stop in it).
takeover_then_gone
    Two connections register the same OpenCode pid; the second takes the relay over, then goes.
    The first one's listing request, still pending, must not be answered into a freed server.
"""
import fcntl
import json
import os
import socket
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(__file__))
from peer import Peer  # noqa: E402
from rawrpc import pack  # noqa: E402

PEER_MAX_OUTPUT = 4 << 20
RELAY_TIMEOUT_S = 3.0


def say(*args):
    print("#", *args, flush=True)


def shim(path, pid, directory):
    p = Peer(path)
    err, res = p.call("register", {"server_url": "http://127.0.0.1:1", "directory": directory,
                                   "pid": pid, "opencode_version": "test"})
    if err is not None or not res.get("relay"):
        raise RuntimeError("register as a relay failed: %r %r" % (err, res))
    return p


def event(p, directory, type_, props):
    p.notify("opencode.event", {"directory": directory,
                                "event": json.dumps({"type": type_, "properties": props})})


def status(p, sid, state):
    return {"sessionID": sid, "status": {"type": state}}


def known_running(ctl, ids):
    _, res = ctl.call("status")
    running = {s["id"] for s in res["sessions"] if s["status"] in ("busy", "retry")}
    return set(ids) <= running


def wait_for(what, fn, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.05)
    raise TimeoutError(what)


def queued(sock):
    """Bytes waiting in our receive queue: what the kernel took from the daemon."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def settle(sock):
    """Our queue once the daemon has written all it can."""
    last, same = -1, 0
    while same < 3:
        time.sleep(0.1)
        n = queued(sock)
        same = same + 1 if n == last else 0
        last = n
    return last


def case_publish_overflows_subscriber(path):
    ctl = Peer(path)
    watcher = Peer(path)
    watcher.call("subscribe", {"events": ["stop"]})
    e = shim(path, 900001, "/e")
    e.call("subscribe", {"events": ["stop"]})
    event(e, "/e", "session.status", status(e, "ses_e", "busy"))
    f = shim(path, 900002, "/f")
    kids = ["ses_f%03d" % i for i in range(100)]
    event(f, "/f", "session.status", status(f, "ses_f", "busy"))
    for k in kids:
        event(f, "/f", "session.created", {"info": {"id": k, "parentID": "ses_f", "directory": "/f"}})
        event(f, "/f", "session.status", status(f, k, "busy"))
    wait_for("the daemon knows the sessions", lambda: known_running(ctl, ["ses_e", "ses_f"] + kids))
    # Two stops in flight, ses_f's started last; e's shim answers none of its aborts, f's answers
    # all (a stop is proven only once its aborts were answered: then its idle events prove it).
    # Their attempts outlast the test: no retry sends aborts nobody answers.
    for sid in ("ses_e", "ses_f"):
        err, res = ctl.call("abort", {"session": sid, "wait": False, "timeout_ms": 30000})
        if err is not None or res["results"][0]["reason"] != "pending":
            raise RuntimeError("abort %s: %r %r" % (sid, err, res))
    for _ in range(1 + len(kids)):
        req = f.next_request("opencode.abort")
        f.send([1, req[1], None, {"ok": True, "ms": 1}])
    e.drain()
    # Fill e's queue in the daemon to just under the bound with ping replies of one size.
    e.msgid = 70000
    err, res = e.call("ping")
    reply = len(pack([1, e.msgid, None, res]))
    sent = 0
    target = PEER_MAX_OUTPUT - 64
    for _ in range(50):
        held = sent * reply - settle(e.sock)
        if held >= target - reply:
            break
        n = max(1, (target - held) // reply)
        e.sock.sendall(b"".join(pack([0, 70001 + sent + i, "ping", []]) for i in range(n)))
        sent += n
    held = sent * reply - settle(e.sock)
    say("the daemon holds %d bytes for the subscriber (bound %d)" % (held, PEER_MAX_OUTPUT))
    if not PEER_MAX_OUTPUT - 4 * reply <= held <= PEER_MAX_OUTPUT:
        raise RuntimeError("could not bring the subscriber's queue to its bound")
    # Proof of ses_f's tree comes from inside the daemon's walk (quiet window 0).
    for k in kids:
        event(f, "/f", "session.status", status(f, k, "idle"))
    event(f, "/f", "session.status", status(f, "ses_f", "idle"))
    ends = {}
    deadline = time.time() + 10
    while len(ends) < 2 and time.time() < deadline:
        try:
            msg = watcher._wait(lambda m: m[0] == 2 and m[1] == "event", deadline - time.time())
        except TimeoutError:
            break
        stop = msg[2][0]["stop"]
        ends[stop["session"]] = stop
    say("stops ended:", json.dumps(ends, sort_keys=True)[:400])
    ok = True
    if ends.get("ses_f", {}).get("stopped") is not True:
        say("ses_f's stop was not reported proven")
        ok = False
    if ends.get("ses_e", {}).get("reason") != "its plugin disconnected":
        say("ses_e's stop did not end with its shim's connection")
        ok = False
    err, res = ctl.call("ping")
    if err is not None or res.get("protocol") is None:
        say("the daemon does not answer:", err)
        ok = False
    return ok


def case_takeover_then_gone(path):
    ctl = Peer(path)
    a = shim(path, 900010, "/t")
    a.next_request("opencode.sessions")      # never answered
    b = shim(path, 900010, "/t")              # the same OpenCode process: a takeover
    b.next_request("opencode.sessions")
    b.close()                                 # the relay goes with its new shim
    wait_for("the relay server is dropped",
             lambda: not any(s["url"] == "pid:900010" for s in ctl.call("status")[1]["servers"]))
    time.sleep(RELAY_TIMEOUT_S + 0.5)         # a's request times out now
    err, res = ctl.call("ping")
    say("ping after a's request timed out:", err, res)
    err2, res2 = a.call("ping")
    return err is None and res.get("protocol") is not None and err2 is None


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    try:
        ok = CASES[sys.argv[2]](sys.argv[1])
    except (OSError, EOFError, RuntimeError, TimeoutError) as exc:
        say("error:", repr(exc))
        ok = False
    sys.exit(0 if ok else 1)
