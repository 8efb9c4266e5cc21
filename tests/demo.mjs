// The live demo's driver: a real OpenCode streams a reply from the fake model, the user's "x" goes
// in as an ordinary user message, and ocstopd's verified stop is printed with its latency.
// Started by tests/demo.sh, which sets up OpenCode, the daemon and the plugin shim.
import { spawn } from "node:child_process";

const [url, dir, password, ocstop] = process.argv.slice(2);
const auth = { authorization: "Basic " + Buffer.from(`opencode:${password}`).toString("base64") };
const headers = { ...auth, "content-type": "application/json", "x-opencode-directory": encodeURIComponent(dir) };
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (s) => process.stdout.write(s);

async function api(method, path, body) {
  const res = await fetch(`${url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status}`);
  return res.status === 204 ? null : res.json();
}

// Watch OpenCode's own event stream: print the reply as it streams, note when the session goes idle.
let session, streamed = 0, idleAt = 0, partsAfterStop = 0, stopT = Infinity;
(async () => {
  const res = await fetch(`${url}/global/event`, { headers: auth });
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body) {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i); buf = buf.slice(i + 2);
      if (!frame.startsWith("data: ")) continue;
      const ev = JSON.parse(frame.slice(6)).payload, p = ev.properties ?? {};
      const sid = p.sessionID ?? p.part?.sessionID;
      if (!session || sid !== session) continue;
      if (ev.type === "message.part.delta" && p.field === "text") { say(p.delta); streamed++; }
      if (ev.type === "session.idle" && !idleAt) idleAt = now();
      if (ev.type.startsWith("message.part.") && now() > stopT) partsAfterStop++;
    }
  }
})();

// ocstopd's stop reports, as `ocstop monitor -j` prints them.
const monitor = spawn(ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "inherit"] });
const stops = [];
let mbuf = "";
monitor.stdout.on("data", (d) => {
  mbuf += d;
  let i;
  while ((i = mbuf.indexOf("\n")) >= 0) {
    const ev = JSON.parse(mbuf.slice(0, i)); mbuf = mbuf.slice(i + 1);
    if (ev.type === "stop") stops.push({ ...ev.stop, at: now() });
  }
});

await sleep(300);
session = (await api("POST", "/session", { title: "ocstop demo" })).id;
const fakeBefore = async () => (await (await fetch(process.env.FAKE_URL + "/__stats")).json()).requests;
say(`session ${session}\n\nuser> write me something long\nagent> `);
await api("POST", `/session/${session}/prompt_async`, { parts: [{ type: "text", text: "write me something long" }] });
while (streamed < 12) await sleep(20);

say("\n\nuser> x\n");
const t0 = now();
await api("POST", `/session/${session}/prompt_async`, { parts: [{ type: "text", text: "x" }] });
while (!stops.length && now() - t0 < 10000) await sleep(5);
const stop = stops[0];
if (!stop?.stopped) {
  console.log(`\nNOT stopped: ${stop?.reason ?? "no stop report within 10 s"}`);
  process.exit(1);
}
stopT = now();
const idleMs = idleAt ? (idleAt - t0).toFixed(0) : "?";
console.log(`\nstopped in ${idleMs} ms (verified)`);
console.log(`  x sent -> session idle ${idleMs} ms; ocstopd's abort -> idle ${stop.ms} ms; ` +
  `x sent -> proof (all idle, then ${stop.quiet_ms ?? 100} ms without output) ${(stop.at - t0).toFixed(0)} ms`);

const requests = await fakeBefore();
await sleep(1500);
const later = await fakeBefore();
const msgs = await api("GET", `/session/${session}/message`);
const texts = msgs.flatMap((m) => m.parts.filter((p) => p.type === "text").map((p) => `${m.info.role}: ${p.text.slice(0, 30)}`));
const hasX = msgs.some((m) => m.info.role === "user" && m.parts.some((p) => p.type === "text" && p.text.trim().toLowerCase() === "x"));
const emptyUser = msgs.some((m) => m.info.role === "user" && m.parts.length === 0);
console.log(`  1.5 s later: ${later - requests} new model requests, ${partsAfterStop} part events; ` +
  `conversation: ${texts.length} text parts, "x" in it: ${hasX ? "YES" : "no"}, empty user message: ${emptyUser ? "YES" : "no"}`);
monitor.kill();
process.exit(later === requests && !hasX && !emptyUser && partsAfterStop === 0 ? 0 : 1);
