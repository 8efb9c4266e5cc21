// time-to-idle.mjs URL PASSWORD — times stops as OpenCode reports them, one request a line:
//   abort SESSION      POST /session/SESSION/abort (the direct floor)
//   say SESSION TEXT   TEXT as a user message with prompt_async (typing "x" is the shim's path)
// Each is answered with one line: the milliseconds from the request to SESSION's session.idle event,
// or "error: WHY". Before the request it waits (30 s at most) for a streamed part of SESSION on its
// own event stream, so that the reply is running and the subscription is live. Prints "ready" once
// subscribed. Run as a coprocess (tests/lib/oc.sh: idle_timer_start, time_to_idle).
import readline from "node:readline";
import { openEvents, now, isIdle, isDelta } from "./events.mjs";

const [url, password] = process.argv.slice(2);
if (!url) {
  console.error("usage: time-to-idle.mjs URL PASSWORD");
  process.exit(2);
}
const auth = password ? { authorization: "Basic " + Buffer.from(`opencode:${password}`).toString("base64") } : {};
const events = openEvents(url, auth);
await events.up;
console.log("ready");

async function timeStop(kind, id, text) {
  await events.waitEvent(isDelta(id), 30000).catch(() => {
    throw new Error(`no streamed part of ${id} within 30 s`);
  });
  const idle = events.waitEvent(isIdle(id), 30000);
  idle.catch(() => {});
  const t0 = now();
  const r = kind === "abort"
    ? await fetch(`${url}/session/${id}/abort`, { method: "POST", headers: auth })
    : await fetch(`${url}/session/${id}/prompt_async`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ parts: [{ type: "text", text }] }),
      });
  if (r.status !== (kind === "abort" ? 200 : 204)) throw new Error(`${kind}: HTTP ${r.status}`);
  const at = await idle.catch(() => {
    throw new Error(`no session.idle of ${id} within 30 s`);
  });
  return Math.round(at - t0);
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  const m = /^(abort|say) (ses_\w+)(?: (.*))?$/.exec(line);
  if (!m || (m[1] === "say" && m[3] === undefined)) {
    console.log(`error: not a request: ${line}`);
    continue;
  }
  console.log(await timeStop(m[1], m[2], m[3]).then(String, (e) => `error: ${e.message}`));
}
