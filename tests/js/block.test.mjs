// The shim's chat.message hook (client/opencode-plugin/src/block.js): the verdict flow against a real
// Unix socket daemon reached through the real link, with a fake OpenCode client and a recording
// stand-in for the toasts; the thrown value's shape; the quiet end of a prompt_async prompt, with a
// stand-in for Effect's fiber; and the abort with its HTTP fallback against a real HTTP server.
//
//   node --test tests/js/block.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { blockError, abortSession, chatMessageHook, VERDICT_DEADLINE_MS, DEFAULT_STOP_WORD } from "../../client/opencode-plugin/src/block.js";
import { Link } from "../../client/opencode-plugin/src/link.js";
import { Toasts } from "../../client/opencode-plugin/src/toast.js";
import { Fences } from "../../client/opencode-plugin/src/fence.js";
import { FakeDaemon, dial, fakeCtx, reply, sleep, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));
after(() => FakeDaemon.stopAll());

// A plugin instance on a link to a fake daemon (none with daemon: false), and the hook.
async function world({ daemon = true, registered = true, registerReply, messageReply, env = {}, fences } = {}) {
  const d = daemon ? await FakeDaemon.start() : null;
  if (registerReply) d.registerReply = registerReply;
  if (messageReply) d.messageReply = messageReply;
  const real = new Toasts();
  const link = new Link({
    dial,
    socketPath: () => d?.path ?? "/nonexistent/ocstop/ocstop.sock",
    version: async () => "1.18.33",
    onRequest: async () => [[2, "unknown method"], null],
    onNotify: (method, params) => method === "x.result" && real.noteResult(params),
    env,
  });
  const fake = fakeCtx();
  const inst = { ctx: fake.ctx, reg: null };
  link.add(inst);
  if (d && registered) await waitFor(() => inst.reg, "registered");
  // What the hook asks of the toasts, in order, with the client's calls.
  const events = [];
  fake.client.session.abort = fake.record("session.abort", (arg) => (events.push(["abort", arg.path.id]), { data: true }));
  // The real toasts, recorded: what is waited for, and what is shown (a string or a promise).
  const toasts = {
    whenDone(key, ms) {
      events.push(["whenDone", key, ms]);
      return real.whenDone(key, ms);
    },
    forget(key) {
      events.push(["forget", key]);
      real.forget(key);
    },
    show(ctx, message) {
      assert.equal(ctx, fake.ctx);
      events.push(["show", message]);
    },
  };
  const hook = chatMessageHook({
    request: (method, params, ms) => link.request(method, params, ms),
    notify: (method, params) => link.notify(method, [params]),
    connected: () => link.connected,
    toasts,
    env,
    fences,
  });
  const send = (parts, input = { sessionID: "ses_1", messageID: "msg_in" }, message = { id: "msg_1" }) =>
    hook(inst, input, { message, parts: typeof parts === "string" ? [{ type: "text", text: parts }] : parts });
  // The message requests and x.done notifications, each with its times checked and left out: the
  // x came now, and the daemon's answer is waited for 50 ms from then.
  const untimed = ({ typed_at, deadline, ...rest }) => {
    assert.ok(Number.isInteger(typed_at) && Math.abs(typed_at - Date.now()) < 60000, `typed_at ${typed_at}`);
    if (deadline !== undefined) assert.equal(deadline, typed_at + VERDICT_DEADLINE_MS);
    return rest;
  };
  const messages = () => (d ? d.all().filter((m) => m[0] === 0 && m[2] === "message").map((m) => untimed(m[3][0])) : []);
  const notes = (method) => (d ? d.all().filter((m) => m[0] === 2 && m[1] === method).map((m) => untimed(m[2][0])) : []);
  // What the toast finally says (the last show).
  const shown = async () => (await events.filter((e) => e[0] === "show").at(-1)?.[1]);
  return { d, link, inst, fake, events, hook, send, messages, notes, shown };
}

// Awaits a hook call; returns what it threw (null if it returned) and how long it took.
async function outcome(promise) {
  const t0 = performance.now();
  try {
    const value = await promise;
    assert.equal(value, undefined);
    return { thrown: null, ms: performance.now() - t0 };
  } catch (e) {
    return { thrown: e, ms: performance.now() - t0 };
  }
}

