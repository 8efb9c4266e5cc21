#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, in each target's input format (fuzz/README.md).

    fuzz/seeds.py OUT                 the unit and integration tests' inputs, into OUT/<target>/
    fuzz/seeds.py OUT CAPTURE_DIR     also real traffic recorded by fuzz/record.sh

The committed corpora (fuzz/corpus/) are these seeds and what fuzzing found, minimized with
libFuzzer's -merge=1.
"""
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from rawrpc import pack  # noqa: E402


def put(out, target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def cuts(sizes):
    """split.h's header: how many chunk sizes, then the sizes."""
    return bytes([len(sizes)] + list(sizes))


def request(msgid, method, opts=None):
    return pack([0, msgid, method, [] if opts is None else [opts]])


def notify(method, opts):
    return pack([2, method, [opts]])


def response(msgid, result, error=None):
    return pack([1, msgid, error, result])


def event(etype, props, directory="/p"):
    return {"directory": directory, "payload": {"type": etype, "properties": props}}


def status(sid, t):
    return event("session.status", {"sessionID": sid, "status": {"type": t}})


def info(etype, sid, parent=None, title="t"):
    i = {"id": sid, "directory": "/p", "title": title, "projectID": "global"}
    if parent:
        i["parentID"] = parent
    return event(etype, {"info": i})


def part(sid):
    return event("message.part.updated", {"part": {"sessionID": sid, "type": "text", "text": ""}})


def test_seeds(out):
    # The reader: what the CLI, the shim and the daemon send each other (tests/lib/protocol_check.py).
    streams = [
        request(1, "ping"),
        request(2, "status"),
        request(3, "abort", {"session": "ses_a"}),
        request(4, "abort", {"sessions": ["ses_a", "ses_b"], "wait": False, "timeout_ms": 3000}),
        request(5, "abort", {"all": True}),
        request(6, "abort", {"directory": "/p/sub"}),
        request(7, "subscribe", {"events": ["session.status", "stop", "verdict"]}),
        request(8, "message", {"session": "ses_a", "message_id": None, "directory": "/p",
                               "server_url": "http://127.0.0.1:4096",
                               "parts": [{"type": "text", "text": "x"}]}),
        request(9, "register", {"server_url": "http://127.0.0.1:4096", "directory": "/p",
                                "worktree": "/p", "pid": 4242, "opencode_version": "1.18.33",
                                "username": "opencode", "password": "pw"}),
        notify("opencode.event", {"directory": "/p", "event": json.dumps(status("ses_a", "busy")["payload"])}),
        response(10, {"ok": True, "ms": 12}),
        response(11, None, [3, "no such session"]),
        response(12, {"statuses": "{}", "sessions": "[]"}),
        # Protocol 6: what Neovim, pynvim and the daemon's errors look like.
        pack([0, 1, b"ping", [[]]]),
        pack([2, b"nvim_set_client_info", ["python3-client", {"major": 0}, "remote", {}, {}]]),
        pack([2, "abort", [{"all": True}]]),
        pack([0, 1, "subscribe", [{"events": ["stop"], "nvim": {"function": "ocstop#on"}}]]),
        pack([0, 1, "subscribe", [{"nvim": {"lua": "require('ocstop')._event(...)"}}]]),
        pack([0, 1, "subscribe", [{"nvim": {"function": b"F\x00"}}]]),
        pack([2, "nvim_error_event", [0, "Vim:E117: Unknown function: F"]]),
        response(13, None, [1, "not_found: no such session: ses_zzz"]),
        response(14, None, [0, "opencode_unreachable: cannot reach OpenCode"]),
        response(15, None, [1, "bad_request"]),
        pack([0, 1, b"pi\x00ng\xff", []]),
        pack([0, 1, "ping", [None]]),
        pack([0, 1, "ping", {}]),
        pack([0, 1, 2, []]),
        pack([3, 1, "ping", []]),
        pack([0, 1 << 33, "ping", []]),
        b"\xc1",
        b"\xdd\xff\xff\xff\xff",
        b"\x91" * 40,
    ]
    for s in streams:
        put(out, "reader", b"\x00" + cuts([]) + s)
    allof = b"".join(streams[:13])
    put(out, "reader", b"\x00" + cuts([1]) + allof)
    put(out, "reader", b"\x00" + cuts([3, 0, 17]) + allof)
    put(out, "reader", b"\x10" + cuts([5]) + allof)

    # The SSE parser: tests/test-sse.c's streams.
    for s in [
        b'data: {"directory":"/p","payload":{"id":"evt_1","type":"session.idle","properties":{"sessionID":"ses_1"}}}\n\n'
        b'data: {"payload":{"type":"server.heartbeat"}}\n\ndata:no-space\n\ndata:  two spaces\n\n',
        b"data: a\r\n\r\ndata: b\rdata: c\r\r: x\n\n",
        b"data: one\ndata: two\ndata:\ndata: four\n\ndata\n\ndata\ndata\n\n",
        b": hello\n\nevent: message\nid: 7\nretry: 10\ndata: x\n: mid\n\n"
        b"database: no\ndat: no\ndata : no\nDATA: no\n\nid: only\n\ndata: y\n\ndata: unterminated\n",
        b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\ndata: b\n\n",
        b"\xef\xbbdata: a\n\ndata: b\n\n",
    ]:
        put(out, "sse", b"\x00" + cuts([]) + s)
        put(out, "sse", b"\x0a" + cuts([1, 2, 7]) + s)

    # The engine: tests/test-engine.c's stories.
    def lines(*ls):
        return b"\x20" + "\n".join(ls).encode()

    def e(ev, n=0):
        return "e%d%s" % (n, json.dumps(ev, separators=(",", ":")))

    stories = [
        lines(e(info("session.created", "ses_a")), e(status("ses_a", "busy")), e(part("ses_a")),
              "x0ses_a", "A1", e(status("ses_a", "idle")), "t150", "t200"),
        lines(e(info("session.created", "ses_a")), e(info("session.created", "ses_b", "ses_a")),
              e(status("ses_a", "busy")), e(status("ses_b", "busy")), "a*", "A1", "A0",
              e(status("ses_b", "idle")), "t1000", "A1", "A1", e(status("ses_a", "idle")), "t150"),
        lines(e(status("ses_a", "busy")), "aunknown,ses_a,ses_zz", "P", "t5000"),
        lines(e(status("ses_c", "busy"), 1), "x1ses_c", "g1", e(status("ses_c", "busy"), 1), "a/p"),
        lines("s0" + json.dumps({"ses_a": {"type": "busy"}, "ses_b": {"type": "retry", "attempt": 1}}),
              "l0" + json.dumps([info("session.updated", "ses_a")["payload"]["properties"]["info"]]),
              "s0{}", e(event("session.deleted", {"info": {"id": "ses_a"}}))),
        lines(e(info("session.created", "ses_y", "ses_z")), e(info("session.created", "ses_z", "ses_y")),
              e(status("ses_z", "busy")), "x0ses_z", "a*", "t3000"),
        lines("r1" + json.dumps(status("ses_r", "busy")["payload"]), "x1ses_r", "A1",
              "r1" + json.dumps(status("ses_r", "idle")["payload"]), "t100"),
        # The x's own session is the shim's to abort; the shim's abort fails; no idle event comes and
        # the status check answers idle, then (another stop) busy, then not at all.
        lines(e(status("ses_a", "busy")), "x0ses_a", "Xses_a", "A1", "t1000", "A1", "t1000",
              "s0{}", "C1", "t150"),
        lines(e(status("ses_a", "busy")), "x0ses_a", "t1001", "t1001",
              "s0" + json.dumps({"ses_a": {"type": "busy"}}), "C1", e(status("ses_b", "busy")),
              "x0ses_b", "t1001", "t1001", "t2001", "C0"),
    ]
    for s in stories:
        put(out, "engine", s)

    # The config: tests/test-config.c's files and command lines.
    for s in [
        b"# ocstop\nstop_words = stop, HALT ,x\nquiet_ms = 100\nstop_timeout_ms = 3000\n"
        b"opencode_url = http://127.0.0.1:4096\nusername = me\n",
        b"stop_words = x\n\x00whalt\x00q50\x00t60000\x00uhttps://h:1\x00n\x00m X \x00mhalt",
        b"quiet_ms = 10001\n",
        b"bad line\n",
        b"opencode_url = ftp://x\n",
        b"\x00ppassword\n\x00PpwEnv\x00Uhttp://a:1, http://b:2",
        b"\x00wa b\x00w" + b"a" * 33,
        "stop_words = стоп, x\n\x00mСТОП".encode(),
        b"x" * 1030 + b"\n",
    ]:
        put(out, "config", s)


