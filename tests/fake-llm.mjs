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
// Every chat request appends one JSON line to --log:
//   {t, n, kind, last_user, last_role, has_tool_result}
// GET /__stats returns {requests, open_streams, last_t}.
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
let requests = 0;
let openStreams = 0;
let lastT = 0;

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
  const t = Date.now();
  lastT = t;
  const c = classify(body);
  const rec = { t, n, kind: c.kind, last_user: c.last_user, last_role: c.last_role, has_tool_result: c.has_tool_result };
  if (c.kind === "fail") rec.status = c.status;
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
  const toolCall = (name, argsObj) =>
    res.end(
      chunk({ role: "assistant", content: null }) +
        chunk({
          tool_calls: [
            { index: 0, id: `call_fake_${n}`, type: "function", function: { name, arguments: JSON.stringify(argsObj) } },
          ],
        }) +
        chunk({}, "tool_calls") +
        usage() +
        DONE,
    );

  switch (c.kind) {
    case "title":
      return finished("Fake title");
    case "tool_result":
      return finished("done.");
    case "tool":
      return toolCall("bash", { command: c.arg, description: "run" });
    case "task":
      return toolCall("task", { description: "sub", prompt: c.arg, subagent_type: "general" });
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

const server = http.createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (d) => (raw += d));
  req.on("end", () => {
    const url = (req.url || "").split("?")[0];
    if (req.method === "GET" && url === "/__stats") {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ requests, open_streams: openStreams, last_t: lastT }));
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