test("the built-in stop word is x and the daemon gets 50 ms", () => {
  assert.equal(DEFAULT_STOP_WORD, "x");
  assert.equal(VERDICT_DEADLINE_MS, 50);
});

test("pass: the message goes on, nothing is aborted or shown", async () => {
  const w = await world({ messageReply: () => ({ verdict: "pass" }) });
  const { thrown } = await outcome(w.send("x"));
  assert.equal(thrown, null);
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "forget"]);
  assert.deepStrictEqual(w.messages(), [{ session: "ses_1", message_id: "msg_1", directory: "/srv/proj", server_url: "http://127.0.0.1:4096/", parts: [{ type: "text", text: "x" }] }]);
  await w.d.stop();
});

test("the daemon is told the typed parts only, and the message id the input gives when the output has none", async () => {
  const w = await world({ registerReply: () => ({ stop_words: ["x"], max_len: 8 }) });
  const parts = [
    { type: "text", text: " st" },
    { type: "text", text: "EDITOR CONTEXT", synthetic: true },
    { type: "file", url: "file:///etc/passwd", mime: "text/plain" },
    { type: "text", text: "op " },
    { type: "text" },
  ];
  await outcome(w.send(parts, { sessionID: "ses_2", messageID: "msg_in" }, null));
  assert.deepStrictEqual(w.messages(), [{
    session: "ses_2", message_id: "msg_in", directory: "/srv/proj", server_url: "http://127.0.0.1:4096/",
    parts: [{ type: "text", text: " st" }, { type: "file" }, { type: "text", text: "op " }, { type: "text", text: "" }],
  }]);
  await w.d.stop();
});

test("ordinary messages leave before any I/O: empty, longer than any stop word, or only synthetic", async () => {
  const w = await world({ registerReply: () => ({ stop_words: ["stop", "x"], max_len: 4 }) });
  for (const parts of ["", "   \n", "stops", "please refactor the parser", [{ type: "text", text: "x", synthetic: true }], [{ type: "file" }], []]) {
    const { thrown } = await outcome(w.send(parts));
    assert.equal(thrown, null, JSON.stringify(parts));
  }
  assert.equal((await outcome(w.hook(w.inst, { sessionID: "ses_1" }, undefined))).thrown, null, "no output at all");
  await sleep(20);
  assert.deepStrictEqual(w.messages(), []);
  // Four characters are asked about: the daemon's longest word is that long.
  await outcome(w.send(" STOP "));
  assert.equal(w.messages().length, 1);
  await w.d.stop();
});

test("spaces are Unicode's White_Space, as the daemon trims them: NEL is one, a BOM is not", async () => {
  const w = await world({ registerReply: () => ({ stop_words: ["стоп"], max_len: 8 }), messageReply: () => ({ verdict: "abort" }) });
  assert.equal((await outcome(w.send("\u0085СТОП\u3000"))).thrown?.message, "ocstop: stopped (СТОП)");
  assert.equal((await outcome(w.send("\ufeffСТОП\u00a0\u00a0\u00a0\u00a0"))).thrown?.message, "ocstop: stopped (\ufeffСТОП)");
  assert.equal((await outcome(w.send("\ufeffстопстоп"))).thrown, null, "nine code units: longer than max_len");
  assert.equal(w.messages().length, 2, "the daemon was asked about the first two");
  await w.d.stop();
  const alone = await world({ daemon: false });
  assert.equal((await outcome(alone.send("\u0085X\u2028"))).thrown?.message, "ocstop: stopped (X)");
  assert.equal((await outcome(alone.send("\ufeffx"))).thrown, null);
});

test("until the register reply, only one-character messages are asked about", async () => {
  const w = await world({ registered: false, registerReply: () => undefined });
  await w.d.waitRegistered();
  assert.equal(w.inst.reg, null);
  assert.equal((await outcome(w.send("xx"))).thrown, null);
  assert.equal(w.events.length, 0);
  await sleep(20);
  assert.deepStrictEqual(w.messages(), []);
  await w.d.stop();
});