def sse_events(raw):
    """The data of each event of a recorded /global/event stream."""
    return [m.decode("utf-8", "replace") for m in re.findall(rb"^data: (.*)$", raw, re.M)]


def capture_seeds(out, cap):
    for name in sorted(os.listdir(cap)):
        path = os.path.join(cap, name)
        data = open(path, "rb").read()
        if name.endswith(".sse"):
            put(out, "sse", b"\x00" + cuts([]) + data)
            put(out, "sse", b"\x00" + cuts([13, 200, 1]) + data)
            evs = [d for d in sse_events(data) if '"session.' in d or '"message.' in d]
            # The whole run as the engine saw it, then stops asked at each busy status.
            sids = sorted(set(re.findall(r'"(ses_[0-9A-Za-z]+)"', "".join(evs))))
            for i in range(0, len(evs), 40):
                chunk = ["e0" + d for d in evs[i:i + 40]]
                busy = [j for j, d in enumerate(chunk) if '"busy"' in d]
                for j in busy[:1]:
                    sid = re.search(r'"sessionID":"(ses_[0-9A-Za-z]+)"', chunk[j])
                    if sid:
                        chunk.insert(j + 1, "x0" + sid.group(1))
                        chunk.insert(j + 2, "A1")
                chunk += ["t150", "a" + ",".join(sids[:3]), "t3000"]
                put(out, "engine", b"\x20" + "\n".join(chunk).encode())
        elif name.endswith(".rpc"):
            put(out, "reader", b"\x00" + cuts([]) + data)
            put(out, "reader", b"\x00" + cuts([7, 1, 64]) + data)


def main():
    out = sys.argv[1]
    test_seeds(out)
    if len(sys.argv) > 2:
        capture_seeds(out, sys.argv[2])


if __name__ == "__main__":
    main()
