// The shim's removal of a blocked message from the screens (client/opencode-plugin/src/forget.js)
// against a fake OpenCode client: the delete of the message, tried again while OpenCode answers
// that the session is busy, in the background and never for ever.
//
//   node --test tests/js/forget.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { forgetMessage, FORGET_RETRY_MS, FORGET_TRIES } from "../../client/opencode-plugin/src/forget.js";
import { fakeCtx, sleep, waitFor } from "./helpers.mjs";

const keepAlive = setInterval(() => {}, 1 << 30);
after(() => clearInterval(keepAlive));

const BUSY = { error: { _tag: "SessionBusyError" }, response: { status: 409 } };
const deletes = (calls) => calls.filter((c) => c.name === "_client.delete");

// A fake client whose deletes answer busy `busy` times (forever with Infinity), then true.
function world(busy) {
  const fake = fakeCtx();
  let n = 0;
  fake.client._client.delete = fake.record("_client.delete", () => Promise.resolve(n++ < busy ? BUSY : { data: true }));
  return fake;
}

test("the message is deleted by its session and id, after the retry delay, in the background", async () => {
  const { ctx, calls } = world(0);
  const t0 = performance.now();
  assert.equal(forgetMessage(ctx, "ses_1", "msg_1"), undefined);
  assert.deepStrictEqual(deletes(calls), [], "not at once: the stopped turn is still ending");
  const [call] = await waitFor(() => deletes(calls).length && deletes(calls), "the delete");
  assert.ok(call.at - t0 >= FORGET_RETRY_MS - 1, `tried after ${call.at - t0} ms`);
  assert.deepStrictEqual(call.arg, {
    url: "/session/{sessionID}/message/{messageID}",
    path: { sessionID: "ses_1", messageID: "msg_1" },
  });
  await sleep(3 * FORGET_RETRY_MS);
  assert.equal(deletes(calls).length, 1, "once deleted, never again");
});

test("while the session is busy the delete is tried again until it is done", async () => {
  const { ctx, calls } = world(3);
  forgetMessage(ctx, "ses_1", "msg_1");
  await waitFor(() => deletes(calls).length === 4, "four deletes", 4000);
  await sleep(3 * FORGET_RETRY_MS);
  assert.equal(deletes(calls).length, 4);
});

test("a session that stays busy, or a client that throws, gets FORGET_TRIES deletes and no more", async () => {
  for (const fail of [() => Promise.resolve(BUSY), () => Promise.reject(new Error("down"))]) {
    const fake = fakeCtx();
    fake.client._client.delete = fake.record("_client.delete", fail);
    forgetMessage(fake.ctx, "ses_1", "msg_1");
    await waitFor(() => deletes(fake.calls).length === FORGET_TRIES, `${FORGET_TRIES} deletes`, 4000);
    await sleep(3 * FORGET_RETRY_MS);
    assert.equal(deletes(fake.calls).length, FORGET_TRIES);
  }
});

test("without a message id there is nothing to delete", async () => {
  const { ctx, calls } = world(0);
  forgetMessage(ctx, "ses_1", undefined);
  await sleep(2 * FORGET_RETRY_MS);
  assert.deepStrictEqual(deletes(calls), []);
});