// A message reply of verdict (clear by default) with text, followed by the daemon's x.result after
// delayMs: nothing ran (idle), or the check found it running after all.
function verdictThen(result, { verdict = "clear", text, delayMs = 20 } = {}) {
  return (params, peer) => {
    setTimeout(() => peer.send([2, "x.result", [{ session: params.session, message_id: params.message_id, ...result }]]), delayMs);
    return text === undefined ? { verdict } : { verdict, text };
  };
}
const nothingRan = { outcome: "idle", ms: -1, stop: null, reason: "nothing was running" };

test("clear: blocked with a note; the idle session is aborted, so that OpenCode says idle", async () => {
  const w = await world({ messageReply: verdictThen(nothingRan) });
  const { thrown } = await outcome(w.send(" X\n"));
  assert.equal(thrown?.message, "ocstop: not sent (X)");
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show"]);
  assert.equal(await w.shown(), "ocstop: message not sent");
  await w.d.stop();
});

test("clear, but OpenCode said it ran after all: the daemon's stop is what the toast says", async () => {
  const w = await world({ messageReply: verdictThen({ outcome: "stopped", ms: 80, stop: provenStop({ ms: 60 }) }, { text: "ocstop: nothing was running" }) });
  const { thrown } = await outcome(w.send("x"));
  assert.equal(thrown?.message, "ocstop: nothing was running");
  assert.deepStrictEqual(await w.shown(), { text: "ocstop: stopped in 80 ms (verified)", variant: "success" });
  await w.d.stop();
});

// A message reply of verdict abort, followed by the daemon's x.result after delayMs.
function abortThen(result, delayMs = 20) {
  return (params, peer) => {
    setTimeout(() => peer.send([2, "x.result", [{ session: params.session, message_id: params.message_id, ...result }]]), delayMs);
    return { verdict: "abort" };
  };
}
const provenStop = (fields) => ({ session: "ses_1", stopped: true, children: [], running: [], ms: 30, reason: null, server: "http://h", origin: "x", ...fields });

test("abort: the session is aborted before the message is blocked; the toast says what the daemon proved", async () => {
  const w = await world({ messageReply: abortThen({ outcome: "stopped", stop: provenStop({ ms: 30 }) }) });
  const t0 = performance.now();
  const { thrown } = await outcome(w.send("x"));
  assert.equal(thrown?.message, "ocstop: stopped (x)");
  assert.deepStrictEqual(w.events.map((e) => e.slice(0, 2)), [["whenDone", "msg_1"], ["abort", "ses_1"], ["show", w.events[2][1]]]);
  const toast = await w.shown();
  const ms = Number(/^ocstop: stopped in (\d+) ms \(verified\)$/.exec(toast.text)?.[1]);
  assert.equal(toast.variant, "success");
  assert.ok(ms >= 30 && ms < 30 + (performance.now() - t0), toast.text);
  assert.deepStrictEqual(w.fake.calls.filter((c) => c.name === "session.abort").map((c) => c.arg), [{ path: { id: "ses_1" } }]);
  // The daemon's proof waits for the shim's abort to have returned: it is told so.
  await waitFor(() => w.notes("x.done").length, "x.done");
  assert.deepStrictEqual(
    w.notes("x.done").map(({ verdict, by, aborted }) => ({ verdict, by, aborted })),
    [{ verdict: "abort", by: "daemon", aborted: true }],
  );
  await w.d.stop();
});

test("abort not proven: the toast says NOT stopped, why, and what still runs", async () => {
  const w = await world({
    messageReply: abortThen({ outcome: "not_stopped", reason: "ses_1 did not report idle within 3000 ms (2 attempts)", stop: provenStop({ stopped: false, ms: -1, running: ["ses_1"] }) }),
  });
  await outcome(w.send("x"));
  assert.deepStrictEqual(await w.shown(), { text: "ocstop: NOT stopped — ses_1 did not report idle within 3000 ms (2 attempts); still running: ses_1", variant: "error" });
  await w.d.stop();
});

test("the wait for the outcome is the daemon's proof_ms and a margin; none in time: not verified", async () => {
  const w = await world({ registerReply: () => ({ stop_words: ["x"], max_len: 1, proof_ms: 100 }), messageReply: () => ({ verdict: "abort" }) });
  assert.equal(w.inst.reg.proofMs, 1100);
  await outcome(w.send("x"));
  assert.equal(w.events[0][2], 1100);
  assert.deepStrictEqual(await w.shown(), { text: "ocstop: abort sent; not verified — ocstopd did not say how the stop ended", variant: "info" });
  await w.d.stop();
});

