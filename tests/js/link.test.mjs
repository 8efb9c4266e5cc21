// The shim's daemon link (client/opencode-plugin/src/link.js) against a real Unix socket server that
// speaks msgpack-rpc: connecting, backoff, reconnecting, registering, requests and their deadlines,
// the daemon's relay requests, and input that drops the connection.
//
//   node --test tests/js/link.test.mjs
//
// Under node the socket is opened by a stand-in for Bun.connect over node:net (tests/js/helpers.mjs);
// tests/js/bun.test.mjs runs this file again under OpenCode's own Bun, with the real Bun.connect.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Link, REGISTER_TIMEOUT_MS, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from "../../client/opencode-plugin/src/link.js";
import { Timeout } from "../../client/opencode-plugin/src/timers.js";
import { writeFileSync, rmSync } from "node:fs";
import { FakeDaemon, dial, fakeCtx, reply, runtime, sleep, tempDir, waitFor } from "./helpers.mjs";

// The link's own timers never keep a process alive; this keeps the test runner's.
const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));
after(() => FakeDaemon.stopAll()); // those a failed test left running

const tmp = tempDir();
after(() => tmp.cleanup());
let paths = 0;
const freshPath = () => `${tmp.dir}/d${++paths}.sock`;

// A link to path whose dial attempts are recorded in link.dials.
function makeLink(path, options = {}) {
  const dials = [];
  const link = new Link({
    dial: (o) => {
      dials.push({ at: performance.now(), path: o.unix });
      return dial(o);
    },
    socketPath: () => path,
    version: async () => "1.18.33",
    onRequest: async () => [[2, "unknown method"], null],
    env: {},
    ...options,
  });
  link.dials = dials;
  return link;
}

const instance = (directory = "/srv/proj") => ({ ctx: fakeCtx({ directory }).ctx, reg: null });
const gaps = (dials) => dials.slice(1).map((d, i) => d.at - dials[i].at);

// A daemon (set up by setup(d) first), a link to it with one instance, and the daemon's side of
// the connection once register has come.
async function connected(options = {}, setup = () => {}) {
  const d = await FakeDaemon.start();
  setup(d);
  const link = makeLink(d.path, options);
  const inst = instance();
  link.add(inst);
  const peer = await d.waitRegistered();
  return { d, link, inst, peer };
}

test("the first instance connects and registers with its facts, the version and the server's credentials", async () => {
  const d = await FakeDaemon.start();
  const versionAsked = [];
  const env = { OPENCODE_SERVER_USERNAME: "alice", OPENCODE_SERVER_PASSWORD: "pw" };
  const link = makeLink(d.path, { env, version: async (inst) => (versionAsked.push(inst.ctx.directory), "1.2.3") });
  const inst = instance("/srv/my proj");
  assert.equal(link.connected, false);
  link.add(inst);
  assert.equal(link.dials.length, 0, "no connection attempt on OpenCode's start-up path");
  const peer = await d.waitRegistered();
  const [[, , , [params]]] = peer.requests("register");
  assert.deepStrictEqual(params, {
    server_url: "http://127.0.0.1:4096/", directory: "/srv/my proj", worktree: "/srv/my proj", pid: process.pid,
    opencode_version: "1.2.3", fences: true, username: "alice", password: "pw",
  });
  await waitFor(() => inst.reg, "the register reply");
  assert.deepStrictEqual(inst.reg, { maxLen: 1, relay: false });
  assert.deepStrictEqual(versionAsked, ["/srv/my proj"]);
  assert.equal(link.connected, true);
  await d.stop();
});

test("empty credentials are left out of register", async () => {
  const { d, link, peer } = await connected({ env: { OPENCODE_SERVER_USERNAME: "", OPENCODE_SERVER_PASSWORD: "" } });
  const params = peer.requests("register")[0][3][0];
  assert.equal("username" in params, false);
  assert.equal("password" in params, false);
  await d.stop();
});

