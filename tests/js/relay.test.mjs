// The shim's relay (client/opencode-plugin/src/relay.js): its answers to the daemon's opencode.abort
// and opencode.sessions requests, with their PROTOCOL.md errors, against a fake OpenCode client;
// and the slimmed events it forwards.
//
//   node --test tests/js/relay.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { answer, slimEvent, MAX_ERROR_TEXT } from "../../client/opencode-plugin/src/relay.js";
import { CLIENT_TIMEOUT_MS } from "../../client/opencode-plugin/src/timers.js";
import { fakeCtx } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));

// directory -> instance, as the link keeps them.
function instances(...dirs) {
  const map = new Map();
  const fakes = {};
  for (const dir of dirs) {
    const f = fakeCtx({ directory: dir });
    map.set(dir, { ctx: f.ctx, reg: null });
    fakes[dir] = f;
  }
  return { map, fakes };
}

test("opencode.abort aborts the session through its directory's instance", async () => {
  const { map, fakes } = instances("/a", "/b");
  const [error, result] = await answer(map, "opencode.abort", { session: "ses_1", directory: "/b" });
  assert.equal(error, null);
  assert.deepStrictEqual(Object.keys(result), ["ok", "ms"]);
  assert.equal(result.ok, true);
  assert.ok(Number.isInteger(result.ms) && result.ms >= 0 && result.ms < 100, `ms ${result.ms}`);
  assert.deepStrictEqual(fakes["/b"].calls.map((c) => [c.name, c.arg]), [["session.abort", { path: { id: "ses_1" } }]]);
  assert.deepStrictEqual(fakes["/a"].calls, []);
});

test("opencode.abort with an unknown or no directory goes through any instance", async () => {
  for (const params of [{ session: "ses_2", directory: "/elsewhere" }, { session: "ses_2" }]) {
    const { map, fakes } = instances("/a", "/b");
    const [error, result] = await answer(map, "opencode.abort", params);
    assert.equal(error, null);
    assert.equal(result.ok, true);
    assert.deepStrictEqual(fakes["/a"].calls.map((c) => c.arg), [{ path: { id: "ses_2" } }], "the first instance");
  }
});

test("opencode.abort read after its deadline is not sent; before it, it is", async () => {
  const { map, fakes } = instances("/a");
  const [error, result] = await answer(map, "opencode.abort", { session: "ses_1", directory: "/a", deadline: Date.now() - 10 });
  assert.equal(error, null);
  assert.equal(result.ok, false);
  assert.match(result.error, /after its deadline/);
  assert.deepStrictEqual(fakes["/a"].calls, [], "OpenCode is not asked");
  const [, sent] = await answer(map, "opencode.abort", { session: "ses_1", directory: "/a", deadline: Date.now() + 60000 });
  assert.equal(sent.ok, true);
  assert.equal(fakes["/a"].calls.length, 1);
});

test("opencode.abort errors: no session is bad_request, no instance is not_found, both of kind 1", async () => {
  const { map } = instances("/a");
  for (const params of [{}, { session: 5 }, { session: null }, { session: ["ses_1"] }])
    assert.deepStrictEqual(await answer(map, "opencode.abort", params), [[1, "bad_request: session must be a string"], null], JSON.stringify(params));
  assert.deepStrictEqual(await answer(new Map(), "opencode.abort", { session: "ses_1" }), [[1, "not_found: no OpenCode instance"], null]);
});

test("an abort OpenCode refuses, throws at or sits on is ok: false with the reason", async () => {
  const cases = [
    [() => Promise.resolve({ data: false, error: { name: "NotFoundError", data: { message: "no session" } } }), JSON.stringify({ name: "NotFoundError", data: { message: "no session" } })],
    [() => Promise.resolve({}), "null"],
    [() => Promise.resolve(undefined), "null"],
    [() => Promise.reject(new Error("fetch failed")), "fetch failed"],
    [() => Promise.reject("just a string"), "just a string"],
    [() => { throw new TypeError("not a function"); }, "not a function"],
  ];
  for (const [abort, reason] of cases) {
    const { map, fakes } = instances("/a");
    fakes["/a"].client.session.abort = abort;
    const [error, result] = await answer(map, "opencode.abort", { session: "ses_1", directory: "/a" });
    assert.equal(error, null);
    assert.equal(result.ok, false);
    assert.equal(result.error, reason);
    assert.ok(Number.isInteger(result.ms));
  }
});

test("an abort that never returns is given up after the client timeout", async () => {
  assert.equal(CLIENT_TIMEOUT_MS, 1000);
  const { map, fakes } = instances("/a");
  fakes["/a"].client.session.abort = () => new Promise(() => {});
  const t0 = performance.now();
  const [error, result] = await answer(map, "opencode.abort", { session: "ses_1" });
  const waited = performance.now() - t0;
  assert.equal(error, null);
  assert.deepStrictEqual({ ...result, ms: 0 }, { ok: false, ms: 0, error: "timeout" });
  assert.ok(result.ms >= 999 && result.ms < 1500 && waited >= 999, `ms ${result.ms}, waited ${waited}`);
});