test("an in-process abort that fails is told to the daemon, which sends it", async () => {
  const w = await world({ messageReply: abortThen({ outcome: "stopped", stop: provenStop() }) });
  w.fake.client.session.abort = () => Promise.resolve({ data: false });
  w.inst.ctx.serverUrl = new URL("http://127.0.0.1:1/");
  await outcome(w.send("x"));
  await waitFor(() => w.notes("x.done").length, "x.done");
  assert.deepStrictEqual(w.notes("x.done"), [{ session: "ses_1", message_id: "msg_1", directory: "/srv/proj", verdict: "abort", by: "daemon", aborted: false }]);
  await w.d.stop();
});

test("the daemon's text is what the user is shown and what the block says", async () => {
  for (const verdict of ["abort", "clear"]) {
    const w = await world({ messageReply: verdictThen(nothingRan, { verdict, text: "ocstop: stopped 3 sessions" }) });
    const { thrown } = await outcome(w.send("x"));
    assert.equal(thrown?.message, "ocstop: stopped 3 sessions");
    assert.equal(await w.shown(), "ocstop: stopped 3 sessions");
    await w.d.stop();
  }
  const w = await world({ messageReply: () => ({ verdict: "clear", text: "" }) });
  assert.equal((await outcome(w.send("x"))).thrown?.message, "ocstop: not sent (x)", "an empty text is no text");
  await w.d.stop();
});

test("a configured word stops, and x passes, when the daemon says so", async () => {
  const w = await world({
    registerReply: () => ({ stop_words: ["halt"], max_len: 4 }),
    messageReply: (p) => ({ verdict: p.parts[0].text.trim() === "halt" ? "abort" : "pass" }),
  });
  assert.equal((await outcome(w.send("halt"))).thrown?.message, "ocstop: stopped (halt)");
  assert.equal((await outcome(w.send("x"))).thrown, null);
  await w.d.stop();
});

test("a verdict the hook does not know lets the message through", async () => {
  const w = await world({ messageReply: () => ({ verdict: "maybe" }) });
  assert.equal((await outcome(w.send("x"))).thrown, null);
  await w.d.stop();
});

test("no daemon: x (any case, trimmed) stops at once and says it is not verified; anything else passes", async () => {
  const w = await world({ daemon: false });
  for (const text of ["x", " X\n", "\tx "]) {
    const { thrown, ms } = await outcome(w.send(text));
    assert.equal(thrown?.message, `ocstop: stopped (${text.trim()})`);
    assert.ok(ms < VERDICT_DEADLINE_MS, `${ms} ms: no wait for a deadline`);
    assert.deepStrictEqual(await w.shown(), { text: "ocstop: abort sent; not verified — ocstopd is not running", variant: "info" });
  }
  assert.equal(w.fake.calls.filter((c) => c.name === "session.abort").length, 3);
  for (const text of ["y", "xx", "stop", "×"]) assert.equal((await outcome(w.send(text))).thrown, null, text);
  assert.equal(w.fake.calls.filter((c) => c.name === "session.abort").length, 3);
});

test("a daemon that does not answer within 50 ms: the built-in x decides, the daemon is told, and its late answer is ignored", async () => {
  const w = await world({
    registerReply: () => ({ stop_words: ["stop"], max_len: 4 }),
    messageReply: () => reply({ verdict: "clear" }, { delayMs: 150 }),
  });
  const x = await outcome(w.send("x"));
  assert.equal(x.thrown?.message, "ocstop: stopped (x)", "abort by the built-in word, not the daemon's clear");
  assert.ok(x.ms >= VERDICT_DEADLINE_MS - 1 && x.ms < 150, `waited ${x.ms} ms`);
  await waitFor(() => w.notes("x.done").length, "x.done");
  assert.deepStrictEqual(w.notes("x.done"), [{ session: "ses_1", message_id: "msg_1", directory: "/srv/proj", verdict: "abort", by: "shim", aborted: true }]);
  // The daemon proves that stop too, and the toast waits for it.
  w.d.live[0].send([2, "x.result", [{ session: "ses_1", message_id: "msg_1", outcome: "stopped", stop: provenStop({ ms: 10 }) }]]);
  assert.match((await w.shown()).text, /^ocstop: stopped in \d+ ms \(verified\)$/);
  const stop = await outcome(w.send("stop", { sessionID: "ses_1" }, { id: "msg_2" }));
  assert.equal(stop.thrown, null, "the daemon's own word passes without it");
  await sleep(200);
  assert.equal(w.link.connected, true, "the late answers do not break the link");
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show", "whenDone", "forget"]);
  await w.d.stop();
});

