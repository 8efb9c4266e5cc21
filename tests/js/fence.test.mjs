// The fences (client/opencode-plugin/src/fence.js): what they refuse, in which sessions, until when,
// the messages they hold, and what the daemon is told.
//
//   node --test tests/js/fence.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { Fences, MAX_DEPTH, MAX_QUEUED, MAX_SESSIONS, requestRefusal, toolRefusal } from "../../client/opencode-plugin/src/fence.js";
import { sleep } from "./helpers.mjs";

// Fences whose hits are recorded, at a clock that says 1000.
function fences() {
  const hits = [];
  const f = new Fences({ hit: (p) => hits.push(p), now: () => 1000 });
  return { f, hits };
}
const tool = (f, sessionID, name = "bash") => f.beforeTool({ tool: name, sessionID, callID: "call_1" });
const request = (f, sessionID, messageID = "msg_u") => f.beforeRequest({ sessionID, agent: "build", message: { id: messageID, sessionID } });
const created = (f, id, parentID) => f.noteEvent({ type: "session.created", properties: { info: { id, parentID } } });
const status = (f, sessionID, type) => f.noteEvent({ type: "session.status", properties: { sessionID, status: { type } } });
// What a call settled with: { thrown } (null when it resolved).
const outcome = (p) => p.then(() => ({ thrown: null }), (thrown) => ({ thrown }));

test("without a fence every tool call and model request goes on, and nothing is told", async () => {
  const { f, hits } = fences();
  created(f, "ses_c", "ses_r");
  assert.equal((await outcome(tool(f, "ses_r"))).thrown, null);
  assert.equal((await outcome(request(f, "ses_c"))).thrown, null);
  assert.deepStrictEqual(hits, []);
});

test("a fence refuses tools and model requests in the session, each told once, as a stop reads", async () => {
  const { f, hits } = fences();
  f.arm("ses_r", [], "X");
  const t = await outcome(tool(f, "ses_r", "edit"));
  assert.equal(t.thrown.message, toolRefusal("X"));
  assert.equal(t.thrown.message, "ocstop: stopped (X) — this tool was not run");
  // The tool part shows the message; OpenCode's log shows the stack: no plugin frames in it.
  assert.equal(t.thrown.stack, `Error: ${toolRefusal("X")}`);
  const r = await outcome(request(f, "ses_r"));
  // OpenCode's fromError() makes MessageAbortedError of exactly this: a DOMException named AbortError.
  assert.ok(r.thrown instanceof DOMException);
  assert.equal(r.thrown.name, "AbortError");
  assert.equal(r.thrown.message, requestRefusal("X"));
  assert.deepStrictEqual(hits, [
    { session: "ses_r", kind: "tool", name: "edit", at: 1000 },
    { session: "ses_r", kind: "request", at: 1000 },
  ]);
  assert.equal((await outcome(tool(f, "ses_other"))).thrown, null, "another tree goes on");
});

test("the tree: children and their children, learnt from session events, are fenced; parents are not", async () => {
  const { f } = fences();
  created(f, "ses_c", "ses_r");
  f.noteEvent({ type: "session.updated", properties: { info: { id: "ses_g", parentID: "ses_c" } } });
  created(f, "ses_top", undefined);
  f.arm("ses_c");
  assert.ok((await outcome(tool(f, "ses_g"))).thrown, "a grandchild of the root... of the fence");
  assert.ok((await outcome(request(f, "ses_c"))).thrown);
  assert.equal((await outcome(tool(f, "ses_r"))).thrown, null, "the fenced session's parent is not in its tree");
  // A child that appears after the fence is in the tree too.
  created(f, "ses_late", "ses_g");
  assert.ok((await outcome(request(f, "ses_late"))).thrown);
});

test("only the user's next real message in the fenced session lifts it; one in a child does not", async () => {
  const { f } = fences();
  created(f, "ses_c", "ses_r");
  f.arm("ses_r");
  f.passed("ses_c", "msg_task");
  f.passed("ses_other", "msg_1");
  assert.ok((await outcome(tool(f, "ses_c"))).thrown, "the task tool's prompt in the child does not lift it");
  f.passed("ses_r", "msg_2");
  assert.equal((await outcome(tool(f, "ses_c"))).thrown, null);
  assert.equal((await outcome(request(f, "ses_r"))).thrown, null);
});

test("the daemon's fence names sessions the shim never saw created; the root's real message lifts them all", async () => {
  const { f } = fences();
  f.arm("ses_r", ["ses_a", "ses_b", 7, null]);
  assert.ok((await outcome(tool(f, "ses_a"))).thrown);
  assert.ok((await outcome(request(f, "ses_b"))).thrown);
  f.arm("ses_r", ["ses_a"]); // idempotent
  f.arm("ses_r", [], "stop");
  f.arm("ses_r", ["ses_b"]);
  assert.equal((await outcome(tool(f, "ses_r"))).thrown.message, toolRefusal("stop"), "the word typed is kept");
  f.passed("ses_a", "msg_1");
  assert.ok((await outcome(tool(f, "ses_a"))).thrown, "a message in a member is not the root's");
  f.passed("ses_r", "msg_2");
  assert.equal(f.fenced.size, 0);
  assert.equal((await outcome(tool(f, "ses_b"))).thrown, null);
});

