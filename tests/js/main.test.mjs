// The plugin function (client/opencode-plugin/src/main.js) with all its modules, against a real Unix
// socket daemon and a fake OpenCode client: what OpenCode gets back, the version in register, the
// socket path from the environment, stops with their toast, forwarded events and relay requests.
// Under Bun (tests/js/bun.test.mjs) the last test loads the built ocstop.js itself.
//
//   node --test tests/js/main.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { createPlugin } from "../../client/opencode-plugin/src/main.js";
import { FakeDaemon, dial, fakeCtx, runtime, sleep, tempDir, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));
after(() => FakeDaemon.stopAll());

// A plugin function whose dial attempts are recorded.
function plugin(env) {
  const dials = [];
  const OcStop = createPlugin({ dial: (o) => (dials.push(o.unix), dial(o)), env });
  return { OcStop, dials };
}

const send = (hooks, text, sessionID = "ses_1") => hooks["chat.message"]({ sessionID }, { message: { id: "msg_1" }, parts: [{ type: "text", text }] });
const event = (hooks, type, properties) => hooks.event({ event: { type, properties } });

test("OpenCode gets its hooks at once; the connection and register come after", async () => {
  const d = await FakeDaemon.start();
  const { OcStop, dials } = plugin({ OCSTOP_SOCKET: d.path });
  const { ctx, calls } = fakeCtx({ directory: "/p/one", version: "1.18.33" });
  const hooks = await OcStop(ctx);
  assert.deepStrictEqual(Object.keys(hooks).sort(), ["chat.message", "chat.params", "event", "shell.env", "tool.execute.before"]);
  assert.equal(dials.length, 0, "nothing on OpenCode's start-up path");
  const peer = await d.waitRegistered();
  assert.deepStrictEqual(dials, [d.path]);
  assert.deepStrictEqual(calls.filter((c) => c.name === "_client.get").map((c) => c.arg), [{ url: "/global/health" }]);
  assert.equal(peer.requests("register")[0][3][0].opencode_version, "1.18.33");
  await d.stop();
});

test("the version is asked once per process, from the first instance, and reconnects do not ask again", async () => {
  const d = await FakeDaemon.start();
  const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
  const one = fakeCtx({ directory: "/p/one", version: "9.9.9" });
  const two = fakeCtx({ directory: "/p/two", version: "0.0.0" });
  await OcStop(one.ctx);
  const first = await d.waitRegistered(1);
  await OcStop(two.ctx);
  await waitFor(() => first.requests("register").length === 2, "the second register");
  first.sock.destroy();
  const second = await waitFor(() => d.live.find((p) => p !== first && p.requests("register").length === 2), "both again", 3000);
  const versions = [...first.requests("register"), ...second.requests("register")].map((m) => m[3][0].opencode_version);
  assert.deepStrictEqual(versions, ["9.9.9", "9.9.9", "9.9.9", "9.9.9"]);
  assert.equal(one.calls.filter((c) => c.name === "_client.get").length, 1);
  assert.equal(two.calls.filter((c) => c.name === "_client.get").length, 0);
  await d.stop();
});

test("a version OpenCode does not give is empty, after at most the client timeout", async () => {
  for (const get of [() => new Promise(() => {}), () => Promise.reject(new Error("no route")), () => Promise.resolve({ data: { version: 118 } }), () => Promise.resolve(null)]) {
    const d = await FakeDaemon.start();
    const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
    const { ctx, client } = fakeCtx();
    client._client.get = get;
    const t0 = performance.now();
    await OcStop(ctx);
    const peer = await d.waitRegistered(1, 3000);
    assert.equal(peer.requests("register")[0][3][0].opencode_version, "");
    assert.ok(performance.now() - t0 < 1600);
    await d.stop();
  }
});

test("the socket is where XDG_RUNTIME_DIR says when OCSTOP_SOCKET is unset", async () => {
  const tmp = tempDir();
  try {
    mkdirSync(`${tmp.dir}/ocstop`, { mode: 0o700 });
    const d = await FakeDaemon.start({ path: `${tmp.dir}/ocstop/ocstop.sock` });
    const { OcStop, dials } = plugin({ XDG_RUNTIME_DIR: tmp.dir, OCSTOP_SOCKET: "" });
    await OcStop(fakeCtx().ctx);
    await d.waitRegistered();
    assert.deepStrictEqual(dials, [`${tmp.dir}/ocstop/ocstop.sock`]);
    await d.stop();
  } finally {
    tmp.cleanup();
  }
});