test("a daemon that never answers costs 50 ms; an error reply costs nothing", async () => {
  const silent = await world({ messageReply: () => undefined });
  const a = await outcome(silent.send("x"));
  assert.equal(a.thrown?.message, "ocstop: stopped (x)");
  assert.ok(a.ms >= VERDICT_DEADLINE_MS - 1 && a.ms < 300, `waited ${a.ms} ms`);
  await silent.d.stop();
  const confused = await world({ messageReply: () => reply(null, { error: [6, "internal"] }) });
  const b = await outcome(confused.send("X"));
  assert.equal(b.thrown?.message, "ocstop: stopped (X)");
  assert.equal((await outcome(confused.send("y"))).thrown, null);
  await confused.d.stop();
});

// Effect's fiber as the hook finds it (client/opencode-plugin/src/detached.js): the global that
// names the running fiber while its loop runs, its stack frames (Effect.fn names, innermost first)
// and the two calls the shim makes. ends: whether an interruption ends it (false: uninterruptible).
const CURRENT_FIBER = "~effect/Fiber/currentFiber";
function fakeFiber(route, events, { ends = true } = {}) {
  let frame;
  for (const name of ["Server.listen", route, "SessionPrompt.prompt", "SessionPrompt.createUserMessage", "Plugin.trigger"]) frame = { name, parent: frame };
  return {
    currentStackFrame: frame,
    exit: undefined,
    interruptUnsafe() {
      events.push(["interrupt"]);
      if (ends) this.exit = { _tag: "Failure" };
    },
    pollUnsafe() {
      return this.exit;
    },
  };
}
// The hook called as Plugin.trigger calls it: the fiber is current during its synchronous part.
function sendIn(w, fiber, text) {
  const saved = globalThis[CURRENT_FIBER];
  globalThis[CURRENT_FIBER] = fiber;
  try {
    return w.send(text);
  } finally {
    globalThis[CURRENT_FIBER] = saved;
  }
}

test("prompt_async: the stop ends the prompt's fiber after the abort, and the toast is addressed to the session", async () => {
  const w = await world({ messageReply: abortThen({ outcome: "stopped", stop: provenStop({ ms: 30 }) }) });
  const fiber = fakeFiber("SessionHttpApi.promptAsync", w.events);
  const { thrown } = await outcome(sendIn(w, fiber, "x"));
  assert.equal(thrown, null, "nothing thrown: nothing for OpenCode to publish");
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show", "interrupt"]);
  const toast = await w.events[2][1];
  assert.match(toast.text, /^ocstop: stopped in \d+ ms \(verified\) ses_1$/);
  assert.equal(toast.variant, "success");
  await w.d.stop();
});

test("prompt_async with nothing running: aborted all the same, for the idle event; the note addressed", async () => {
  const w = await world({ messageReply: verdictThen(nothingRan, { text: "ocstop: nothing was running" }) });
  const fiber = fakeFiber("SessionHttpApi.promptAsync", w.events);
  const { thrown } = await outcome(sendIn(w, fiber, "x"));
  assert.equal(thrown, null);
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show", "interrupt"]);
  assert.equal(await w.events[2][1], "ocstop: nothing was running ses_1");
  await w.d.stop();
});

test("the synchronous route is never interrupted: the forged response is thrown, as without a fiber", async () => {
  for (const fiber of [(ev) => fakeFiber("SessionHttpApi.prompt", ev), () => undefined, () => ({ interruptUnsafe() {} })]) {
    const w = await world({ messageReply: verdictThen(nothingRan) });
    const { thrown } = await outcome(sendIn(w, fiber(w.events), "x"));
    assert.equal(thrown?.message, "ocstop: not sent (x)");
    assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show"], "no interruption");
    assert.equal(await w.shown(), "ocstop: message not sent", "the toast unaddressed");
    await w.d.stop();
  }
});

