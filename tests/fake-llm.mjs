#!/usr/bin/env node
// fake-llm.mjs — dependency-free fake OpenAI-compatible model server for the ocstop tests.
//
//   node tests/fake-llm.mjs [--port N] [--log FILE] [--tick-ms MS]
//
// Listens on 127.0.0.1:N (0 = ephemeral) and prints "listening PORT" as its first stdout line.
// POST /v1/chat/completions always answers with an SSE stream (or an HTTP error for FAIL*).
// The behaviour is chosen from the LAST message of the request:
//   system prompt contains "title generator"  -> kind "title": short finished stream "Fake title"
//   last message role "tool"                  -> kind "tool_result": short finished reply "done."
//   last user text contains TOOL(cmd)         -> kind "tool": one `bash` tool call {command: cmd}
//   last user text contains TOOLS(c1|c2|...)  -> kind "tools": one `bash` tool call per command, all in
//                                                one response (a command cannot contain "|")
//   last user text contains SLOWTOOL(cmd) or  -> kind "slowtool": the same calls, whose JSON arguments
//     SLOWTOOLS(c1|c2|...)                       stream in pieces (one piece of each call every --tick-ms)
//                                                and stay one character short of complete until
//                                                POST /__release completes them (see below)
//   last user text contains TASK(prompt)      -> kind "task": one `task` tool call (subagent "general")
//   last user text contains FAILnnn[(secs)]   -> kind "fail": HTTP nnn JSON error; retry-after: secs if
//                                                given (429 defaults to 1 s; others send none).
//                                                E.g. FAIL500, FAIL429, FAIL429(2), FAIL503(30)
//   anything else                             -> kind "stream": "tick N " every 100 ms (--tick-ms) until the client
//                                                hangs up (or 10 minutes pass)
// Verified against opencode-ai 1.18.33 (@ai-sdk/openai-compatible is bundled in the binary):
//   * tool calls: one chunk with delta.tool_calls = [{index:0, id:"call_…", type:"function",
//     function:{name, arguments:"<complete JSON string>"}}], then a chunk with finish_reason
//     "tool_calls", then "data: [DONE]". OpenCode runs the tool (TOOL(sleep 300) -> a `sleep 300`
//     process, a direct child of the opencode process) and then calls the model again with a
//     role "tool" message (kind "tool_result"), unless the session was aborted.
//   * TASK(p): OpenCode creates a child session (parentID = the parent, agent "general", title
//     "sub (@general subagent)"); the child's request has p as its last user text. Aborting the parent
//     closes the child's stream too.
//   * HTTP 500 and HTTP 429 both make OpenCode retry (any status >= 500, 408, 409, 429 does):
//     /session/status shows {type:"retry", attempt, message:"fake 500", next:<epoch ms>}.
//     Delay = retry-after-ms or retry-after header if present, else 2 s * 2^(attempt-1) + up to 25 %
//     jitter (measured: requests 2.5 s, 5 s, 9.6 s, 18.4 s apart for FAIL500); FAIL429 retries every
//     ~1.0 s. OpenCode GIVES UP after 5 retries (6 requests): the session goes idle by itself with an
//     APIError on the assistant message (FAIL429: after ~5 s). So to assert "abort ended the retry"
//     use e.g. FAIL429(2) (retry state for ~10 s, a request every 2 s). Aborting a session in
//     "retry" makes it idle at once, with no further request. (SessionRetry in the bundled JS:
//     RETRY_INITIAL_DELAY 2000, BACKOFF 2, JITTER 0.25, MAX_DELAY_NO_HEADERS 30000, MAX_RETRIES 5.)
//   * A "title" request is only made for sessions created without a title (POST /session {}); it
//     comes before the real request.
//   * Several tool calls in one response (TOOLS): OpenCode runs them in parallel, each as soon as its
//     arguments are complete, and calls the model again once all have ended.
//   * A streamed tool call (SLOWTOOL): the tool part is "pending" while the arguments stream; OpenCode
//     (the AI SDK's openai-compatible provider) starts the tool the moment the arguments parse as
//     JSON, not at finish_reason, and nothing runs while they do not. So a call's completion is the
//     write of its last piece: the release, on the clock this server logs.
// Every chat request appends one JSON line to --log:
//   {t, t_us, n, kind, last_user, last_role, has_tool_result[, calls]}
// (t: wall clock in ms since the epoch, t_us in microseconds; calls: the number of tool calls), and
// every completion of a held call one line
//   {event: "tool_done", t, t_us, n, index, id}
// (n: the request, index: the call's index in it, id: its tool call id; no "kind").
// GET /__stats returns {requests, open_streams, last_t, held, times, done}: held, the calls waiting
// for a release; times, the t_us of each request; done, {n, index, t_us} of each completion (both the
// last MAX_STATS_TIMES).
// POST /__release[?n=N][&count=K][&at=MS] completes, at the wall time MS (ms since the epoch, may have
// a fraction; default now; at most 10 s ahead), the first K (default all) calls still held of request
// N (default every request holding any), in index order, and finishes a response whose calls are all
// complete. It answers {released: [{n, index}]} at once, naming the calls it will complete (HTTP 400
// for a malformed query). A held response is no "stream": open_streams does not count it.
import http from "node:http";
import fs from "node:fs";

