// The shim's stop toast (client/opencode-plugin/src/toast.js) against a fake OpenCode client: what
// the daemon proved (x.result) in words, what is not known said as not verified, and never an error.
//
//   node --test tests/js/toast.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Toasts, TOAST_DELAY_MS, PROOF_WAIT_MS, NO_DAEMON, blastRadius, outcomeToast, unverifiedToast } from "../../client/opencode-plugin/src/toast.js";
import { fakeCtx, sleep, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));

const unhandled = [];
process.on("unhandledRejection", (e) => unhandled.push(e));

const toasts = (calls) => calls.filter((c) => c.name === "tui.showToast");
const stop = (fields) => ({ session: "ses_1", stopped: true, children: [], running: [], ms: 40, reason: null, server: "http://h", origin: "x", ...fields });

test("a toast comes 150 ms after the x at the earliest; an outcome is waited for 8 s by default", () => {
  assert.equal(TOAST_DELAY_MS, 150);
  assert.equal(PROOF_WAIT_MS, 8000);
});

test("a plain message is shown after the toast delay, as an info toast", async () => {
  const { ctx, calls } = fakeCtx();
  const t = new Toasts();
  const t0 = performance.now();
  t.show(ctx, "ocstop: message not sent");
  await sleep(100);
  assert.deepStrictEqual(toasts(calls), [], "not yet");
  const [call] = await waitFor(() => toasts(calls).length && toasts(calls), "the toast");
  assert.ok(call.at - t0 >= TOAST_DELAY_MS - 1, `shown after ${call.at - t0} ms`);
  assert.deepStrictEqual(call.arg, { body: { message: "ocstop: message not sent", variant: "info" } });
});

test("each outcome reads as what happened", () => {
  assert.deepStrictEqual(outcomeToast({ outcome: "stopped", stop: stop({ ms: 40 }) }, 2.4, 500), { text: "ocstop: stopped in 42 ms (verified)", variant: "success" });
  // The daemon's own measure from the x, when it gives one, whatever the shim's loop did meanwhile.
  assert.deepStrictEqual(outcomeToast({ outcome: "stopped", ms: 61, stop: stop({ ms: 40 }) }, 2700, 5000), { text: "ocstop: stopped in 61 ms (verified)", variant: "success" });
  // A stop proven without an idle time: counted to the result.
  assert.deepStrictEqual(outcomeToast({ outcome: "stopped", stop: stop({ ms: -1 }) }, 2, 321.4), { text: "ocstop: stopped in 321 ms (verified)", variant: "success" });
  assert.deepStrictEqual(
    outcomeToast({ outcome: "not_stopped", reason: "ses_1 did not report idle within 3000 ms (2 attempts)", stop: stop({ stopped: false, running: ["ses_1", "ses_2"] }) }, 2, 9000),
    { text: "ocstop: NOT stopped — ses_1 did not report idle within 3000 ms (2 attempts); still running: ses_1, ses_2", variant: "error" },
  );
  assert.deepStrictEqual(outcomeToast({ outcome: "not_stopped", reason: "the abort request failed", stop: stop({ stopped: false, running: [] }) }, 2, 9000), { text: "ocstop: NOT stopped — the abort request failed", variant: "error" });
  assert.deepStrictEqual(outcomeToast({ outcome: "idle", reason: "nothing was running" }, 2, 5), { text: "ocstop: nothing was running", variant: "info" });
  // The shim stopped alone; the daemon found the tree idle afterwards.
  assert.deepStrictEqual(outcomeToast({ outcome: "idle", reason: "nothing is running now" }, 2, 5, true), { text: "ocstop: stopped; nothing is running now (verified)", variant: "success" });
  assert.deepStrictEqual(outcomeToast({ outcome: "unverified", reason: "ocstopd does not know this session yet" }, 2, 5), { text: "ocstop: abort sent; not verified — ocstopd does not know this session yet", variant: "info" });
  assert.deepStrictEqual(outcomeToast(null, 2, 8000), { text: "ocstop: abort sent; not verified — ocstopd did not say how the stop ended", variant: "info" });
  assert.deepStrictEqual(outcomeToast({ outcome: "what" }, 2, 8000).variant, "info");
  assert.deepStrictEqual(unverifiedToast(NO_DAEMON), { text: "ocstop: abort sent; not verified — ocstopd is not running", variant: "info" });
});