test("a relative OCSTOP_SOCKET: no connection at all, and x still stops", async () => {
  const { OcStop, dials } = plugin({ OCSTOP_SOCKET: "ocstop.sock", XDG_RUNTIME_DIR: "/run/user/0" });
  const { ctx, calls } = fakeCtx();
  const hooks = await OcStop(ctx);
  await sleep(400); // the first attempt and the first retry
  assert.deepStrictEqual(dials, []);
  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
  assert.equal(calls.filter((c) => c.name === "session.abort").length, 1);
  assert.equal(await send(hooks, "hello"), undefined);
});

test("a stop: the daemon's verdict, the abort, the block, and a toast with what the daemon proved", async () => {
  const d = await FakeDaemon.start();
  d.messageReply = (params, peer) => {
    setTimeout(() => peer.send([2, "x.result", [{ session: params.session, message_id: params.message_id, outcome: "stopped", stop: { session: "ses_1", stopped: true, children: [], running: [], ms: 30, reason: null, server: "http://h", origin: "x" } }]]), 40);
    return { verdict: "abort" };
  };
  const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
  const { ctx, calls } = fakeCtx({ directory: "/p/one" });
  const hooks = await OcStop(ctx);
  await d.waitRegistered();
  await sleep(20); // the register reply
  const t0 = performance.now();
  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)" && e.name === "Error");
  const verdictAt = performance.now();
  assert.deepStrictEqual(d.all().filter((m) => m[2] === "message").map((m) => m[3][0].directory), ["/p/one"]);
  assert.deepStrictEqual(calls.filter((c) => c.name === "session.abort").map((c) => c.arg), [{ path: { id: "ses_1" } }]);
  const toast = await waitFor(() => calls.find((c) => c.name === "tui.showToast"), "the toast");
  const ms = Number(/^ocstop: stopped in (\d+) ms \(verified\)$/.exec(toast.arg.body.message)?.[1]);
  assert.ok(ms >= 30 && ms <= Math.round(verdictAt - t0) + 31, toast.arg.body.message);
  assert.equal(toast.arg.body.variant, "success");
  await d.stop();
});

test("fences: an x and the daemon's fence notification refuse the tree's tools and model requests, the daemon hears of each, a real message lifts them", async () => {
  const d = await FakeDaemon.start();
  d.messageReply = (params) => ({ verdict: params.parts[0].text.trim() === "x" ? "abort" : "pass" });
  const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
  const { ctx } = fakeCtx();
  const hooks = await OcStop(ctx);
  const peer = await d.waitRegistered();
  assert.equal(peer.requests("register")[0][3][0].fences, true);
  await sleep(20); // the register reply
  const tool = (sessionID) => hooks["tool.execute.before"]({ tool: "bash", sessionID, callID: "call_1" }, { args: {} });
  const request = (sessionID) => hooks["chat.params"]({ sessionID, message: { id: "msg_u" } }, {});
  const hits = () => peer.received.filter((m) => m[0] === 2 && m[1] === "fence.hit").map((m) => m[2][0]);
  await event(hooks, "session.created", { info: { id: "ses_child", parentID: "ses_1" } });

  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
  await assert.rejects(tool("ses_child"), (e) => e.message === "ocstop: stopped (x) — this tool was not run");
  await assert.rejects(request("ses_1"), (e) => e.name === "AbortError");
  await waitFor(() => hits().length === 2, "two fence.hit");
  assert.deepStrictEqual(hits().map((h) => [h.session, h.kind, h.name]), [["ses_child", "tool", "bash"], ["ses_1", "request", undefined]]);
  assert.equal(await send(hooks, "go on", "ses_child"), undefined);
  await assert.rejects(tool("ses_child"), "a message in a child does not lift the fence");
  assert.equal(await send(hooks, "go on"), undefined);
  assert.equal(await tool("ses_child"), undefined, "the user's next message lifts it");
  assert.equal(await request("ses_1"), undefined);

  peer.send([2, "fence", [{ root: "ses_9", sessions: ["ses_9", "ses_9a"] }]]);
  const thrown = await waitFor(() => outcomeOf(tool("ses_9a")), "the daemon's fence");
  assert.equal(thrown.message, "ocstop: stopped — this tool was not run", "the daemon's fence does not say the word");
  assert.equal(await tool("ses_1"), undefined, "another tree goes on");
  await d.stop();
});

const outcomeOf = (p) => p.then(() => null, (e) => e);