test("opencode.sessions gives the instance's statuses and sessions as JSON", async () => {
  const { map, fakes } = instances("/a", "/b");
  fakes["/b"].client.session.status = () => Promise.resolve({ data: { ses_9: { type: "retry", attempt: 2 } } });
  fakes["/b"].client.session.list = () => Promise.resolve({ data: [{ id: "ses_9", title: "é" }] });
  assert.deepStrictEqual(await answer(map, "opencode.sessions", { directory: "/b" }), [
    null,
    { statuses: '{"ses_9":{"type":"retry","attempt":2}}', sessions: '[{"id":"ses_9","title":"é"}]' },
  ]);
  fakes["/a"].client.session.status = () => Promise.resolve({ error: "x" });
  fakes["/a"].client.session.list = () => Promise.resolve({});
  assert.deepStrictEqual(await answer(map, "opencode.sessions", { directory: "/a" }), [null, { statuses: "{}", sessions: "[]" }]);
});

test("an opencode.sessions that never returns is given up after the client timeout", async () => {
  const { map, fakes } = instances("/a");
  fakes["/a"].client.session.list = () => new Promise(() => {});
  const t0 = performance.now();
  const [error, result] = await answer(map, "opencode.sessions", { directory: "/a" });
  const waited = performance.now() - t0;
  assert.deepStrictEqual([error, result], [[0, "opencode_unreachable: timeout"], null]);
  assert.ok(waited >= 999 && waited < 1500, `waited ${waited}`);
});

test("opencode.sessions for a directory without an instance is not_found, with no fallback", async () => {
  const { map, fakes } = instances("/a");
  assert.deepStrictEqual(await answer(map, "opencode.sessions", { directory: "/b" }), [[1, "not_found: no OpenCode instance for /b"], null]);
  assert.deepStrictEqual(await answer(map, "opencode.sessions", {}), [[1, "not_found: no OpenCode instance for undefined"], null]);
  assert.deepStrictEqual(fakes["/a"].calls, []);
});

test("opencode.sessions failing inside OpenCode is opencode_unreachable, of kind 0, with its message", async () => {
  const { map, fakes } = instances("/a");
  fakes["/a"].client.session.list = () => Promise.reject(new Error("socket hang up"));
  assert.deepStrictEqual(await answer(map, "opencode.sessions", { directory: "/a" }), [[0, "opencode_unreachable: socket hang up"], null]);
  fakes["/a"].client.session.list = () => Promise.reject(42);
  assert.deepStrictEqual(await answer(map, "opencode.sessions", { directory: "/a" }), [[0, "opencode_unreachable: 42"], null]);
  fakes["/a"].client.session.status = () => Promise.resolve(null);
  fakes["/a"].client.session.list = () => Promise.resolve({ data: [] });
  const [[code, message], result] = await answer(map, "opencode.sessions", { directory: "/a" });
  assert.deepStrictEqual([code, result], [0, null]);
  assert.match(message, /^opencode_unreachable: /);
  assert.match(message, /data/, "the runtime's TypeError text"); // node and Bun word it differently
});

test("any other method is unknown_method, of kind 1", async () => {
  const { map, fakes } = instances("/a");
  for (const method of ["abort", "opencode.event", "", "register"])
    assert.deepStrictEqual(await answer(map, method, { session: "ses_1" }), [[1, "unknown_method: not a relay method"], null], method);
  assert.deepStrictEqual(fakes["/a"].calls, []);
});

test("session events keep only who, where and what", () => {
  const info = { id: "ses_1", parentID: "ses_0", directory: "/a", title: "t", time: { created: 1 }, share: { url: "u" }, summary: { diffs: ["big"] } };
  for (const type of ["session.created", "session.updated", "session.deleted"]) {
    assert.deepStrictEqual(slimEvent({ type, properties: { info } }), {
      type, properties: { sessionID: "ses_1", info: { id: "ses_1", parentID: "ses_0", directory: "/a", title: "t" } },
    });
    assert.deepStrictEqual(slimEvent({ type, properties: { sessionID: "ses_x", info: { id: "ses_1" } } }).properties.sessionID, "ses_x");
    assert.deepStrictEqual(slimEvent({ type, properties: {} }), { type, properties: { sessionID: undefined, info: { id: undefined, parentID: undefined, directory: undefined, title: undefined } } });
  }
  // Fields that are undefined vanish on the wire (JSON and msgpack alike).
  assert.equal(JSON.stringify(slimEvent({ type: "session.created", properties: { info: { id: "ses_1" } } })), '{"type":"session.created","properties":{"sessionID":"ses_1","info":{"id":"ses_1"}}}');
});