test("the register reply sets the longest word to ask about and the relay", async () => {
  const cases = [
    [{ stop_words: ["x"], max_len: 4, relay: true }, { maxLen: 4, relay: true }],
    [{ stop_words: ["stop", "x"] }, { maxLen: 4, relay: false }],
    [{ stop_words: [] }, { maxLen: 1, relay: false }],
    [{ stop_words: [5, "ab", null] }, { maxLen: 2, relay: false }],
    [{ max_len: 2.5, stop_words: ["abc"], relay: "yes" }, { maxLen: 3, relay: false }],
    [{}, { maxLen: 1, relay: false }],
    [{ stop_words: ["x"], proof_ms: 8000 }, { maxLen: 1, relay: false, proofMs: 9000 }],
    [{ stop_words: ["x"], proof_ms: -5 }, { maxLen: 1, relay: false }],
    [{ stop_words: ["x"], proof_ms: "8000" }, { maxLen: 1, relay: false }],
  ];
  for (const [got, want] of cases) {
    const d = await FakeDaemon.start();
    d.registerReply = () => got;
    const inst = instance();
    makeLink(d.path).add(inst);
    await waitFor(() => inst.reg, "the register reply");
    assert.deepStrictEqual(inst.reg, want, JSON.stringify(got));
    await d.stop();
  }
});

test("a settings notification (the daemon reloaded) updates every registered instance; a malformed one changes nothing", async () => {
  const { d, link, inst, peer } = await connected({}, (dd) => {
    dd.registerReply = () => ({ stop_words: ["x"], max_len: 1, relay: true, proof_ms: 8000 });
  });
  const other = instance("/srv/other");
  link.add(other);
  await waitFor(() => other.reg, "the second instance's register");
  peer.send([2, "settings", [{ stop_words: ["x", "halt"] }]]); // no max_len: ignored
  peer.send([2, "settings", ["junk"]]);
  peer.send([2, "settings", [{ stop_words: ["x", "stopnow"], max_len: 7, proof_ms: 20000 }]]);
  await waitFor(() => inst.reg.maxLen === 7 && other.reg.maxLen === 7, "the new settings");
  assert.deepStrictEqual(inst.reg, { relay: true, maxLen: 7, proofMs: 21000 });
  assert.deepStrictEqual(other.reg, { relay: true, maxLen: 7, proofMs: 21000 });
  await d.stop();
});

test("settings read together with the register reply are not lost; a new connection starts without them", async () => {
  const d = await FakeDaemon.start();
  const settings = [2, "settings", [{ stop_words: ["x", "stopnow"], max_len: 7, proof_ms: 20000 }]];
  d.registerReply = () => reply({ stop_words: ["x"], max_len: 1, relay: true, proof_ms: 8000 }, { with: [settings] });
  const link = makeLink(d.path, { backoffMinMs: 10 });
  const inst = instance();
  link.add(inst);
  const first = await d.waitRegistered();
  await waitFor(() => inst.reg, "the register reply");
  assert.deepStrictEqual(inst.reg, { relay: true, maxLen: 7, proofMs: 21000 });
  // The next daemon has its own settings: those of the last connection are not applied to its reply.
  d.registerReply = () => ({ stop_words: ["x", "ab"], max_len: 2, relay: true });
  first.sock.destroy();
  await waitFor(() => d.live.find((p) => p !== first && p.requests("register").length), "the second register");
  await waitFor(() => inst.reg, "the second register reply");
  assert.deepStrictEqual(inst.reg, { relay: true, maxLen: 2 });
  await d.stop();
});

test("a register error leaves the instance unregistered and the connection up", async () => {
  const { d, link, inst, peer } = await connected({}, (d) => (d.registerReply = () => reply(null, { error: [1, "bad request"] })));
  await sleep(50);
  assert.equal(inst.reg, null);
  assert.equal(peer.closed, false);
  assert.equal(link.connected, true);
  await d.stop();
});

