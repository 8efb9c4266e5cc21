// What older OpenCode versions need from the shim (client/opencode-plugin/src/compat.js), with
// stand-ins shaped like theirs: 1.0's URL-encoded directory, missing serverUrl and /global/health;
// 1.14's TUI, which prints a thrown error on its terminal. tests/compat.sh runs the real versions.
//
//   node --test tests/js/compat.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { binaryVersion, instanceFor, printsThrownErrors, quietError, shownDirectory } from "../../client/opencode-plugin/src/compat.js";
import { blockError } from "../../client/opencode-plugin/src/block.js";
import { createPlugin } from "../../client/opencode-plugin/src/main.js";
import { FakeDaemon, dial, fakeCtx, sleep, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));
after(() => FakeDaemon.stopAll());

const RESPONSE_TYPE_KEY = "~effect/http/HttpServerResponse";
const send = (hooks, text, sessionID = "ses_1") => hooks["chat.message"]({ sessionID }, { message: { id: "msg_1" }, parts: [{ type: "text", text }] });

test("a URL-encoded directory is shown decoded; anything else as it is", () => {
  assert.equal(shownDirectory("%2Ftmp%2Fmy%20proj"), "/tmp/my proj");
  assert.equal(shownDirectory("%2ftmp"), "/tmp");
  for (const d of ["/tmp/a%2Fb", "/srv/proj", "rel%2Fative", "%2F%E0%A4%A", "", undefined]) assert.equal(shownDirectory(d), d);
  const one = { n: 1 };
  const instances = new Map([["%2Fp%2Fone", one]]);
  assert.equal(instanceFor(instances, "/p/one"), one);
  assert.equal(instanceFor(instances, "%2Fp%2Fone"), one);
  assert.equal(instanceFor(instances, "/p/two"), undefined);
});

test("the binary's version, from the npm package it came in", async () => {
  const reads = [];
  const files = (text) => async (path) => (reads.push(path), text);
  const bin = "/x/node_modules/opencode-linux-x64/bin/opencode";
  assert.equal(await binaryVersion(bin, files('{"name":"opencode-linux-x64","version":"1.0.185"}')), "1.0.185");
  assert.deepStrictEqual(reads, ["/x/node_modules/opencode-linux-x64/package.json"]);
  assert.equal(await binaryVersion("/usr/bin/node", files('{"name":"opencode","version":"1.0.0"}')), "");
  assert.equal(await binaryVersion("/home/u/.opencode/opencode", files("{}")), "");
  assert.equal(reads.length, 1, "nothing read for other programs or installs");
  assert.equal(await binaryVersion(bin, files('{"name":"left-pad","version":"1.0.0"}')), "");
  assert.equal(await binaryVersion(bin, files('{"name":"opencode-linux-x64","version":"latest"}')), "");
  assert.equal(await binaryVersion(bin, files("not json")), "");
  assert.equal(await binaryVersion(bin, async () => { throw new Error("ENOENT"); }), "");
  assert.equal(await binaryVersion(undefined, files("{}")), "");
});

test("versions before 1.15 print thrown errors; later and unknown ones do not", () => {
  for (const v of ["1.0.185", "1.2.27", "1.14.41", "0.15.0"]) assert.equal(printsThrownErrors(v), true, v);
  for (const v of ["1.15.13", "1.18.33", "2.0.0", "", "dev", undefined]) assert.equal(printsThrownErrors(v), false, v);
});

test("a quiet error prints as its sentence alone, and reads as the error it stands for", () => {
  // node brackets an error without frames; Bun prints it bare (tests/compat.sh sees that).
  assert.match(inspect(quietError(new Error("no head here"))), /^\[?Error: no head here\]?$/);
  const err = blockError("ocstop: stopped (x)");
  assert.match(inspect(err), /HttpServerResponse/, "what 1.14 printed");
  const q = quietError(err);
  const shown = inspect(q);
  assert.doesNotMatch(shown, /HttpServerResponse|status|body|\bat /, shown);
  assert.match(shown, /^\[?ocstop: stopped \(x\)\]?$/);
  assert.ok(RESPONSE_TYPE_KEY in q);
  assert.equal(q.status, 200);
  assert.deepStrictEqual(q.headers, { "content-type": "application/json" });
  assert.equal(q.message, "ocstop: stopped (x)");
  assert.equal(q.stack, err.stack);
  assert.deepStrictEqual(q.toObject(), err.toObject());
  // blockError's name answers NamedError's `in` test, as before.
  assert.equal("name" in q && q.name, "ConfigFrontmatterError");
  assert.equal(q.name, "Error");
});

// A plugin on an OpenCode shaped like ctx, its daemon replying reply to message.
async function start(ctxOptions, edit = () => {}, reply = { verdict: "abort", aborted: false }) {
  const d = await FakeDaemon.start();
  d.registerReply = () => ({ stop_words: ["x"], relay: true });
  d.messageReply = () => reply;
  const OcStop = createPlugin({ dial, env: { OCSTOP_SOCKET: d.path } });
  const inst = fakeCtx(ctxOptions);
  edit(inst);
  const hooks = await OcStop(inst.ctx);
  const peer = await d.waitRegistered(1, 3000);
  await sleep(20);
  return { d, peer, hooks, ...inst };
}

test("OpenCode 1.0: no serverUrl, a URL-encoded directory, no /global/health", async () => {
  const { d, peer, hooks, calls } = await start({ directory: "%2Fp%2Fone", version: "1.0.185" }, ({ ctx, client }) => {
    delete ctx.serverUrl;
    client._client.get = () => Promise.resolve({ error: "not found", response: { status: 404 } });
  });
  const reg = peer.requests("register")[0][3][0];
  assert.equal(reg.directory, "/p/one");
  assert.equal(reg.opencode_version, "", "node's own version is not OpenCode's");
  await hooks.event({ event: { type: "session.status", properties: { sessionID: "ses_1", status: { type: "busy" } } } });
  const ev = await waitFor(() => peer.received.find((m) => m[0] === 2), "an event");
  assert.equal(ev[2][0].directory, "/p/one");
  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
  assert.deepStrictEqual(d.all().filter((m) => m[2] === "message").map((m) => m[3][0].directory), ["/p/one"]);
  assert.deepStrictEqual(calls.filter((c) => c.name === "session.abort").map((c) => c.arg), [{ path: { id: "ses_1" } }]);
  peer.send([0, 100, "opencode.sessions", [{ directory: "/p/one" }]]);
  const r = await waitFor(() => peer.received.find((m) => m[0] === 1 && m[1] === 100), "the listing");
  assert.equal(r[2], null);
  await d.stop();
});

test("OpenCode 1.14 gets the quiet error, 1.18 the same error as before", async () => {
  for (const [version, quiet] of [["1.14.41", true], ["1.18.33", false]]) {
    const { d, hooks } = await start({ directory: "/p/one", version });
    const e = await send(hooks, "x").then(() => null, (err) => err);
    assert.ok(e && RESPONSE_TYPE_KEY in e && e.status === 200, version);
    assert.equal(/HttpServerResponse/.test(inspect(e)), !quiet, `${version}: ${inspect(e)}`);
    await d.stop();
  }
});
