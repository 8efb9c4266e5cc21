// Measures stop latency against a real OpenCode: the direct floor (POST /session/:id/abort ->
// session.idle on /global/event) and each ocstop path, in the same run, interleaved, so the ratios
// are not skewed by a noisy machine. Run by bench/stop-latency.sh, which starts everything.
//
//   node latency.mjs --url URL --dir DIR --runs N --modes curl,ocstop[,x] [--user U --password P]
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { openEvents, now, isIdle, isDelta } from "../tests/lib/events.mjs";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" }, dir: { type: "string" }, runs: { type: "string", default: "20" },
    modes: { type: "string", default: "curl,ocstop" }, user: { type: "string", default: "opencode" },
    password: { type: "string", default: "" }, ocstop: { type: "string", default: "ocstop" },
    fake: { type: "string" },
  },
});
const auth = opt.password ? { authorization: "Basic " + Buffer.from(`${opt.user}:${opt.password}`).toString("base64") } : {};
const headers = { ...auth, "content-type": "application/json", "x-opencode-directory": encodeURIComponent(opt.dir) };
const events = openEvents(opt.url, auth);
const waitEvent = events.waitEvent;

async function api(method, path, body) {
  const res = await fetch(`${opt.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return res.status === 204 ? null : res.json();
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
  });
}

// ocstopd's stop reports, for the time to a verified stop on the x path.
const stops = [];
function followStops() {
  const m = spawn(opt.ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "inherit"] });
  let buf = "";
  m.stdout.on("data", (d) => {
    const t = now();
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const ev = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
      if (ev.type === "stop") stops.push({ t, ev: ev.stop });
    }
  });
  return m;
}
async function stopReport(id, since) {
  for (const end = now() + 10000; now() < end; await new Promise((r) => setTimeout(r, 2))) {
    const s = stops.find((x) => x.ev.session === id && x.t >= since);
    if (s) return s;
  }
  throw new Error("no stop report");
}

// Start a streaming reply and wait until text flows.
async function streaming(id) {
  const delta = waitEvent(isDelta(id));
  await api("POST", `/session/${id}/prompt_async`, { parts: [{ type: "text", text: "stream please" }] });
  await delta;
  await new Promise((r) => setTimeout(r, 150));
}

const modes = {
  // The floor: the abort route itself, timed to the idle event.
  async curl(id) {
    const idle = waitEvent(isIdle(id));
    const t0 = now();
    await api("POST", `/session/${id}/abort`);
    return { idle: (await idle) - t0 };
  },
  // `ocstop abort ID`: idle as seen here, the daemon's own figure, and the verified reply.
  async ocstop(id) {
    const idle = waitEvent(isIdle(id));
    const t0 = now();
    const r = await run(opt.ocstop, ["-j", "abort", id]);
    const t1 = now();
    const res = JSON.parse(r.out).results[0];
    if (r.code !== 0 || !res?.stopped) throw new Error(`ocstop: exit ${r.code} ${r.out}`);
    return { idle: (await idle) - t0, daemon: res.ms, verified: t1 - t0 };
  },
  // The user types x: prompt_async "x" through the plugin shim, timed to the idle event.
  async x(id) {
    const idle = waitEvent(isIdle(id));
    const t0 = now();
    await api("POST", `/session/${id}/prompt_async`, { parts: [{ type: "text", text: "x" }] });
    const idleAt = await idle;
    const s = await stopReport(id, t0);
    if (!s.ev.stopped) throw new Error(`not stopped: ${s.ev.reason}`);
    return { idle: idleAt - t0, daemon: s.ev.ms, verified: s.t - t0 };
  },
};

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const p99 = s[Math.min(s.length - 1, Math.ceil(s.length * 0.99) - 1)];
  return { min: s[0], median: s[Math.floor(s.length / 2)], p99, max: s[s.length - 1], n: s.length };
}

const monitor = opt.modes.split(",").includes("x") ? followStops() : null;
await events.up.catch((e) => { console.error("event stream:", e.message); process.exit(1); });
const session = await api("POST", "/session", { title: "bench" });
const names = opt.modes.split(",");
const samples = Object.fromEntries(names.map((m) => [m, []]));
for (let i = 0; i < Number(opt.runs); i++) {
  for (const m of names) {
    await streaming(session.id);
    samples[m].push(await modes[m](session.id));
    await new Promise((r) => setTimeout(r, 200));
  }
}
const fmt = (x) => x.toFixed(1).padStart(7);
const floor = stats(samples.curl.map((s) => s.idle));
console.log(`runs per mode: ${opt.runs} (interleaved), machine: ${(await import("node:os")).cpus().length} cores`);
console.log("what (ms)                               min   median      p99      max   median/floor  median-floor  p99-floor");
const line = (label, st) =>
  console.log(
    `${label.padEnd(34)}${fmt(st.min)}  ${fmt(st.median)}  ${fmt(st.p99)}  ${fmt(st.max)}   ${(st.median / floor.median).toFixed(2).padStart(11)}x  ${fmt(st.median - floor.median).padStart(12)}  ${fmt(st.p99 - floor.p99).padStart(9)}`,
  );
line("curl abort -> idle (floor)", floor);
for (const m of names.filter((n) => n !== "curl")) {
  line(`${m} -> idle`, stats(samples[m].map((s) => s.idle)));
  if (samples[m][0].daemon !== undefined) line(`${m}: daemon abort -> idle`, stats(samples[m].map((s) => s.daemon)));
  if (samples[m][0].verified !== undefined) line(`${m} -> verified stop`, stats(samples[m].map((s) => s.verified)));
}
monitor?.kill();
process.exit(0);