test("an instance added while connected registers at once; one that replaces another takes its place", async () => {
  const d = await FakeDaemon.start();
  let hold = true;
  d.registerReply = (params) => (hold && params.worktree === "old" ? reply({ stop_words: ["old"] }, { delayMs: 100 }) : { stop_words: ["x"], max_len: 3 });
  const link = makeLink(d.path);
  const first = instance("/a");
  link.add(first);
  await waitFor(() => first.reg, "the first register reply");
  const old = { ctx: { ...fakeCtx({ directory: "/b" }).ctx, worktree: "old" }, reg: null };
  link.add(old);
  const replacement = instance("/b");
  link.add(replacement);
  await waitFor(() => replacement.reg, "the replacement's register reply");
  await sleep(150); // the old instance's reply has come by now
  assert.equal(old.reg, null, "a reply for a replaced instance is dropped");
  assert.equal(link.instances.get("/b"), replacement);
  assert.equal(d.peers.length, 1, "one connection for all");
  assert.equal(d.peers[0].requests("register").length, 3);
  hold = false;
  await d.stop();
});

test("without a connection a request fails at once", async () => {
  const link = makeLink(freshPath());
  const t0 = performance.now();
  await assert.rejects(link.request("message", {}, 50), /ocstopd: not connected/);
  assert.ok(performance.now() - t0 < 20);
});

test("requests: out-of-order replies reach their own caller, an error reply rejects with its text", async () => {
  const { d, link, peer } = await connected();
  await waitFor(() => link.instances.get("/srv/proj").reg, "registered");
  d.messageReply = () => undefined; // answered by hand below
  const a = link.request("message", { n: 1 }, 2000);
  const b = link.request("message", { n: 2 }, 2000);
  const c = link.request("message", { n: 3 }, 2000);
  const [ma, mb, mc] = await waitFor(() => peer.requests("message").length === 3 && peer.requests("message"), "three requests");
  assert.deepStrictEqual([ma[3], mb[3], mc[3]], [[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]], "params go as an array of one map");
  assert.equal(new Set([ma[1], mb[1], mc[1]]).size, 3, "distinct msgids");
  peer.send([1, mc[1], [3, "no such session"], null]);
  peer.send([1, mb[1], null, { verdict: "clear" }]);
  peer.send([1, ma[1], null, null]);
  await assert.rejects(c, (e) => e.message === "ocstopd: no such session" && !(e instanceof Timeout));
  assert.deepStrictEqual(await b, { verdict: "clear" });
  assert.deepStrictEqual(await a, {}, "a nil result is an empty map");
  assert.equal(link.pending.size, 0);
  await d.stop();
});

test("a request past its deadline rejects with Timeout; its late reply is ignored and the link stays up", async () => {
  const { d, link, peer } = await connected();
  d.messageReply = (params) => (params.late ? reply({ verdict: "abort" }, { delayMs: 150 }) : { verdict: "pass" });
  const t0 = performance.now();
  await assert.rejects(link.request("message", { late: true }, 50), (e) => e instanceof Timeout && /no reply to message in 50 ms/.test(e.message));
  const waited = performance.now() - t0;
  assert.ok(waited >= 49 && waited < 140, `rejected after ${waited} ms`);
  assert.equal(link.pending.size, 0, "forgotten at its deadline");
  await sleep(200); // the late reply has come
  assert.equal(peer.closed, false);
  assert.equal(link.connected, true);
  assert.deepStrictEqual(await link.request("message", { late: false }, 1000), { verdict: "pass" });
  await d.stop();
});

test("msgids count up and wrap from 2^32-1 to 1", async () => {
  const { d, link, peer } = await connected();
  link.nextMsgid = 0xfffffffe;
  await link.request("message", {}, 1000);
  await link.request("message", {}, 1000);
  await link.request("message", {}, 1000);
  assert.deepStrictEqual(peer.requests("message").map((m) => m[1]), [0xfffffffe, 0xffffffff, 1]);
  await d.stop();
});