const args = process.argv.slice(2);
let port = 0;
let logFile = null;
let tickMs = 100;
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--port") port = Number(args[++i]);
  else if (args[i] === "--log") logFile = args[++i];
  else if (args[i] === "--tick-ms") {
    tickMs = Number(args[++i]);
    if (!Number.isInteger(tickMs) || tickMs < 1) {
      process.stderr.write(`fake-llm: --tick-ms wants a whole number of milliseconds, not ${args[i]}\n`);
      process.exit(2);
    }
  } else {
    process.stderr.write(`fake-llm: unknown argument ${args[i]}\n`);
    process.exit(2);
  }
}

const MAX_STREAM_MS = 10 * 60 * 1000;
const MAX_STATS_TIMES = 10000;
const MAX_RELEASE_AHEAD_MS = 10 * 1000;
// Characters of a held call's arguments sent per tick.
const PIECE_CHARS = 8;
const SPIN_MS = 8;
let requests = 0;
let openStreams = 0;
let lastT = 0;
const times = [];
const done = [];
// Responses whose tool calls stream until released: n -> {calls: [{index, id, rest, complete}], finish}.
const heldResponses = new Map();

const wallUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const pushBounded = (a, v) => {
  a.push(v);
  if (a.length > MAX_STATS_TIMES) a.shift();
};

function textOf(content) {
  if (content == null) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p === "string" ? p : p && typeof p.text === "string" ? p.text : "")).join("");
  return "";
}

// Argument of NAME(...) with balanced parentheses; null if absent.
function callArg(text, name) {
  const start = text.indexOf(name + "(");
  if (start < 0) return null;
  let depth = 0;
  const from = start + name.length + 1;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") {
      if (depth === 0) return text.slice(from, i);
      depth--;
    }
  }
  return text.slice(from); // unbalanced: take the rest
}

function classify(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  const last = msgs[msgs.length - 1] || {};
  let lastUser = "";
  for (let i = msgs.length - 1; i >= 0; i--)
    if (msgs[i] && msgs[i].role === "user") {
      lastUser = textOf(msgs[i].content);
      break;
    }
  const system = msgs.filter((m) => m && m.role === "system").map((m) => textOf(m.content)).join("\n");
  const info = {
    last_user: lastUser,
    last_role: last.role || null,
    has_tool_result: msgs.some((m) => m && m.role === "tool"),
  };
  if (system.includes("title generator")) return { kind: "title", ...info };
  if (last.role === "tool") return { kind: "tool_result", ...info };
  // Only the last message decides; if it is not a user message, fall through to "stream".
  const text = last.role === "user" ? textOf(last.content) : "";
  let a;
  if ((a = callArg(text, "SLOWTOOLS")) !== null || (a = callArg(text, "SLOWTOOL")) !== null)
    return { kind: "slowtool", cmds: a.split("|"), ...info };
  if ((a = callArg(text, "TOOLS")) !== null) return { kind: "tools", cmds: a.split("|"), ...info };
  if ((a = callArg(text, "TOOL")) !== null) return { kind: "tool", arg: a, ...info };
  if ((a = callArg(text, "TASK")) !== null) return { kind: "task", arg: a, ...info };
  const f = /FAIL(\d{3})(?:\((\d+(?:\.\d+)?)\))?/.exec(text);
  if (f) {
    const status = Number(f[1]);
    const retryAfter = f[2] !== undefined ? f[2] : status === 429 ? "1" : null;
    return { kind: "fail", status, retryAfter, ...info };
  }
  return { kind: "stream", ...info };
}