test("a prompt_async fiber that an interruption does not end: the message is blocked by the throw", async () => {
  const w = await world({ messageReply: () => ({ verdict: "abort" }) });
  const fiber = fakeFiber("SessionHttpApi.promptAsync", w.events, { ends: false });
  const { thrown } = await outcome(sendIn(w, fiber, "x"));
  assert.equal(thrown?.message, "ocstop: stopped (x)");
  assert.deepStrictEqual(w.events.map((e) => e[0]), ["whenDone", "abort", "show", "interrupt"]);
  await w.d.stop();
});

// What OpenCode and Effect do with the thrown value, reduced to the reads that matter.
const RESPONSE_TYPE_KEY = "~effect/http/HttpServerResponse";
const hasName = (e, name) => "name" in e && e.name === name; // NamedError.hasName
const prettyHeader = (e) => `${e.name}: ${e.message}`; // Cause.pretty() of a defect

test("the thrown value is an Error whose name reads Error, with a one-line stack", () => {
  const e = blockError("ocstop: stopped (x)");
  assert.ok(e instanceof Error);
  assert.equal(e.message, "ocstop: stopped (x)");
  assert.equal(e.stack, "Error: ocstop: stopped (x)");
  assert.deepStrictEqual(e.stack.split("\n").slice(1), [], "no plugin frames");
  assert.equal(e.name, "Error");
  assert.equal(prettyHeader(e), "Error: ocstop: stopped (x)");
  assert.equal(String(e), "Error: ocstop: stopped (x)");
  assert.equal(e.name, "Error", "reading it again changes nothing");
});

test("the name is ConfigFrontmatterError only to a read right after asking whether it has one", () => {
  const e = blockError("ocstop: stopped (x)");
  assert.equal(hasName(e, "ConfigFrontmatterError"), true);
  assert.equal(e.name, "Error", "the next plain read");
  assert.equal("name" in e, true);
  assert.equal(e.name, "ConfigFrontmatterError");
  assert.equal(e.name, "Error");
  assert.equal("name" in e, true);
  assert.equal("message" in e, true); // another question in between
  assert.equal(e.name, "Error");
  assert.equal(prettyHeader(e), "Error: ocstop: stopped (x)", "Cause.pretty() after hasName()");
});

test("the thrown value carries the HttpServerResponse key and the fields of a 200 {} response", async () => {
  const e = blockError("ocstop: not sent (x)");
  assert.equal(RESPONSE_TYPE_KEY in e, true, "isHttpServerResponse()");
  assert.equal(e[RESPONSE_TYPE_KEY], RESPONSE_TYPE_KEY);
  assert.equal(e.status, 200);
  assert.equal("statusText" in e, true);
  assert.equal(e.statusText, undefined);
  assert.deepStrictEqual(e.headers, { "content-type": "application/json" });
  assert.deepStrictEqual(e.cookies, { cookies: {} });
  assert.deepStrictEqual(e.body, { _tag: "Uint8Array", body: new TextEncoder().encode("{}"), contentType: "application/json", contentLength: 2 });
  assert.deepStrictEqual(e.data, { path: "ocstop", message: "ocstop: not sent (x)" });
  assert.deepStrictEqual(e.toObject(), { name: "ConfigFrontmatterError", data: { path: "ocstop", message: "ocstop: not sent (x)" } });
  // As HttpServerResponse.toWeb() makes a web response of it.
  const res = new Response(e.body.body, { status: e.status, statusText: e.statusText, headers: e.headers });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(await res.text(), "{}");
});

// A real HTTP server standing for OpenCode's /session/:id/abort.
const servers = new Set();
after(() => Promise.all([...servers].map((s) => s.close())));
async function abortServer(respond = (req, res) => res.end("true")) {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
    respond(req, res);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const s = {
    hits,
    url,
    close: () => {
      servers.delete(s);
      return new Promise((r) => (server.closeAllConnections(), server.close(r)));
    },
  };
  servers.add(s);
  return s;
}