test("a stop that reached more than the session typed in says what it reached, refused, held and ended", () => {
  assert.equal(blastRadius(stop({ fenced: true, background: [], refused: { tools: 0, requests: 0 }, held: 0 })), "");
  assert.equal(blastRadius(null), "");
  assert.deepStrictEqual(
    outcomeToast({ outcome: "stopped", ms: 9, stop: stop({ children: ["ses_2", "ses_3"], background: ["ses_3"], refused: { tools: 1, requests: 0 }, held: 2, processes: [{ pid: 7, command: "sleep 300" }] }) }, 2, 50),
    { text: "ocstop: stopped in 9 ms (verified) — 3 sessions (1 in the background); refused 1 tool call; held 2 queued messages; ended 1 process", variant: "success" },
  );
  assert.equal(blastRadius(stop({ refused: { tools: 2, requests: 1 } })), " — refused 2 tool calls and 1 model request");
  assert.equal(blastRadius(stop({ refused: { tools: 0, requests: 3 }, held: 1 })), " — refused 3 model requests; held 1 queued message");
  // What is not a count is no count: a peer's garbage says nothing.
  assert.equal(blastRadius(stop({ refused: { tools: "9", requests: -1 }, held: 1.5, children: "x", processes: {} })), "");
});

test("the toast waits for the x's result, found by message id, else by session", async () => {
  const { ctx, calls } = fakeCtx();
  const t = new Toasts();
  const t0 = performance.now();
  t.show(ctx, t.whenDone("msg_1").then((r) => outcomeToast(r, 1, performance.now() - t0)));
  const bySession = t.whenDone("ses_9");
  await sleep(300);
  assert.deepStrictEqual(toasts(calls), [], "held until the result");
  // Results for others, and garbage, change nothing.
  for (const r of [{ outcome: "stopped", message_id: "msg_2", session: "ses_1" }, null, undefined, "x", 7, {}]) t.noteResult(r);
  t.noteResult({ outcome: "stopped", message_id: "msg_1", session: "ses_1", stop: stop({ ms: 30 }) });
  const [call] = await waitFor(() => toasts(calls).length && toasts(calls), "the toast");
  assert.deepStrictEqual(call.arg.body, { message: "ocstop: stopped in 31 ms (verified)", variant: "success" });
  t.noteResult({ outcome: "idle", message_id: null, session: "ses_9" });
  assert.equal((await bySession).outcome, "idle");
  assert.equal(t.waiters.size, 0);
});

test("no result within the wait: null, and a late one is dropped", async () => {
  const t = new Toasts();
  const t0 = performance.now();
  const r = await t.whenDone("msg_1", 200);
  assert.equal(r, null);
  assert.ok(performance.now() - t0 >= 199);
  assert.equal(t.waiters.size, 0);
  t.noteResult({ outcome: "stopped", message_id: "msg_1" });
  // forget() ends a wait at once.
  const f = t.whenDone("msg_2", 5000);
  t.forget("msg_2");
  assert.equal(await f, null);
  assert.equal(t.waiters.size, 0);
});

test("a client that cannot show toasts is no error", async () => {
  const failures = [
    () => Promise.reject(new Error("no TUI here")),
    () => {
      throw new Error("no TUI here");
    },
    undefined,
  ];
  for (const showToast of failures) {
    const { ctx } = fakeCtx();
    if (showToast) ctx.client.tui.showToast = showToast;
    else delete ctx.client.tui;
    new Toasts().show(ctx, "ocstop: message not sent");
  }
  await sleep(TOAST_DELAY_MS + 100);
  assert.deepStrictEqual(unhandled, []);
});
