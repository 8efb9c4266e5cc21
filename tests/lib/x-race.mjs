// x-race.mjs — races an x against the completion of tool calls, on a real OpenCode with the shim,
// the fake model (tests/fake-llm.mjs) and tests/lib/race-probe.js installed:
//
//   node x-race.mjs --oc URL [--password PW] --fake URL --fake-log FILE --probe-log FILE
//                   --dir PROJ --mark FILE --reps N [--parallel M] [--calls K] [--ocstop CLI]
//
// Each repetition prompts a new session with SLOWTOOL(cmd) (its tool call's arguments stream and stay
// incomplete), then has the fake model complete the call at x + d, d from -10 to +10 ms, and types
// x with prompt_async at x. The M repetitions of the second kind ("parallel") stream K calls in one
// response: the first completes 150 ms before the x (it runs), the others at x + d, d from 0 to
// +10 ms (the x lands between parallel calls). Every call's command appends "<wall ns> <tag>" to the
// mark file when it runs, then sleeps 1 s (so a call that ran unstopped makes the next model request
// then). The x's stop is waited for in the shim's toast (tui.toast.show, whose message ends with the
// session's id); with --ocstop, the CLI's `-j monitor` (on $OCSTOP_SOCKET) also times the daemon's
// stop event.
//
// Prints one JSON line per repetition, then a summary line {"summary": ...}. The x's time is the
// probe's chat.message of it (x_seen: where a plugin first sees it, just before the shim); the
// offsets are the completion's time on the fake model's clock minus the x's, both as sent (offset)
// and as seen by the plugins (offset_seen). Counted against x_seen:
//   tried_after_x     calls OpenCode started (the probe's tool.execute.before) after the x, run or
//                     refused: the races that hit the window;
//   tools_after_x     calls whose command ran (a mark) although OpenCode started them (the probe's
//                     tool.execute.before) after the x: what no fence may let through;
//   requests_after_x  model requests of the session after the x (the fake model's clock);
//   marks_after_x     (for comparison) marks later than the x was sent: a call started before the x
//                     can write its mark after it, as its shell takes some ms to start.
import fs from "node:fs";
import { spawn } from "node:child_process";
import readline from "node:readline";
import { openEvents, now } from "./events.mjs";

const opt = {};
for (let i = 2; i < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["oc", "fake", "fake-log", "probe-log", "dir", "mark", "reps"])
  if (!opt[k]) {
    console.error(`x-race.mjs: --${k} is required`);
    process.exit(2);
  }
const reps = Number(opt.reps);
const parallel = Number(opt.parallel || 0);
const calls = Number(opt.calls || 3);
const auth = opt.password ? { authorization: "Basic " + Buffer.from(`opencode:${opt.password}`).toString("base64") } : {};
const dirHeader = { "x-opencode-directory": encodeURIComponent(opt.dir) };
// The releases are sent this long before the x they are timed against: on 2 busy cores a request to
// the fake model can take tens of ms, and an x sent late misses the race.
const LEAD_MS = 150;
const FIRST_CALL_AHEAD_MS = 150;
const WAIT_MS = 30000;

const wallMs = () => performance.timeOrigin + performance.now();
// now() (events.mjs) is monotonic; the same instant on the wall clock:
const wallOf = (t) => t - now() + wallMs();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Timers on a busy machine fire some ms late: the last SPIN_MS before a timed request are spun.
const SPIN_MS = 8;
// untilWall: wait for the wall time t (ms), on a timer to its last SPIN_MS and then spinning.
async function untilWall(t) {
  const ahead = t - wallMs() - SPIN_MS;
  if (ahead > 0) await sleep(ahead);
  while (wallMs() < t);
}