test("abortSession: the in-process client first, and no HTTP when it succeeds", async () => {
  const s = await abortServer();
  const { ctx, calls } = fakeCtx({ serverUrl: s.url });
  await abortSession(ctx, "ses_1", { OPENCODE_SERVER_PASSWORD: "pw" });
  assert.deepStrictEqual(calls.map((c) => [c.name, c.arg]), [["session.abort", { path: { id: "ses_1" } }]]);
  assert.deepStrictEqual(s.hits, []);
  await s.close();
});

test("abortSession: a client that fails or refuses falls back to POST /session/:id/abort with the server's credentials", async () => {
  const cases = [
    [() => Promise.reject(new Error("boom")), {}, undefined],
    [() => Promise.resolve({ data: false }), { OPENCODE_SERVER_PASSWORD: "pw" }, `Basic ${Buffer.from("opencode:pw").toString("base64")}`],
    [() => { throw new Error("sync"); }, { OPENCODE_SERVER_USERNAME: "alice", OPENCODE_SERVER_PASSWORD: "pä:ss" }, `Basic ${Buffer.from("alice:pä:ss").toString("base64")}`],
    [() => Promise.resolve(undefined), { OPENCODE_SERVER_USERNAME: "alice" }, undefined],
  ];
  for (const [abort, env, authorization] of cases) {
    const s = await abortServer();
    const { ctx } = fakeCtx({ serverUrl: s.url });
    ctx.client.session.abort = abort;
    await abortSession(ctx, "ses_1/../x y", env);
    assert.deepStrictEqual(s.hits, [{ method: "POST", url: "/session/ses_1%2F..%2Fx%20y/abort", authorization }]);
    await s.close();
  }
});

test("abortSession: a client that hangs is given 1 s, the HTTP fallback 1 s more, and nothing is thrown", async () => {
  const s = await abortServer(() => {}); // never answers
  const { ctx } = fakeCtx({ serverUrl: s.url });
  ctx.client.session.abort = () => new Promise(() => {});
  const t0 = performance.now();
  await abortSession(ctx, "ses_1", {});
  const ms = performance.now() - t0;
  assert.ok(ms >= 1990 && ms < 3000, `${ms} ms`);
  assert.equal(s.hits.length, 1);
  await s.close();
  // No server at all.
  const { ctx: gone } = fakeCtx({ serverUrl: "http://127.0.0.1:1/" });
  gone.client.session.abort = () => Promise.reject(new Error("down"));
  await abortSession(gone, "ses_1", {});
});

test("the hook aborts over HTTP when the in-process client fails", async () => {
  const s = await abortServer();
  const w = await world({ daemon: false, env: { OPENCODE_SERVER_PASSWORD: "pw" } });
  w.inst.ctx.serverUrl = new URL(s.url);
  w.fake.client.session.abort = () => Promise.reject(new Error("client broken"));
  assert.equal((await outcome(w.send("x"))).thrown?.message, "ocstop: stopped (x)");
  assert.deepStrictEqual(s.hits.map((h) => h.url), ["/session/ses_1/abort"]);
  await s.close();
});

test("fences: a stop raises one on the session's tree, also without the daemon; a real message lifts it", async () => {
  const fences = new Fences();
  const toolIn = (sessionID) => outcome(fences.beforeTool({ tool: "bash", sessionID }));
  const alone = await world({ daemon: false, fences });
  assert.ok((await outcome(alone.send("x"))).thrown);
  assert.equal((await toolIn("ses_1")).thrown?.message, "ocstop: stopped (x) — this tool was not run");
  assert.equal((await outcome(alone.send("go on"))).thrown, null);
  assert.equal((await toolIn("ses_1")).thrown, null);

  let verdict = "clear";
  const w = await world({ fences, messageReply: () => reply({ verdict }, { delayMs: 30 }) });
  const clear = outcome(w.send("X"));
  // While the daemon decides, a tool call in the tree waits for its verdict.
  const during = toolIn("ses_1");
  assert.ok((await clear).thrown);
  assert.equal((await during).thrown?.message, "ocstop: stopped (X) — this tool was not run", "a clear stops too");
  verdict = "pass";
  const passing = outcome(w.send("y"));
  const waiting = toolIn("ses_1");
  assert.equal((await passing).thrown, null);
  const { thrown, ms } = await waiting;
  assert.equal(thrown, null, "a word that is no stop word lifts the fence");
  assert.ok(ms >= 20, `the tool waited for the verdict (${ms} ms)`);
  await w.d.stop();
});