test("status and idle events go as they are", () => {
  const status = { sessionID: "ses_1", status: { type: "retry", attempt: 3, message: "rate limited", next: 5 } };
  assert.deepStrictEqual(slimEvent({ type: "session.status", properties: status }), { type: "session.status", properties: status });
  assert.deepStrictEqual(slimEvent({ type: "session.idle", properties: { sessionID: "ses_1" } }), { type: "session.idle", properties: { sessionID: "ses_1" } });
});

test("an event without properties is no news", () => {
  for (const type of ["session.created", "session.status", "session.error", "message.part.updated"]) {
    assert.equal(slimEvent({ type }), null);
    assert.equal(slimEvent({ type, properties: null }), null);
  }
});

test("session.error keeps the error's name and its message cut to 500 characters", () => {
  assert.equal(MAX_ERROR_TEXT, 500);
  const error = (message) => ({ type: "session.error", properties: { sessionID: "ses_1", error: { name: "APIError", data: { message, statusCode: 500, responseBody: "huge" } } } });
  const long = "a".repeat(499) + "bc" + "d".repeat(10000);
  assert.deepStrictEqual(slimEvent(error(long)), { type: "session.error", properties: { sessionID: "ses_1", error: { name: "APIError", data: { message: "a".repeat(499) + "b" } } } });
  assert.equal(slimEvent(error("e".repeat(500))).properties.error.data.message, "e".repeat(500));
  assert.equal(slimEvent(error("short")).properties.error.data.message, "short");
  assert.deepStrictEqual(slimEvent(error(42)).properties.error, { name: "APIError", data: {} });
  assert.deepStrictEqual(slimEvent({ type: "session.error", properties: { sessionID: "ses_1" } }), { type: "session.error", properties: { sessionID: "ses_1", error: { name: undefined, data: {} } } });
  assert.deepStrictEqual(slimEvent({ type: "session.error", properties: {} }).properties.sessionID, undefined);
  // A cut never leaves half of a character that takes two UTF-16 units: the JSON stays valid.
  const emoji = "a".repeat(499) + "\u{1F600}" + "tail";
  const kept = slimEvent(error(emoji)).properties.error.data.message;
  assert.equal(kept, "a".repeat(499));
  assert.doesNotMatch(JSON.stringify(kept), /\\ud[89ab]/i);
  assert.equal(slimEvent(error("a".repeat(498) + "\u{1F600}" + "x")).properties.error.data.message,
    "a".repeat(498) + "\u{1F600}");
});

test("part events keep the session, message and part type, never the text", () => {
  const part = { id: "prt_1", sessionID: "ses_1", messageID: "msg_1", type: "text", text: "secret output", time: {} };
  assert.deepStrictEqual(slimEvent({ type: "message.part.updated", properties: { part, delta: "secret" } }), {
    type: "message.part.updated", properties: { sessionID: "ses_1", part: { sessionID: "ses_1", messageID: "msg_1", type: "text" } },
  });
  assert.deepStrictEqual(slimEvent({ type: "message.part.updated", properties: {} }).properties, { sessionID: undefined, part: { sessionID: undefined, messageID: undefined, type: undefined } });
  assert.deepStrictEqual(slimEvent({ type: "message.part.delta", properties: { sessionID: "ses_1", messageID: "msg_1", partID: "prt_1", field: "text", delta: "secret" } }), {
    type: "message.part.delta", properties: { sessionID: "ses_1", messageID: "msg_1" },
  });
});

test("a task part keeps only the mark of a subagent sent to the background", () => {
  const task = (metadata) => ({ type: "message.part.updated", properties: { part: {
    id: "prt_1", sessionID: "ses_p", messageID: "msg_1", type: "tool", tool: "task", callID: "call_1",
    state: { status: "completed", input: { prompt: "secret" }, output: "secret", metadata } } } });
  const bg = { parentSessionId: "ses_p", sessionId: "ses_c", model: { modelID: "m" }, background: true, jobId: "ses_c" };
  assert.deepStrictEqual(slimEvent(task(bg)).properties.part, {
    sessionID: "ses_p", messageID: "msg_1", type: "tool", tool: "task", state: { metadata: { background: true, sessionId: "ses_c" } },
  });
  for (const fg of [{ ...bg, background: undefined }, { ...bg, background: "true" }, { ...bg, sessionId: 7 }, undefined])
    assert.deepStrictEqual(slimEvent(task(fg)).properties.part, { sessionID: "ses_p", messageID: "msg_1", type: "tool" });
});

test("other events are not forwarded", () => {
  for (const type of ["message.updated", "message.removed", "session.diff", "session.compacted", "file.edited", "server.connected", "tui.toast.show", "lsp.updated", "permission.updated"])
    assert.equal(slimEvent({ type, properties: { sessionID: "ses_1", info: {} } }), null, type);
});