function log(rec) {
  if (!logFile) return;
  try {
    fs.appendFileSync(logFile, JSON.stringify(rec) + "\n");
  } catch (e) {
    process.stderr.write(`fake-llm: log: ${e.message}\n`);
  }
}

function chat(req, res, raw) {
  let body = {};
  try {
    body = JSON.parse(raw || "{}");
  } catch {
    res.writeHead(400, { "content-type": "application/json" });
    return res.end(JSON.stringify({ error: { message: "bad json", type: "invalid_request_error" } }));
  }
  const n = ++requests;
  const tUs = wallUs();
  const t = Math.floor(tUs / 1000);
  lastT = t;
  pushBounded(times, tUs);
  const c = classify(body);
  const rec = {
    t,
    t_us: tUs,
    n,
    kind: c.kind,
    last_user: c.last_user,
    last_role: c.last_role,
    has_tool_result: c.has_tool_result,
  };
  if (c.kind === "fail") rec.status = c.status;
  if (c.cmds) rec.calls = c.cmds.length;
  log(rec);

  if (c.kind === "fail") {
    const h = { "content-type": "application/json" };
    if (c.retryAfter !== null) h["retry-after"] = c.retryAfter;
    res.writeHead(c.status, h);
    const type = c.status === 429 ? "rate_limit_error" : "server_error";
    return res.end(JSON.stringify({ error: { message: `fake ${c.status}`, type, code: String(c.status) } }));
  }

  const id = `chatcmpl-fake-${n}`;
  const created = Math.floor(t / 1000);
  const chunk = (delta, finish = null) =>
    "data: " +
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model || "fake-model",
      choices: [{ index: 0, delta, finish_reason: finish }],
    }) +
    "\n\n";
  const usage = () =>
    "data: " +
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model: body.model || "fake-model",
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }) +
    "\n\n";
  const DONE = "data: [DONE]\n\n";

  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  const finished = (text) =>
    res.end(chunk({ role: "assistant", content: text }) + chunk({}, "stop") + usage() + DONE);
  const callId = (index) => `call_fake_${n}_${index}`;
  const callDelta = (index, name, args) =>
    chunk({ tool_calls: [{ index, id: callId(index), type: "function", function: { name, arguments: args } }] });
  const argsDelta = (index, args) => chunk({ tool_calls: [{ index, function: { arguments: args } }] });
  const toolEnd = () => chunk({}, "tool_calls") + usage() + DONE;
  const toolCalls = (name, argsList) =>
    res.end(
      chunk({ role: "assistant", content: null }) +
        argsList.map((a, index) => callDelta(index, name, JSON.stringify(a))).join("") +
        toolEnd(),
    );
  const toolCall = (name, argsObj) =>
    res.end(
      chunk({ role: "assistant", content: null }) +
        chunk({
          tool_calls: [
            { index: 0, id: `call_fake_${n}`, type: "function", function: { name, arguments: JSON.stringify(argsObj) } },
          ],
        }) +
        toolEnd(),
    );
  const bashArgs = (command) => ({ command, description: "run" });

  switch (c.kind) {
    case "title":
      return finished("Fake title");
    case "tool_result":
      return finished("done.");
    case "tool":
      return toolCall("bash", { command: c.arg, description: "run" });
    case "task":
      return toolCall("task", { description: "sub", prompt: c.arg, subagent_type: "general" });
    case "tools":
      return toolCalls("bash", c.cmds.map(bashArgs));
    case "slowtool":
      return slowToolCalls(req, res, n, c.cmds.map((cmd) => JSON.stringify(bashArgs(cmd))), {
        id: callId,
        start: chunk({ role: "assistant", content: null }),
        first: (index, args) => callDelta(index, "bash", args),
        piece: argsDelta,
        end: toolEnd,
      });
  }

  // kind "stream": tick until the client hangs up.
  openStreams++;
  let closed = false;
  let k = 0;
  res.write(chunk({ role: "assistant", content: "" }));
  const timer = setInterval(() => res.write(chunk({ content: `tick ${++k} ` })), tickMs);
  const cap = setTimeout(() => {
    clearInterval(timer);
    res.end(chunk({}, "stop") + usage() + DONE);
  }, MAX_STREAM_MS);
  const onClose = () => {
    if (closed) return;
    closed = true;
    openStreams--;
    clearInterval(timer);
    clearTimeout(cap);
  };
  res.on("close", onClose);
  req.socket.on("close", onClose);
}

