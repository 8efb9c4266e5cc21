// The shim's stop toast (client/opencode-plugin/src/toast.js) against a fake OpenCode client: the
// latency when the session's idle event comes, plain words when it does not, and never an error.
//
//   node --test tests/js/toast.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Toasts, TOAST_DELAY_MS, IDLE_WAIT_MS } from "../../client/opencode-plugin/src/toast.js";
import { fakeCtx, sleep, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));

const unhandled = [];
process.on("unhandledRejection", (e) => unhandled.push(e));

const idle = (sessionID) => ({ type: "session.idle", properties: { sessionID } });
const toasts = (calls) => calls.filter((c) => c.name === "tui.showToast");

test("the delays are 150 ms before a toast and up to 1 s for the idle event", () => {
  assert.equal(TOAST_DELAY_MS, 150);
  assert.equal(IDLE_WAIT_MS, 1000);
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

test("a stop toast gives the latency up to the session's idle event", async () => {
  const { ctx, calls } = fakeCtx();
  const t = new Toasts();
  const t0 = performance.now();
  t.show(ctx, t.stopText("ses_1", t0));
  await sleep(60);
  const idleAt = performance.now();
  t.noteIdle(idle("ses_1"));
  const [call] = await waitFor(() => toasts(calls).length && toasts(calls), "the toast");
  const ms = Number(/^ocstop: stopped in (\d+) ms$/.exec(call.arg.body.message)?.[1]);
  assert.ok(Math.abs(ms - (idleAt - t0)) <= 1, `${call.arg.body.message}, idle after ${idleAt - t0} ms`);
  assert.ok(call.at - t0 >= TOAST_DELAY_MS - 1, "still after the toast delay");
  assert.equal(t.idleWaiters.size, 0);
});

test("an idle event later than the toast delay holds the toast until it comes", async () => {
  const { ctx, calls } = fakeCtx();
  const t = new Toasts();
  const t0 = performance.now();
  t.show(ctx, t.stopText("ses_1", t0));
  await sleep(400);
  assert.deepStrictEqual(toasts(calls), []);
  t.noteIdle(idle("ses_1"));
  const [call] = await waitFor(() => toasts(calls).length && toasts(calls), "the toast");
  const ms = Number(/^ocstop: stopped in (\d+) ms$/.exec(call.arg.body.message)?.[1]);
  assert.ok(ms >= 399 && ms < 900, call.arg.body.message);
});

test("without an idle event the toast says only that it stopped, after 1 s", async () => {
  const { ctx, calls } = fakeCtx();
  const t = new Toasts();
  const t0 = performance.now();
  t.show(ctx, t.stopText("ses_1", t0));
  // Events that are not this session's idle event change nothing.
  t.noteIdle(idle("ses_2"));
  t.noteIdle({ type: "session.status", properties: { sessionID: "ses_1", status: { type: "idle" } } });
  t.noteIdle({ type: "session.idle" });
  t.noteIdle({ type: "session.idle", properties: {} });
  t.noteIdle(undefined);
  t.noteIdle(null);
  const [call] = await waitFor(() => toasts(calls).length && toasts(calls), "the toast", 3000);
  assert.equal(call.arg.body.message, "ocstop: stopped");
  assert.ok(call.at - t0 >= IDLE_WAIT_MS - 1 && call.at - t0 < IDLE_WAIT_MS + 500, `after ${call.at - t0} ms`);
  assert.equal(t.idleWaiters.size, 0);
  t.noteIdle(idle("ses_1")); // too late: nothing waits for it
  await sleep(200);
  assert.equal(toasts(calls).length, 1);
});

test("a second stop of the same session takes its idle event; the first ends plain", async () => {
  const t = new Toasts();
  const t0 = performance.now();
  const first = t.stopText("ses_1", t0);
  const second = t.stopText("ses_1", t0 + 10);
  await sleep(30);
  t.noteIdle(idle("ses_1"));
  assert.match(await second, /^ocstop: stopped in \d+ ms$/);
  assert.equal(await first, "ocstop: stopped");
  assert.ok(performance.now() - t0 >= IDLE_WAIT_MS - 1);
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