test("without a daemon the attempts back off, doubling up to the most", async () => {
  const link = makeLink(freshPath(), { backoffMinMs: 25, backoffMaxMs: 100 });
  link.add(instance());
  await waitFor(() => link.dials.length >= 7, "7 attempts");
  const g = gaps(link.dials);
  [25, 50, 100, 100, 100, 100].forEach((want, i) => assert.ok(g[i] >= want - 1, `gap ${i}: ${g[i]} ms, want ${want}`));
  // Doubling on past the most would wait 200 ms, then 400.
  assert.ok(g[3] < 200 && g[4] < 200 && g[5] < 200, `capped: ${g.join(", ")}`);
  assert.equal(link.connected, false);
});

test("the backoff is 50 ms at first and at most 2 s", async () => {
  assert.equal(BACKOFF_MIN_MS, 50);
  assert.equal(BACKOFF_MAX_MS, 2000);
  const link = makeLink(freshPath(), { watch: () => null });
  link.add(instance());
  await waitFor(() => link.dials.length >= 4, "4 attempts", 3000);
  const g = gaps(link.dials);
  assert.ok(g[0] >= 49 && g[1] >= 99 && g[2] >= 199, `gaps ${g.join(", ")}`);
});

// A daemon listening in dir/name: once as at a first start, once after a crash left its socket behind.
async function daemonAppears(link, path, { stale }) {
  if (stale) writeFileSync(path, ""); // what a killed daemon leaves: a connect is refused
  await sleep(100); // the link has failed and waits out its backoff
  assert.equal(link.connected, false);
  if (stale) rmSync(path);
  const d = await FakeDaemon.start({ path });
  const listening = performance.now();
  const peer = await d.waitRegistered(1, 3000);
  return { d, ms: peer.openedAt - listening };
}

for (const stale of [false, true]) {
  test(`a daemon that starts while the link waits out its backoff is found at once${stale ? " (a stale socket was there)" : ""}`, async () => {
    const path = freshPath();
    const link = makeLink(path, { backoffMinMs: 10000, backoffMaxMs: 10000 });
    link.add(instance());
    await waitFor(() => link.dials.length === 1 && link.watcher, "a failed attempt and the watch");
    const { d, ms } = await daemonAppears(link, path, { stale });
    assert.ok(ms < 500, `connected ${ms.toFixed(1)} ms after the daemon listened, with 10 s of backoff left`);
    await waitFor(() => link.watcher === null, "the watch to end once connected");
    await d.stop();
  });
}

test("after a daemon crash, its successor is found at once however long the backoff", async () => {
  const path = freshPath();
  const first = await FakeDaemon.start({ path });
  const link = makeLink(path, { backoffMinMs: 10000, backoffMaxMs: 10000 });
  const inst = instance();
  link.add(inst);
  await first.waitRegistered();
  assert.equal(link.watcher, null, "no watch while connected");
  await first.stop(); // the link drops: the next attempt is 10 s away
  await waitFor(() => !link.connected && link.watcher, "the drop and the watch");
  const { d, ms } = await daemonAppears(link, path, { stale: true });
  assert.ok(ms < 500, `connected ${ms.toFixed(1)} ms after the new daemon listened`);
  await waitFor(() => inst.reg, "registered again");
  await d.stop();
});

test("changes to other files in the socket's directory are no reason to try", async () => {
  const path = freshPath();
  const link = makeLink(path, { backoffMinMs: 10000, backoffMaxMs: 10000 });
  link.add(instance());
  await waitFor(() => link.dials.length === 1 && link.watcher, "a failed attempt and the watch");
  writeFileSync(`${path}.other`, "");
  rmSync(`${path}.other`);
  await sleep(100);
  assert.equal(link.dials.length, 1);
  link.unwatchSocket();
});