test("events go to the daemon, slimmed, only when it asks for the relay", async () => {
  const d = await FakeDaemon.start();
  let relay = false;
  d.registerReply = () => ({ stop_words: ["x"], relay });
  const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
  const inst = fakeCtx({ directory: "/p/one" });
  const hooks = await OcStop(inst.ctx);
  const first = await d.waitRegistered();
  await sleep(20);
  await event(hooks, "session.status", { sessionID: "ses_1", status: { type: "busy" } });
  await sleep(50);
  assert.deepStrictEqual(first.received.filter((m) => m[0] === 2), [], "relay: false");
  relay = true;
  first.sock.destroy();
  const peer = await waitFor(() => d.live.find((p) => p !== first && p.requests("register").length), "a new connection", 3000);
  await sleep(20);
  await event(hooks, "session.status", { sessionID: "ses_1", status: { type: "busy" } });
  await event(hooks, "message.updated", { info: { id: "msg_1" } }); // not one the daemon uses
  await event(hooks, "message.part.delta", { sessionID: "ses_1", messageID: "msg_2", delta: "secret" });
  const got = await waitFor(() => peer.received.filter((m) => m[0] === 2).length === 2 && peer.received.filter((m) => m[0] === 2), "two events");
  assert.deepStrictEqual(got, [
    [2, "opencode.event", [{ directory: "/p/one", event: '{"type":"session.status","properties":{"sessionID":"ses_1","status":{"type":"busy"}}}' }]],
    [2, "opencode.event", [{ directory: "/p/one", event: '{"type":"message.part.delta","properties":{"sessionID":"ses_1","messageID":"msg_2"}}' }]],
  ]);
  await d.stop();
  // Without a connection events are dropped quietly.
  assert.equal(await event(hooks, "session.idle", { sessionID: "ses_1" }), undefined);
});

test("the daemon's relay requests are answered through the instances' clients", async () => {
  const d = await FakeDaemon.start();
  d.registerReply = () => ({ stop_words: ["x"], relay: true });
  const { OcStop } = plugin({ OCSTOP_SOCKET: d.path });
  const one = fakeCtx({ directory: "/p/one" });
  const two = fakeCtx({ directory: "/p/two" });
  await OcStop(one.ctx);
  await OcStop(two.ctx);
  const peer = await d.waitRegistered(2);
  peer.send([0, 100, "opencode.abort", [{ session: "ses_7", directory: "/p/two" }]]);
  peer.send([0, 101, "opencode.sessions", [{ directory: "/p/one" }]]);
  peer.send([0, 102, "opencode.sessions", [{ directory: "/p/three" }]]);
  peer.send([0, 103, "opencode.abort", [{}]]);
  peer.send([0, 104, "status", [{}]]);
  const replies = await waitFor(() => peer.received.filter((m) => m[0] === 1).length === 5 && peer.received.filter((m) => m[0] === 1), "five replies");
  const byId = Object.fromEntries(replies.map((m) => [m[1], m]));
  assert.deepStrictEqual({ ...byId[100][3], ms: 0 }, { ok: true, ms: 0 });
  assert.equal(byId[100][2], null);
  assert.deepStrictEqual(two.calls.filter((c) => c.name === "session.abort").map((c) => c.arg), [{ path: { id: "ses_7" } }]);
  assert.deepStrictEqual(byId[101], [1, 101, null, { statuses: '{"ses_1":{"type":"busy"}}', sessions: '[{"id":"ses_1","directory":"/p/one"}]' }]);
  assert.deepStrictEqual(byId[102], [1, 102, [1, "not_found: no OpenCode instance for /p/three"], null]);
  assert.deepStrictEqual(byId[103], [1, 103, [1, "bad_request: session must be a string"], null]);
  assert.deepStrictEqual(byId[104], [1, 104, [1, "unknown_method: not a relay method"], null]);
  await d.stop();
});

// The shipped file itself, in the runtime OpenCode runs it in.
test("under Bun: the built ocstop.js registers on OCSTOP_SOCKET and stops on x", { skip: runtime !== "bun" && "needs Bun (tests/js/bun.test.mjs)" }, async () => {
  const d = await FakeDaemon.start();
  d.messageReply = () => ({ verdict: "abort" });
  process.env.OCSTOP_SOCKET = d.path;
  const mod = await import("../../client/opencode-plugin/ocstop.js");
  assert.deepStrictEqual(Object.keys(mod), ["OcStop"]);
  const { ctx, calls } = fakeCtx({ directory: "/p/bun" });
  const hooks = await mod.OcStop(ctx);
  const peer = await d.waitRegistered();
  assert.equal(peer.requests("register")[0][3][0].directory, "/p/bun");
  await sleep(20);
  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
  assert.equal(d.all().filter((m) => m[2] === "message").length, 1, "the daemon decided");
  assert.deepStrictEqual(calls.filter((c) => c.name === "session.abort").map((c) => c.arg), [{ path: { id: "ses_1" } }], "the shim aborted");
  await d.stop();
});