test("while the verdict on a possible stop word is awaited, the tree's hooks wait for it", async () => {
  const { f, hits } = fences();
  created(f, "ses_c", "ses_r");
  let release = f.hold("ses_r");
  const waiting = outcome(tool(f, "ses_c"));
  const other = outcome(tool(f, "ses_other"));
  assert.equal((await other).thrown, null, "other trees do not wait");
  let settled = false;
  waiting.then(() => (settled = true));
  await sleep(20);
  assert.equal(settled, false, "the tool waits for the verdict");
  f.arm("ses_r");
  release();
  assert.ok((await waiting).thrown, "a stop: refused");
  assert.equal(hits.length, 1);
  f.passed("ses_r", "msg_1");

  release = f.hold("ses_r");
  const passes = outcome(request(f, "ses_c"));
  release();
  release(); // twice is harmless
  assert.equal((await passes).thrown, null, "not a stop: it goes on");
  assert.equal(f.deciding.size, 0);
});

test("messages sent while the session is busy are held by the fence: each told once, with its id", async () => {
  const { f, hits } = fences();
  f.passed("ses_r", "msg_first"); // idle: it starts a turn at once
  status(f, "ses_r", "busy");
  f.passed("ses_r", "msg_q1");
  f.passed("ses_r", "msg_q2");
  status(f, "ses_other", "busy");
  f.passed("ses_other", "msg_o");
  f.arm("ses_r");
  f.arm("ses_r"); // the daemon's fence after the shim's own
  assert.deepStrictEqual(hits, [
    { session: "ses_r", kind: "queued", name: "msg_q1", at: 1000 },
    { session: "ses_r", kind: "queued", name: "msg_q2", at: 1000 },
  ]);
  // Had OpenCode started a turn for one of them, the request would be refused and told as such.
  assert.ok((await outcome(request(f, "ses_r", "msg_q1"))).thrown);
  assert.equal(hits.at(-1).kind, "request");
});

test("a queued message whose turn started, or a session gone idle, holds nothing", async () => {
  const { f, hits } = fences();
  status(f, "ses_r", "busy");
  f.passed("ses_r", "msg_q1");
  f.passed("ses_r", "msg_q2");
  await request(f, "ses_r", "msg_q1"); // its turn began
  f.arm("ses_r");
  assert.deepStrictEqual(hits.map((h) => h.name), ["msg_q2"]);
  f.passed("ses_r", "msg_real");

  status(f, "ses_s", "busy");
  f.passed("ses_s", "msg_a");
  f.noteEvent({ type: "session.idle", properties: { sessionID: "ses_s" } });
  f.passed("ses_s", "msg_b"); // idle: not queued
  f.arm("ses_s");
  assert.equal(hits.length, 1);
});

test("queued messages of a child are held by its root's fence", () => {
  const { f, hits } = fences();
  created(f, "ses_c", "ses_r");
  status(f, "ses_c", "retry");
  f.passed("ses_c", "msg_c");
  f.arm("ses_r");
  assert.deepStrictEqual(hits, [{ session: "ses_c", kind: "queued", name: "msg_c", at: 1000 }]);
});

test("bounds: parents, fences, busy sessions and queued messages are bounded; a parent cycle ends", async () => {
  const { f } = fences();
  for (let i = 0; i <= MAX_SESSIONS; i++) created(f, `ses_${i}`, "ses_p");
  assert.equal(f.parents.size, MAX_SESSIONS);
  assert.equal(f.parents.has("ses_0"), false, "the oldest went");
  for (let i = 0; i <= MAX_SESSIONS; i++) status(f, `ses_${i}`, "busy");
  assert.equal(f.busy.size, MAX_SESSIONS);
  for (let i = 0; i < MAX_QUEUED + 5; i++) f.passed("ses_9", `msg_${i}`);
  assert.equal(f.queued.get("ses_9").size, MAX_QUEUED);
  for (let i = 0; i <= MAX_SESSIONS; i++) f.arm(`ses_f${i}`);
  assert.equal(f.fenced.size, MAX_SESSIONS);

  const g = fences().f;
  created(g, "ses_a", "ses_b");
  created(g, "ses_b", "ses_a");
  assert.equal((await outcome(tool(g, "ses_a"))).thrown, null);
  // A chain deeper than MAX_DEPTH is cut there.
  for (let i = 1; i <= MAX_DEPTH + 1; i++) created(g, `ses_d${i}`, `ses_d${i - 1}`);
  g.arm("ses_d0");
  assert.ok((await outcome(tool(g, `ses_d${MAX_DEPTH - 1}`))).thrown);
  assert.equal((await outcome(tool(g, `ses_d${MAX_DEPTH + 1}`))).thrown, null);
});

test("a deleted session's fence goes with it", async () => {
  const { f } = fences();
  f.arm("ses_r", ["ses_a"]);
  f.noteEvent({ type: "session.deleted", properties: { info: { id: "ses_a" } } });
  assert.ok((await outcome(tool(f, "ses_a"))).thrown, "a member's deletion lifts nothing");
  f.noteEvent({ type: "session.deleted", properties: { info: { id: "ses_r" } } });
  assert.equal(f.fenced.size, 0);
});

test("events that are not about sessions, or malformed, change nothing", () => {
  const { f } = fences();
  for (const e of [undefined, null, {}, { type: "message.updated", properties: {} }, { type: "session.created" }, { type: "session.created", properties: { info: { id: 3, parentID: "p" } } }, { type: "session.status", properties: { sessionID: 5, status: { type: "busy" } } }])
    f.noteEvent(e);
  assert.equal(f.parents.size + f.busy.size, 0);
});