async function oc(method, path, body) {
  const r = await fetch(opt.oc + path, {
    method,
    headers: { ...auth, ...dirHeader, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
const say = (id, text) => oc("POST", `/session/${id}/prompt_async`, { parts: [{ type: "text", text }] });
async function release(n, count, at) {
  const q = new URLSearchParams({ n: String(n), at: String(at) });
  if (count !== undefined) q.set("count", String(count));
  const r = await fetch(`${opt.fake}/__release?${q}`, { method: "POST" });
  const j = await r.json();
  if (!r.ok || !j.released.length) throw new Error(`release of request ${n}: ${JSON.stringify(j)}`);
}

const readLines = (file) =>
  fs.existsSync(file)
    ? fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        })
    : [];

// heldRequest: the fake model's request number for the repetition tagged tag, once its calls stream.
async function heldRequest(tag) {
  const end = Date.now() + WAIT_MS;
  while (Date.now() < end) {
    const r = readLines(opt["fake-log"]).find((l) => l.kind === "slowtool" && l.last_user.includes(` ${tag}.0 `));
    // Two ticks of arguments: the tool part is streaming when the call completes.
    if (r && wallMs() - r.t_us / 1000 > 250) return r.n;
    await sleep(20);
  }
  throw new Error(`no streaming tool call for ${tag} within ${WAIT_MS} ms`);
}

const events = openEvents(opt.oc, auth);
await events.up;
// The daemon's verified stop events: session -> wall time it was read.
const stops = new Map();
const monitor = opt.ocstop ? spawn(opt.ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "ignore"] }) : null;
if (monitor)
  readline.createInterface({ input: monitor.stdout }).on("line", (l) => {
    const t = wallMs();
    try {
      const ev = JSON.parse(l);
      if (ev.type === "stop" && ev.stop?.stopped === true && !stops.has(ev.stop.session)) stops.set(ev.stop.session, t);
    } catch {}
  });
const isToast = (id) => (ev) =>
  ev.type === "tui.toast.show" && typeof ev.properties?.message === "string" && ev.properties.message.endsWith(` ${id}`);

const cmd = (tag) => `echo $(date +%s%N) ${tag} >> ${opt.mark}; sleep 1`;
const tagOf = (command) => / (r\d+\.\d+) >>/.exec(command || "")?.[1];
const runs = [];
// Repetition -1 warms OpenCode up (its first x takes some hundred ms more to reach the plugins): it
// is left out of the counts.
for (let i = -1; i < reps + parallel; i++) {
  const par = i >= reps;
  const k = par ? calls : 1;
  // Offsets cycle through every whole ms of their range, so that a drifting load meets each alike.
  const d = par ? (i * 7) % 11 : (((i * 7) % 21) + 21) % 21 - 10;
  const tag = i < 0 ? "warm" : `r${i}`;
  const run = { rep: i, kind: par ? "parallel" : "single", target: d };
  try {
    const s = await oc("POST", "/session", { title: `race ${i}` });
    run.session = s.id;
    const cmds = Array.from({ length: k }, (_, c) => cmd(`${tag}.${c}`));
    const idle = events.waitEvent((ev) => ev.type === "session.idle" && ev.properties?.sessionID === s.id, WAIT_MS);
    idle.catch(() => {});
    await say(s.id, k === 1 ? `SLOWTOOL(${cmds[0]})` : `SLOWTOOLS(${cmds.join("|")})`);
    run.n = await heldRequest(tag);
    let toastText = null;
    const toast = events.waitEvent((ev) => isToast(s.id)(ev) && ((toastText = ev.properties.message), true), WAIT_MS);
    toast.catch(() => {});
    const T = wallMs() + LEAD_MS + (par ? FIRST_CALL_AHEAD_MS : 0);
    if (par) await release(run.n, 1, T - FIRST_CALL_AHEAD_MS);
    await release(run.n, undefined, T + d);
    await untilWall(T);
    run.x_sent = wallMs();
    await say(s.id, "x");
    const verifiedAt = await toast.catch(() => null);
    run.toast = toastText;
    run.verified = toastText !== null && /\(verified\)/.test(toastText);
    run.verified_at = verifiedAt === null ? null : wallOf(verifiedAt);
    run.verify_ms = run.verified_at === null ? null : run.verified_at - run.x_sent;
    if (monitor) {
      // The toast follows the stop event: it is here, or never.
      for (let w = 0; w < 50 && !stops.has(s.id); w++) await sleep(20);
      run.stop_at = stops.get(s.id) ?? null;
    }
    await idle.catch(() => {});
  } catch (e) {
    run.error = e.message;
  }
  if (i >= 0) runs.push(run);
}
// A call that ran unstopped writes its mark at once and makes its model request a second later.
await sleep(1500);

