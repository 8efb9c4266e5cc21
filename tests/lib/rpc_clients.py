#!/usr/bin/python3
"""Other msgpack-rpc clients of the daemon, for tests/integration/rpc-clients.sh.

    rpc_clients.py CLIENT SOCKET CASE [SESSION]

CLIENT: pynvim (pynvim's session layer, as its users reach it: method names sent as msgpack bin)
or raw (tests/lib/mrpc.py: python3-msgpack over the socket). Prints the case's outcome as one JSON
value; an error reply is printed as {"error": TEXT}, TEXT what the client shows of it. Exit 3 when
the client is not installed. Cases:

    ping            ping with {} (and pynvim: with the name as bin); the result
    status          the result of status
    abort SESSION   abort of SESSION, waiting for the proof; the result
    missing         abort of a session nobody has: the error
    notify SESSION  subscribe to stops, then abort SESSION as a notification; the stop event of it
    pipeline SESSION (raw) ping, abort SESSION, ping, status in one write: the msgids in the order
                    they were answered, and the abort's result
    attach          (pynvim) pynvim.attach('socket'): the error it ends with
    facade          (pynvim) an Nvim object built on the session: ping, and an error's text
"""
import json
import os
import signal
import sys

MISSING = "ses_zzzNobodyHasThis"
# Each case ends within this, whatever the daemon does: a stop's proof takes seconds.
CASE_SECONDS = 40


def out(value):
    print(json.dumps(value, default=lambda b: b.decode("utf-8", "replace")))


def stop_event_of(msg, session):
    """The stop event of session in a notification [.., "event", [event]], else None."""
    if not msg or msg[-2] not in ("event", b"event"):
        return None
    ev = msg[-1][0]
    return ev if ev.get("type") == "stop" and ev["stop"]["session"] == session else None


def run_pynvim(path, case, session):
    try:
        import pynvim
        from pynvim.msgpack_rpc import socket_session
    except ImportError as e:
        print("pynvim is not installed: %s" % e, file=sys.stderr)
        sys.exit(3)
    if case == "attach":
        try:
            pynvim.attach("socket", path=path)
            out({"attached": True})
        except Exception as e:  # what the user sees: NvimError's text
            out({"error": str(e), "class": type(e).__name__})
        return
    s = socket_session(path)
    # A bare Session has no error_wrapper (Nvim.from_session sets one): without it every error
    # reply raises AttributeError. The error is [kind, "name: message"].
    s.error_wrapper = lambda e: pynvim.NvimError(e[1])

    def call(method, *args, **kw):
        try:
            return s.request(method, *args, **kw)
        except pynvim.NvimError as e:
            return {"error": str(e)}

    if case == "ping":
        out({"str": call("ping", {}), "bin": call(b"ping", {}), "none": call("ping")})
    elif case == "status":
        out(call("status", {}))
    elif case == "abort":
        out(call("abort", {"session": session}))
    elif case == "missing":
        out(call("abort", {"session": MISSING}))
    elif case == "notify":
        call("subscribe", {"events": ["stop"]})
        s.request("abort", {"session": session}, async_=True)
        while True:
            msg = s.next_message()
            ev = stop_event_of(list(msg) if msg else None, session)
            if ev is not None:
                out(ev)
                return
    elif case == "facade":
        n = pynvim.Nvim(s, 0, {"types": {}}, {})
        try:
            n.request("abort", {"session": MISSING})
            err = None
        except pynvim.NvimError as e:
            err = str(e)
        out({"ping": n.request("ping", {}), "error": err})
    else:
        sys.exit("unknown case %s" % case)


def run_raw(path, case, session):
    try:
        import msgpack
        import mrpc
    except ImportError as e:
        print("python3-msgpack is not installed: %s" % e, file=sys.stderr)
        sys.exit(3)
    c = mrpc.Client(path)

    def reply(msgid):
        while True:
            m = c.next()
            if m[0] == 1 and m[1] == msgid:
                return {"error": m[2][1]} if m[2] is not None else m[3]

    if case == "ping":
        # [[]]: what Neovim's Lua sends for {}; [] and [{}].
        out({"empty_table": reply(c.request("ping", [])), "none": reply(c.request("ping")),
             "map": reply(c.request("ping", {}))})
    elif case == "status":
        out(reply(c.request("status", {})))
    elif case == "abort":
        out(reply(c.request("abort", {"session": session})))
    elif case == "missing":
        out(reply(c.request("abort", {"session": MISSING})))
    elif case == "notify":
        reply(c.request("subscribe", {"events": ["stop"]}))
        c.notify("abort", {"session": session})
        while True:
            ev = stop_event_of(c.next(), session)
            if ev is not None:
                out(ev)
                return
    elif case == "pipeline":
        frames = [[0, 1, "ping", []], [0, 2, "abort", [{"session": session}]], [0, 3, "ping", [[]]],
                  [0, 4, "status", [{"limit": 1}]]]
        c.sock.sendall(b"".join(msgpack.packb(f) for f in frames))
        order, results = [], {}
        while len(order) < len(frames):
            m = c.next()
            if m[0] == 1:
                order.append(m[1])
                results[m[1]] = m[3] if m[2] is None else {"error": m[2][1]}
        out({"order": order, "abort": results[2]})
    else:
        sys.exit("unknown case %s" % case)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    client, path, case = sys.argv[1:4]
    session = sys.argv[4] if len(sys.argv) > 4 else None
    signal.alarm(CASE_SECONDS)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    {"pynvim": run_pynvim, "raw": run_raw}[client](path, case, session)


if __name__ == "__main__":
    main()
