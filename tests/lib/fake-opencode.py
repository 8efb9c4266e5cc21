"""A small fake OpenCode server for the daemon's error paths, which the real one cannot be made to
produce: sessions that never go idle after an abort, output that never goes quiet, aborts that fail.

    python3 fake-opencode.py PORTFILE [DOWN_DIR]

Writes its port to PORTFILE. With DOWN_DIR it starts down: until DOWN_DIR/up exists, each health
check fails with the next of 500, 502 and 503 (a failing proxy: each message differs from the last)
and adds its status as a line to DOWN_DIR/failed. Sessions, all busy from the start, behave by name:
  ses_ok       goes idle when aborted
  ses_stuck    never goes idle
  ses_chatty   goes idle, then keeps emitting part events
  ses_fail     its abort answers 500
  ses_slow     a loaded OpenCode: each abort request takes 3.2 s (longer than the proof's default
               3 s timeout), the first one then fails with 504, and the abort takes effect at 3.5 s
  ses_mute     goes idle when aborted without saying so: no event, only the status route knows
GET /__aborts lists the abort requests received, one session id per line.
"""
import json
import os
import queue
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SESSIONS = ["ses_ok", "ses_stuck", "ses_chatty", "ses_fail", "ses_slow", "ses_mute"]
silently_idle = set()
DIRECTORY = "/fake/proj"
streams = []
streams_lock = threading.Lock()
aborts = []
DOWN_DIR = sys.argv[2] if len(sys.argv) > 2 else None
down_statuses = [500, 502, 503]
down_failed = 0


def down_failure():
    """The status of a health check while down, or None when up."""
    global down_failed
    if DOWN_DIR is None or os.path.exists(os.path.join(DOWN_DIR, "up")):
        return None
    code = down_statuses[down_failed % len(down_statuses)]
    down_failed += 1
    with open(os.path.join(DOWN_DIR, "failed"), "a") as f:
        f.write(f"{code}\n")
    return code


def publish(type_, props):
    frame = "data: " + json.dumps({"directory": DIRECTORY, "payload": {"type": type_, "properties": props}}) + "\n\n"
    with streams_lock:
        for q in streams:
            q.put(frame)


def chatter(sid):
    for _ in range(200):
        time.sleep(0.05)
        publish("message.part.delta", {"sessionID": sid, "messageID": "msg_1", "partID": "prt_1", "field": "text", "delta": "."})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = body.encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/global/health" and (code := down_failure()) is not None:
            return self.reply(code, '{"error":"down"}')
        if self.path == "/global/health":
            return self.reply(200, '{"healthy":true,"version":"0.0.0-fake"}')
        if self.path.startswith("/session/status"):
            return self.reply(200, json.dumps({s: {"type": "busy"} for s in SESSIONS if s not in silently_idle}))
        if self.path == "/__aborts":
            return self.reply(200, "".join(a + "\n" for a in aborts))
        if self.path.startswith("/session/ses_gone"):
            sid = self.path.split("/")[2]
            return self.reply(404, json.dumps({"name": "NotFoundError",
                                               "data": {"message": "Session not found: " + sid}}))
        if self.path.startswith("/session/"):
            sid = self.path.split("/")[2]
            return self.reply(200, json.dumps({"id": sid, "directory": DIRECTORY, "title": sid}))
        if self.path == "/global/event":
            q = queue.Queue()
            q.put("data: " + json.dumps({"payload": {"type": "server.connected", "properties": {}}}) + "\n\n")
            for s in SESSIONS:
                q.put("data: " + json.dumps({"directory": DIRECTORY, "payload": {"type": "session.status",
                      "properties": {"sessionID": s, "status": {"type": "busy"}}}}) + "\n\n")
            with streams_lock:
                streams.append(q)
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            try:
                while True:
                    try:
                        frame = q.get(timeout=5).encode()
                    except queue.Empty:
                        frame = b": heartbeat\n\n"
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                    self.wfile.flush()
            except OSError:
                with streams_lock:
                    streams.remove(q)
            return
        self.reply(404, "{}")

    def do_POST(self):
        parts = self.path.split("/")
        if len(parts) == 4 and parts[1] == "session" and parts[3] == "abort":
            sid = parts[2]
            aborts.append(sid)
            if sid == "ses_fail":
                return self.reply(500, '{"name":"UnknownError"}')
            if sid == "ses_slow":
                first = aborts.count(sid) == 1
                if first:
                    threading.Timer(3.5, publish, ("session.status",
                                    {"sessionID": sid, "status": {"type": "idle"}})).start()
                time.sleep(3.2)
                if first:
                    return self.reply(504, '{"name":"GatewayTimeout"}')
                return self.reply(200, "true")
            if sid in ("ses_ok", "ses_chatty"):
                publish("session.status", {"sessionID": sid, "status": {"type": "idle"}})
                publish("session.idle", {"sessionID": sid})
            if sid == "ses_chatty":
                threading.Thread(target=chatter, args=(sid,), daemon=True).start()
            if sid == "ses_mute":
                silently_idle.add(sid)
            return self.reply(200, "true")
        self.reply(404, "{}")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