// slowToolCalls: stream each call's arguments PIECE_CHARS at a time, one piece of each per tick, up to
// their last character, which only a release sends (MAX_STREAM_MS at most).
function slowToolCalls(req, res, n, argsList, w) {
  const calls = argsList.map((args, index) => ({
    index,
    id: w.id(index),
    sent: 0,
    args,
    complete: false,
  }));
  let closed = false;
  res.write(w.start);
  const tick = () => {
    let out = "";
    for (const c of calls) {
      if (c.complete || c.sent >= c.args.length - 1) continue;
      const to = Math.min(c.sent + PIECE_CHARS, c.args.length - 1);
      const piece = c.args.slice(c.sent, to);
      out += c.sent === 0 ? w.first(c.index, piece) : w.piece(c.index, piece);
      c.sent = to;
    }
    if (out) res.write(out);
  };
  tick();
  const timer = setInterval(tick, tickMs);
  const held = {
    n,
    calls,
    // complete: send what is left of call c, at once; the response ends with its last call.
    complete(c) {
      if (closed || c.complete) return;
      c.complete = true;
      let out = c.sent === 0 ? w.first(c.index, c.args) : w.piece(c.index, c.args.slice(c.sent));
      c.sent = c.args.length;
      const last = calls.every((x) => x.complete);
      if (last) out += w.end();
      res.write(out);
      const tUs = wallUs();
      pushBounded(done, { n, index: c.index, t_us: tUs });
      log({ event: "tool_done", t: Math.floor(tUs / 1000), t_us: tUs, n, index: c.index, id: c.id });
      if (last) {
        res.end();
        onClose();
      }
    },
  };
  heldResponses.set(n, held);
  const cap = setTimeout(() => calls.forEach((c) => held.complete(c)), MAX_STREAM_MS);
  const onClose = () => {
    if (closed) return;
    closed = true;
    heldResponses.delete(n);
    clearInterval(timer);
    clearTimeout(cap);
  };
  res.on("close", onClose);
  req.socket.on("close", onClose);
}

// release: the /__release route. A completion due in the future waits on a timer until SPIN_MS before
// `at` and then spins, so that it lands within a fraction of a millisecond of it (timers on a busy
// machine fire some ms late).
function release(query) {
  const n = query.has("n") ? Number(query.get("n")) : null;
  const count = query.has("count") ? Number(query.get("count")) : Infinity;
  const at = query.has("at") ? Number(query.get("at")) : 0;
  const now = Date.now();
  if ((n !== null && !Number.isInteger(n)) || !(count >= 0) || !Number.isFinite(at) || at > now + MAX_RELEASE_AHEAD_MS)
    return null;
  const chosen = [];
  for (const held of heldResponses.values()) {
    if (n !== null && held.n !== n) continue;
    const pending = held.calls.filter((c) => !c.complete).slice(0, count);
    for (const c of pending) chosen.push({ held, c });
  }
  const fire = () => {
    while (performance.timeOrigin + performance.now() < at);
    for (const { held, c } of chosen) held.complete(c);
  };
  const wait = at - now;
  if (wait > SPIN_MS) setTimeout(fire, wait - SPIN_MS);
  else setImmediate(fire);
  return chosen.map(({ held, c }) => ({ n: held.n, index: c.index }));
}

const server = http.createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (raw += d));
  req.on("end", () => {
    const [url, qs] = (req.url || "").split("?");
    if (req.method === "GET" && url === "/__stats") {
      let held = 0;
      for (const h of heldResponses.values()) held += h.calls.filter((c) => !c.complete).length;
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ requests, open_streams: openStreams, last_t: lastT, held, times, done }));
    }
    if (req.method === "POST" && url === "/__release") {
      const released = release(new URLSearchParams(qs || ""));
      res.writeHead(released ? 200 : 400, { "content-type": "application/json" });
      return res.end(JSON.stringify(released ? { released } : { error: { message: "bad release" } }));
    }
    if (req.method === "POST" && url.endsWith("/chat/completions")) return chat(req, res, raw);
    if (req.method === "GET" && url.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ object: "list", data: [{ id: "fake-model", object: "model", owned_by: "fake" }] }));
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: "not found" } }));
  });
});
server.keepAliveTimeout = 1000;
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(sig, () => process.exit(0));
