"""Every reply, event and relay request of a real daemon, checked against PROTOCOL.md's shapes.

    python3 protocol_check.py SOCKET PROTOCOL.md

The daemon watches the fake OpenCode of tests/lib/fake-opencode.py (ses_ok goes idle when
aborted, ses_stuck never does); this script is also a relayed OpenCode's plugin shim. Prints TAP.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from peer import Peer, error_name  # noqa: E402
from shapes import Shapes  # noqa: E402

results = []


def case(desc, errors):
    results.append((desc, errors))


def result_of(shapes, method, reply, desc):
    err, res = reply
    if err is not None:
        case(desc, ["error reply %r" % (err,)])
    else:
        case(desc, shapes.check(method + ".result", res))
    return res


def error_of(shapes, reply, name, desc):
    err, res = reply
    problems = shapes.check("error", err) if err is not None else ["no error"]
    if err is not None and error_name(err) != name:
        problems.append("%r is not a %s error of its kind" % (err, name))
    if res is not None:
        problems.append("result %r beside an error" % (res,))
    case(desc, problems)


def event(shim, sid_event):
    shim.notify("opencode.event", {"directory": "/w", "event": json.dumps(sid_event)})


def main(path, doc):
    shapes = Shapes(doc)
    watcher = Peer(path)
    result_of(shapes, "subscribe", watcher.call("subscribe"), "subscribe: {}")
    lua = "require('ocstop').event(...)"
    nvim = Peer(path)
    result_of(shapes, "subscribe", nvim.call("subscribe", {"nvim": {"lua": lua}}),
              "subscribe: nvim lua")
    ctl = Peer(path)
    result_of(shapes, "ping", ctl.call("ping"), "ping")

    shim = Peer(path)
    reg = result_of(shapes, "register", shim.call("register", {
        "server_url": "http://127.0.0.1:1", "directory": "/w", "worktree": "/w", "pid": 900100,
        "opencode_version": "1.18.33"}), "register (relay)")
    listing = shim.next_request("opencode.sessions")
    case("the relay's opencode.sessions request", shapes.check("opencode.sessions.params", listing[3][0]))
    shim.send([1, listing[1], None, {"statuses": "{}", "sessions": json.dumps(
        [{"id": "ses_listed", "directory": "/w", "title": "listed"}])}])
    event(shim, {"type": "session.created", "properties": {"info": {
        "id": "ses_w1", "directory": "/w", "title": "a title"}}})
    event(shim, {"type": "session.status", "properties": {"sessionID": "ses_w1", "status": {"type": "busy"}}})

    def msg(sid, text):
        return shim.call("message", {"session": sid, "message_id": "msg_1", "directory": "/w",
                                     "server_url": "http://127.0.0.1:1",
                                     "parts": [{"type": "text", "text": text}]})
    result_of(shapes, "message", msg("ses_w1", "y"), "message: pass")
    verdict = result_of(shapes, "message", msg("ses_w1", "x"), "message: abort (the tree runs)")
    abort = shim.next_request("opencode.abort")
    case("the relay's opencode.abort request", shapes.check("opencode.abort.params", abort[3][0]))
    shim.send([1, abort[1], None, {"ok": True, "ms": 3}])
    event(shim, {"type": "session.status", "properties": {"sessionID": "ses_w1", "status": {"type": "idle"}}})
    time.sleep(0.3)  # the quiet window
    result_of(shapes, "message", msg("ses_w1", "x"), "message: clear (nothing runs)")
    result_of(shapes, "message", msg("ses_unseen", "X"), "message: abort (a session never seen)")

    st = result_of(shapes, "status", ctl.call("status"), "status")
    case("status lists both servers and the sessions",
         [] if st and len(st["servers"]) == 2 and any(s["id"] == "ses_w1" for s in st["sessions"])
         else ["status: %r" % (st,)])
    st = result_of(shapes, "status", ctl.call("status", {"limit": 1}), "status with a limit")
    case("status with a limit lists one session and counts the rest",
         [] if st and len(st["sessions"]) == 1 and st["sessions_left_out"] == st["counters"]["sessions"] - 1
         else ["status: %r" % (st,)])
    result_of(shapes, "abort", ctl.call("abort", {"session": "ses_ok"}), "abort: a proven stop")
    result_of(shapes, "abort", ctl.call("abort", {"directory": "/nowhere", "timeout_ms": 200}),
              "abort: nothing to stop")
    result_of(shapes, "abort", ctl.call("abort", {"session": "ses_stuck", "timeout_ms": 150, "force": True}),
              "abort: not stopped, with the reason (forced)")
    result_of(shapes, "abort", ctl.call("abort", {"all": True, "session": None, "timeout_ms": 150}),
              "abort: all")
    result_of(shapes, "abort", ctl.call("abort", {"sessions": ["ses_stuck"], "wait": False}),
              "abort: wait false, pending")
    error_of(shapes, ctl.call("nosuchmethod"), "unknown_method", "error: unknown method")
    error_of(shapes, ctl.call("opencode.event", {"directory": "/w", "event": "{}"}), "unknown_method",
             "error: a notification-only method called as a request")
    error_of(shapes, ctl.call("abort", {"all": "yes"}), "bad_request", "error: bad params")
    error_of(shapes, ctl.call("abort", {"session": "ses_gone"}), "not_found",
             "error: a session no OpenCode server knows")
    result_of(shapes, "abort", ctl.call("abort", {"sessions": ["ses_ok", "ses_gone2"], "timeout_ms": 150}),
              "abort: a session stopped, another not found")
    error_of(shapes, ctl.call("abort"), "bad_request", "error: nothing said")
    error_of(shapes, ctl.call("abort", {"sessions": ["ses_%d" % i for i in range(65)]}), "limit",
             "error: a limit (too many ids)")
    error_of(shapes, ctl.call("status", {"limit": -1}), "bad_request", "error: a bad status limit")
    chk = result_of(shapes, "check", ctl.call("check", {"text": " X "}), "check: a stop word")
    case("check names the word it matched", [] if chk and chk.get("word") == "x" else ["check: %r" % (chk,)])
    result_of(shapes, "check", ctl.call("check", {"text": "hello"}), "check: not a stop word")
    error_of(shapes, ctl.call("check", {"text": 1}), "bad_request", "error: check without a text")

    event(shim, {"type": "session.deleted", "properties": {"info": {"id": "ses_w1"}}})
    shim.close()
    seen, problems = set(), []
    deadline = time.time() + 5
    want = {"session.created", "session.status", "session.deleted", "server.connected",
            "server.disconnected", "stop", "verdict"}
    while time.time() < deadline and not want <= seen:
        try:
            m = watcher._wait(lambda m: m[0] == 2, deadline - time.time())
        except TimeoutError:
            break
        if m[1] != "event" or len(m[2]) != 1:
            problems.append("notification %r" % (m[:2],))
            continue
        seen.add(m[2][0].get("type"))
        problems += shapes.check("event", m[2][0])
    missing = want - seen
    case("every event type seen, each of its shape (%d types)" % len(seen),
         problems + (["never saw %s" % ", ".join(sorted(missing))] if missing else []))

    # The same events, to the Neovim subscriber, as nvim_exec_lua calls.
    seen_nvim, problems = set(), []
    while time.time() < deadline + 5 and not want <= seen_nvim:
        try:
            m = nvim._wait(lambda m: m[0] == 2, deadline + 5 - time.time())
        except TimeoutError:
            break
        if m[1] != "nvim_exec_lua" or len(m[2]) != 2 or m[2][0] != lua or len(m[2][1]) != 1:
            problems.append("notification %r" % (m,))
            continue
        seen_nvim.add(m[2][1][0].get("type"))
        problems += shapes.check("event", m[2][1][0])
    missing = want - seen_nvim
    case("every event type seen as nvim_exec_lua, each of its shape (%d types)" % len(seen_nvim),
         problems + (["never saw %s" % ", ".join(sorted(missing))] if missing else []))

    print("1..%d" % len(results))
    for i, (desc, errors) in enumerate(results, 1):
        print("%s %d - %s" % ("not ok" if errors else "ok", i, desc))
        for e in errors[:10]:
            print("# " + e)
    return all(not e for _, e in results)


if __name__ == "__main__":
    sys.exit(0 if main(sys.argv[1], sys.argv[2]) else 1)
