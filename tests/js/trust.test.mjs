// The shim trusts only its own user's daemon (client/opencode-plugin/src/socket-path.js, used by
// main.js and link.js): a socket whose directory another user owns, or others may enter, gets no
// connection at all, so the register with OpenCode's password never leaves; the refusal is logged
// once in OpenCode's log; x still stops the session without the daemon; and once the directory is
// private again the shim connects. The squatters are fake daemons on real sockets whose directory
// (or socket) is then given to uid 65534 or opened up; those needing chown run as root only.
//
//   node --test tests/js/trust.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { createPlugin } from "../../client/opencode-plugin/src/main.js";
import { FakeDaemon, dial, fakeCtx, sleep, tempDir, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));
after(() => FakeDaemon.stopAll());

const SQUATTER = 65534;
const PASSWORD = "pw-for-opencode-only";
const asRoot = process.geteuid() !== 0 && "needs root, to give files to another uid";
let n = 0;
const temps = [];
after(() => temps.forEach((t) => t.cleanup()));

// A fake daemon in a fresh private directory; squat(dir, sock) then makes it untrustworthy.
async function squatter(squat) {
  const tmp = tempDir();
  const dir = `${tmp.dir}/d${++n}`;
  mkdirSync(dir, { mode: 0o700 });
  const d = await FakeDaemon.start({ path: `${dir}/ocstop.sock` });
  squat(dir, d.path);
  temps.push(tmp);
  return { d, dir };
}

// The plugin on d's socket with OpenCode's password in the environment; its log calls are recorded.
async function shim(d) {
  const dials = [];
  const OcStop = createPlugin({ dial: (o) => (dials.push(o.unix), dial(o)), env: { OCSTOP_SOCKET: d.path, OPENCODE_SERVER_PASSWORD: PASSWORD } });
  const fake = fakeCtx();
  fake.client.app = { log: fake.record("app.log", { data: true }) };
  const hooks = await OcStop(fake.ctx);
  return { hooks, dials, calls: fake.calls, logs: () => fake.calls.filter((c) => c.name === "app.log").map((c) => c.arg.body) };
}

const send = (hooks, text) => hooks["chat.message"]({ sessionID: "ses_1" }, { message: { id: "msg_1" }, parts: [{ type: "text", text }] });

// Attempts at 0, 250 and 750 ms (the backoff): three refusals by 1 s.
const ATTEMPTS_MS = 1000;

const cases = [
  ["a directory of another user", asRoot, (dir) => chownSync(dir, SQUATTER, SQUATTER), "is owned by another user (owner uid 65534, mode 0700)"],
  ["a directory others may enter (0755)", false, (dir) => chmodSync(dir, 0o755), `is open to other users (owner uid ${process.geteuid()}, mode 0755)`],
  ["a directory anyone may write (1777)", false, (dir) => chmodSync(dir, 0o1777), "is open to other users"],
  ["a socket of another user in our private directory", asRoot, (dir, sock) => chownSync(sock, SQUATTER, SQUATTER), "belongs to uid 65534, not to you"],
];

for (const [what, skip, squat, why] of cases) {
  test(`${what}: no connection, no register, the refusal logged once, and x still stops`, { skip }, async () => {
    const { d } = await squatter(squat);
    const { hooks, dials, calls, logs } = await shim(d);
    await sleep(ATTEMPTS_MS);
    assert.deepStrictEqual(dials, [], "never dialled");
    assert.equal(d.peers.length, 0, "the squatter saw no connection");
    assert.deepStrictEqual(d.all(), [], "and not a byte, least of all the password");
    const said = logs();
    assert.equal(said.length, 1, `logged once over several attempts: ${JSON.stringify(said)}`);
    assert.equal(said[0].service, "ocstop");
    assert.equal(said[0].level, "warn");
    assert.ok(said[0].message.startsWith(`refusing to use ${d.path}: `), said[0].message);
    assert.ok(said[0].message.includes(why), said[0].message);
    // The fail-safe: the shim stops the session by itself.
    await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
    assert.equal(calls.filter((c) => c.name === "session.abort").length, 1);
    assert.equal(await send(hooks, "hello"), undefined);
    assert.equal(d.peers.length, 0);
    await d.stop();
  });
}

test("once the directory is private again the shim connects and registers", async () => {
  const { d, dir } = await squatter((dir) => chmodSync(dir, 0o755));
  const { logs } = await shim(d);
  await waitFor(() => logs().length === 1, "the refusal");
  assert.equal(d.peers.length, 0);
  chmodSync(dir, 0o700);
  const peer = await d.waitRegistered(1, 8000);
  assert.equal(peer.requests("register")[0][3][0].password, PASSWORD);
  assert.equal(logs().length, 1);
  await d.stop();
});

test("an OpenCode without a log route: still no connection, and x still stops", async () => {
  const { d } = await squatter((dir) => chmodSync(dir, 0o755));
  const OcStop = createPlugin({ dial, env: { OCSTOP_SOCKET: d.path, OPENCODE_SERVER_PASSWORD: PASSWORD } });
  const { ctx, calls } = fakeCtx();
  const hooks = await OcStop(ctx);
  await sleep(300);
  assert.equal(d.peers.length, 0);
  await assert.rejects(send(hooks, "x"), (e) => e.message === "ocstop: stopped (x)");
  assert.equal(calls.filter((c) => c.name === "session.abort").length, 1);
  await d.stop();
});