test("with the directory unwatchable the link still finds a daemon, by its backoff", async () => {
  const path = freshPath();
  const link = makeLink(path, { backoffMinMs: 20, backoffMaxMs: 40, watch: () => null });
  link.add(instance());
  await waitFor(() => link.dials.length >= 3, "3 attempts");
  const d = await FakeDaemon.start({ path });
  await d.waitRegistered(1, 1000);
  await d.stop();
});

test("a socket path that cannot be had is never dialled; the link keeps trying", async () => {
  let asked = 0;
  const link = makeLink(freshPath(), {
    backoffMinMs: 10,
    socketPath: () => {
      asked++;
      throw new Error("OCSTOP_SOCKET must be an absolute path");
    },
  });
  link.add(instance());
  await waitFor(() => asked >= 3, "3 attempts");
  assert.equal(link.dials.length, 0);
  assert.equal(link.connected, false);
  await assert.rejects(link.request("message", {}, 50), /not connected/);
});

test("a daemon that comes later is found, and the backoff starts again from the least", async () => {
  const path = freshPath();
  const link = makeLink(path, { backoffMinMs: 25, backoffMaxMs: 1000 });
  const inst = instance();
  link.add(inst);
  await waitFor(() => link.backoff >= 400, "the backoff to grow");
  const d = await FakeDaemon.start({ path });
  const first = await d.waitRegistered(1, 3000);
  await waitFor(() => inst.reg, "registered");
  assert.equal(link.backoff, 25, "reset by a register reply");
  const before = link.dials.length;
  first.sock.destroy();
  await waitFor(() => d.live.length === 1 && d.live[0] !== first && d.live[0].requests("register").length, "a new connection");
  assert.equal(link.dials.length, before + 1);
  const gap = link.dials.at(-1).at - first.closedAt;
  assert.ok(gap >= 20 && gap < 300, `reconnected ${gap} ms after the drop`);
  await d.stop();
});

test("after a drop: requests in flight fail, registrations are forgotten, and every instance registers again", async () => {
  const d = await FakeDaemon.start();
  d.registerReply = () => ({ stop_words: ["x"], max_len: 1, relay: true });
  const link = makeLink(d.path, { backoffMinMs: 10 });
  const a = instance("/a");
  const b = instance("/b");
  link.add(a);
  link.add(b);
  const first = await d.waitRegistered(2);
  await waitFor(() => a.reg && b.reg, "both registered");
  d.messageReply = () => undefined;
  const inFlight = link.request("message", {}, 5000);
  await waitFor(() => first.requests("message").length, "the request");
  first.sock.destroy();
  await assert.rejects(inFlight, /ocstopd: connection closed/);
  assert.equal(link.pending.size, 0);
  assert.equal(link.connected, false);
  assert.equal(a.reg, null);
  assert.equal(b.reg, null);
  const second = await waitFor(() => d.live.find((p) => p !== first && p.requests("register").length === 2), "both registered again");
  assert.deepStrictEqual(second.requests("register").map((m) => m[3][0].directory).sort(), ["/a", "/b"]);
  await waitFor(() => a.reg && b.reg, "both registered again");
  await d.stop();
});

test("a daemon that takes the connection but never answers register is left after 5 s, and tried again", async () => {
  assert.equal(REGISTER_TIMEOUT_MS, 5000);
  let hung = true;
  // Taken before the link exists, so before its register timer starts: the wait can only be longer.
  const before = performance.now();
  const { d, inst, peer: first } = await connected({}, (d) => (d.registerReply = () => (hung ? undefined : { stop_words: ["x"] })));
  await waitFor(() => first.closed, "the link to close the hung connection", 7000);
  const waited = first.closedAt - before;
  assert.ok(waited >= 5000 && waited < 6500, `closed after ${waited} ms`);
  hung = false;
  await waitFor(() => inst.reg, "registered on a new connection", 3000);
  assert.equal(d.peers.length, 2);
  await d.stop();
});