const marks = new Map();
for (const l of fs.existsSync(opt.mark) ? fs.readFileSync(opt.mark, "utf8").split("\n") : []) {
  const m = /^(\d+) (r\d+\.\d+)$/.exec(l);
  if (m) marks.set(m[2], Number(BigInt(m[1]) / 1000n) / 1000);
}
const probe = readLines(opt["probe-log"]);
const fake = readLines(opt["fake-log"]);
for (const run of runs) {
  if (!run.session) continue;
  const tag = `r${run.rep}`;
  const x = probe.find((p) => p.ev === "message" && p.session === run.session && p.text.trim() === "x");
  run.x_seen = x ? x.t_us / 1000 : null;
  const done = fake.filter((l) => l.event === "tool_done" && l.n === run.n).map((l) => l.t_us / 1000);
  // The calls raced against the x: the last one (the first of a parallel response ran before it).
  const raced = done.length ? done[done.length - 1] : null;
  if (raced !== null && run.x_sent) run.offset = raced - run.x_sent;
  if (raced !== null && run.x_seen !== null) run.offset_seen = raced - run.x_seen;
  if (run.verified_at && run.x_seen !== null) run.verify_seen_ms = run.verified_at - run.x_seen;
  if (run.stop_at && run.x_seen !== null) run.stop_seen_ms = run.stop_at - run.x_seen;
  run.completed = done.length;
  const starts = probe.filter((p) => p.ev === "tool" && p.session === run.session);
  run.ran = [...marks.keys()].filter((t) => t.startsWith(`${tag}.`)).length;
  run.first_ran = marks.has(`${tag}.0`);
  run.tried_after_x = run.x_seen === null ? null : starts.filter((p) => p.t_us / 1000 >= run.x_seen).length;
  run.tools_after_x =
    run.x_seen === null
      ? null
      : starts.filter((p) => p.t_us / 1000 >= run.x_seen && marks.has(tagOf(p.command))).length;
  run.marks_after_x = [...marks].filter(([t, at]) => t.startsWith(`${tag}.`) && at >= run.x_sent).length;
  run.requests_after_x =
    run.x_seen === null
      ? null
      : fake.filter((l) => l.kind && l.last_user.includes(` ${tag}.0 `) && l.t_us / 1000 >= run.x_seen).length;
  console.log(JSON.stringify(run));
}

const dist = (xs) => {
  const v = xs.filter((x) => typeof x === "number").sort((a, b) => a - b);
  if (!v.length) return null;
  const q = (p) => v[Math.min(v.length - 1, Math.ceil(p * v.length) - 1)];
  const r = (x) => Math.round(x * 10) / 10;
  return { n: v.length, min: r(v[0]), p50: r(q(0.5)), p99: r(q(0.99)), max: r(v[v.length - 1]) };
};
const sum = (k, rs = runs) => rs.reduce((a, r) => a + (r[k] || 0), 0);
const summary = {};
for (const kind of ["single", "parallel"]) {
  const rs = runs.filter((r) => r.kind === kind);
  if (!rs.length) continue;
  summary[kind] = {
    reps: rs.length,
    errors: rs.filter((r) => r.error).length,
    x_seen: rs.filter((r) => r.x_seen).length,
    verified: rs.filter((r) => r.verified).length,
    ran: sum("ran", rs),
    first_ran: rs.filter((r) => r.first_ran).length,
    tried_after_x: sum("tried_after_x", rs),
    tools_after_x: sum("tools_after_x", rs),
    marks_after_x: sum("marks_after_x", rs),
    requests_after_x: sum("requests_after_x", rs),
    offset: dist(rs.map((r) => r.offset)),
    offset_seen: dist(rs.map((r) => r.offset_seen)),
    verify_ms: dist(rs.map((r) => r.verify_ms)),
    verify_seen_ms: dist(rs.map((r) => r.verify_seen_ms)),
    stop_seen_ms: dist(rs.map((r) => r.stop_seen_ms)),
  };
}
console.log(JSON.stringify({ summary }));
monitor?.kill();
process.exit(0);