test("a hung daemon is left after the register timeout when that is shorter too", async () => {
  const d = await FakeDaemon.start();
  d.registerReply = () => undefined;
  const link = makeLink(d.path, { registerTimeoutMs: 100, backoffMinMs: 10 });
  link.add(instance());
  await waitFor(() => d.peers.length >= 3, "three connections");
  assert.ok(d.peers[0].closed && d.peers[1].closed);
  assert.deepStrictEqual(d.peers.slice(0, 2).map((p) => p.requests("register").length), [1, 1]);
  await d.stop();
});

for (const [what, bytes] of [
  ["bytes that are not msgpack", Buffer.concat([Buffer.from("c1", "hex"), Buffer.from(" this is not msgpack")])],
  ["a frame over 1 MiB (its length alone)", Buffer.from("db00200000", "hex")],
  ["an array longer than 1 MiB can hold", Buffer.from("dd00200000", "hex")],
]) {
  test(`${what} from the daemon: the link drops the connection and comes back`, async () => {
    const { d, link, inst, peer: first } = await connected({ backoffMinMs: 10 });
    await waitFor(() => inst.reg, "registered");
    d.messageReply = () => undefined;
    const inFlight = link.request("message", {}, 5000);
    await waitFor(() => first.requests("message").length, "the request");
    first.sendRaw(bytes);
    await assert.rejects(inFlight, /connection closed/);
    await waitFor(() => first.closed, "the connection to close");
    await waitFor(() => d.live.length === 1 && d.live[0] !== first && inst.reg, "a new registered connection");
    await d.stop();
  });
}

test("a valid message split across writes is put back together", async () => {
  const { d, inst, peer } = await connected({}, (d) => (d.registerReply = () => undefined));
  const { encode } = await import("../../client/opencode-plugin/src/codec.js");
  const bytes = encode([1, peer.requests("register")[0][1], null, { stop_words: ["halt"], relay: true }]);
  for (const b of bytes) {
    peer.sendRaw(Uint8Array.of(b));
    await sleep(1);
  }
  await waitFor(() => inst.reg, "registered");
  assert.deepStrictEqual(inst.reg, { maxLen: 4, relay: true });
  await d.stop();
});

test("the daemon's requests are answered with onRequest's reply on the connection they came on", async () => {
  const d = await FakeDaemon.start();
  const seen = [];
  const link = makeLink(d.path, {
    onRequest: async (method, params) => {
      seen.push([method, params]);
      if (method === "opencode.abort") return [null, { ok: true, ms: 3 }];
      return [[2, "unknown method"], { ignored: true }];
    },
  });
  link.add(instance());
  const peer = await d.waitRegistered();
  peer.send([0, 7, "opencode.abort", [{ session: "ses_1", directory: "/p" }]]);
  peer.send([0, 8, "nonsense", []]);
  peer.send([0, 9, "nonsense", "not an array"]);
  peer.send([0, 10, "nonsense", [null]]);
  peer.send([2, "some.notification", [{}]]); // nothing to do
  peer.send("not a message");
  const replies = await waitFor(() => peer.received.filter((m) => m[0] === 1).length === 4 && peer.received.filter((m) => m[0] === 1), "four replies");
  assert.deepStrictEqual(replies, [
    [1, 7, null, { ok: true, ms: 3 }],
    [1, 8, [2, "unknown method"], null],
    [1, 9, [2, "unknown method"], null],
    [1, 10, [2, "unknown method"], null],
  ]);
  assert.deepStrictEqual(seen, [["opencode.abort", { session: "ses_1", directory: "/p" }], ["nonsense", {}], ["nonsense", {}], ["nonsense", {}]]);
  assert.equal(peer.closed, false);
  await d.stop();
});

test("an answer that is ready only after its connection dropped is not sent on the next one", async () => {
  let release;
  const { d, peer: first } = await connected({ backoffMinMs: 10, onRequest: () => new Promise((r) => (release = () => r([null, { ok: true }]))) });
  first.send([0, 5, "opencode.abort", [{ session: "ses_1" }]]);
  await waitFor(() => release, "the request to reach onRequest");
  first.sock.destroy();
  const second = await waitFor(() => d.live.find((p) => p !== first && p.requests("register").length), "a new connection");
  release();
  await sleep(50);
  assert.deepStrictEqual(second.received.filter((m) => m[0] === 1), []);
  await d.stop();
});

test("notifications go out only while connected", async () => {
  const path = freshPath();
  const link = makeLink(path);
  link.notify("opencode.event", [{ directory: "/p", event: "{}" }]); // nowhere to go: dropped
  const d = await FakeDaemon.start({ path });
  link.add(instance());
  const peer = await d.waitRegistered();
  link.notify("opencode.event", [{ directory: "/p", event: "{\"type\":\"session.idle\"}" }]);
  await waitFor(() => peer.received.some((m) => m[0] === 2), "the notification");
  assert.deepStrictEqual(peer.received.filter((m) => m[0] === 2), [[2, "opencode.event", [{ directory: "/p", event: "{\"type\":\"session.idle\"}" }]]]);
  await d.stop();
});

// A dial whose sockets write through write(sock, bytes, handlers, self): sock is the real socket,
// self the one the link holds.
const dialWriting = (write) => async (o) => {
  const sock = await dial(o);
  const self = { write: (bytes) => write(sock, bytes, o.socket, self), end: () => sock.end(), unref: () => sock.unref() };
  return self;
};

test("what the socket does not take at once is sent in order once it drains", async () => {
  let partial = 0;
  const counting = dialWriting((sock, bytes) => {
    const n = sock.write(bytes);
    if (n < bytes.length) partial++;
    return n;
  });
  const { d, link, peer } = await connected({ dial: counting });
  peer.sock.pause(); // the daemon stops reading: the kernel buffers fill up
  const big = "y".repeat(200000);
  for (let i = 0; i < 40; i++) link.notify("opencode.event", [{ directory: "/p", event: `${i}:${big}` }]);
  await sleep(100);
  peer.sock.resume();
  await waitFor(() => peer.received.filter((m) => m[0] === 2).length === 40, "all 40 notifications", 10000);
  const got = peer.received.filter((m) => m[0] === 2).map((m) => m[2][0].event);
  got.forEach((e, i) => assert.ok(e === `${i}:${big}`, `notification ${i} intact and in order`));
  assert.equal(peer.badInput, null);
  // node's sockets buffer whatever they are given; Bun's take what the kernel takes.
  if (runtime === "bun") assert.ok(partial > 0, "the socket did push back");
  await d.stop();
});

test("a socket that takes a few bytes at a time still gets every message whole and in order", async () => {
  let writes = 0;
  let drainScheduled = false;
  // Takes at most 7 bytes a call and asks for more on the next turn, as a full kernel buffer would.
  const stingy = dialWriting((sock, bytes, handlers, self) => {
    writes++;
    const n = Math.min(7, bytes.length);
    sock.write(bytes.slice(0, n));
    if (!drainScheduled) {
      drainScheduled = true;
      setTimeout(() => {
        drainScheduled = false;
        handlers.drain(self);
      }, 1);
    }
    return n;
  });
  const { d, link, peer } = await connected({ dial: stingy });
  for (let i = 0; i < 5; i++) link.notify("opencode.event", [{ directory: "/p", event: `event ${i} ${"z".repeat(50)}` }]);
  await waitFor(() => peer.received.filter((m) => m[0] === 2).length === 5, "5 notifications", 10000);
  assert.deepStrictEqual(peer.received.filter((m) => m[0] === 2).map((m) => m[2][0].event.split(" ").slice(0, 2).join(" ")), ["event 0", "event 1", "event 2", "event 3", "event 4"]);
  assert.ok(writes > 30, `${writes} writes`);
  await d.stop();
});
