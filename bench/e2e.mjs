// e2e.mjs — stopping a streaming turn of a real OpenCode, end to end, by each approach a user has,
// against the floor measured in the same run: one `opencode serve`, one project directory per
// approach with its own plugins (bench/e2e.sh sets them up), trials interleaved.
//
//   node e2e.mjs --url URL --root DIR --fake-log FILE [--password P] [--ocstop BIN]
//                [--scenario stream|bash] [--approaches floor,x,cli,copied[,kimaki]]
//                [--trials N | --quick]
//                [--window MS] [--csv FILE] [--summary FILE]
//
// Approaches and their directories under --root:
//   floor   plain/   POST /session/:id/abort, OpenCode's own route: the floor;
//   x       ocstop/  the user types x (prompt_async "x"), the shim and ocstopd stop it;
//   cli     ocstop/  `ocstop -j` in the directory (the user's other terminal);
//   copied  copied/  the user types x, the plugin people copy (bench/fixtures/abort-on-x.js);
//   kimaki  kimaki/  x sent as Kimaki sends it, to Kimaki's interrupt plugin (its default 3 s wait).
// A trial: a prompt tagged [tK] on a session of the directory, its scenario running + 50 ms, then t0
// and the approach's stop. Scenarios (the fake model's prompts, tests/fake-llm.mjs): stream, plain
// text, running at the first streamed text; bash, TOOL(sleep 300.K), running when the tool part says
// so, and stopped only once that sleep is gone (it is looked for at the window's end). Recorded: idle (t0 → the first session.idle on
// /global/event), verified (ocstop: t0 → the daemon's stop event, or the CLI's exit, saying
// stopped), daemon (the daemon's own figure), verdict (x: t0 → the daemon's verdict event on
// `ocstop -j monitor`), hook (x: t0 → the shim's chat.message hook seeing the x, the verdict event's
// typed_at, both on the wall clock: OpenCode's own work before the plugin), and in the window
// after the idle (--window, 2 s) the model requests of the trial (the fake model's log: its tag, or a
// bare x) and the session's busy statuses: it stayed stopped when both are 0. A session is used again
// only after that window and once its turn is over (OpenCode says idle twice per abort, and a prompt
// between the two is lost). Kimaki's trials run last, in lanes of their own: each waits 3 s; it is in
// the stream scenario only (a reference line: its wait is the figure).
import { spawn } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { openEvents, now, isIdle, isDelta, sessionOf } from "../tests/lib/events.mjs";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" }, root: { type: "string" }, "fake-log": { type: "string" },
    password: { type: "string", default: "" }, user: { type: "string", default: "opencode" },
    ocstop: { type: "string", default: "ocstop" },
    scenario: { type: "string", default: "stream" }, approaches: { type: "string" },
    trials: { type: "string", default: "50" }, quick: { type: "boolean", default: false },
    window: { type: "string", default: "2000" }, csv: { type: "string" }, summary: { type: "string" },
  },
});
if (!opt.url || !opt.root || !opt["fake-log"]) {
  console.error("usage: e2e.mjs --url URL --root DIR --fake-log FILE [options] (see the header)");
  process.exit(2);
}
const TRIALS = opt.quick ? 10 : Number(opt.trials);
const WINDOW_MS = Number(opt.window);
// Sessions per approach: one is in its trial, the others in their window or turn-over.
const POOL = 3;
// Kimaki's trials each wait its 3 s: so many run side by side, started this far apart.
const KIMAKI_LANES = 5;
const KIMAKI_STAGGER_MS = 700;
// No stop within this long: the trial says not stopped.
const STOP_TIMEOUT_MS = 10000;
// The verdict event comes before the stop's: past this long, there is none to time.
const VERDICT_WAIT_MS = 1000;
// A turn is over when its last event is an idle this old.
const TURN_QUIET_MS = 300;
// Kimaki's synthetic context part (getOpencodePromptContext), carrying the trial's tag.
const kimakiContext = (tag) => `<discord-user name="bench" user-id="1" message-id="${tag}" thread-id="3" />\n`;

const DIRS = { floor: "plain", x: "ocstop", cli: "ocstop", copied: "copied", kimaki: "kimaki" };
const names = (opt.approaches ?? (opt.scenario === "stream" ? "floor,x,cli,copied,kimaki" : "floor,x,cli,copied")).split(",");
for (const n of names) if (!DIRS[n]) throw new Error(`unknown approach ${n}`);
const dirOf = (a) => `${opt.root}/${DIRS[a]}`;

const auth = opt.password ? { authorization: "Basic " + Buffer.from(`${opt.user}:${opt.password}`).toString("base64") } : {};
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function api(dir, method, path, body) {
  const headers = { ...auth, "content-type": "application/json", "x-opencode-directory": encodeURIComponent(dir) };
  const res = await fetch(`${opt.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
  return res.status === 204 ? null : res.json();
}

// What each session did, from /global/event: its idles and busy statuses, and its last event.
const seen = new Map();
const stateOf = (id) => {
  if (!seen.has(id)) seen.set(id, { idles: [], busy: [], tools: new Map(), last: null, lastAt: 0 });
  return seen.get(id);
};
const isToolRunning = (id) => (ev) =>
  ev.type === "message.part.updated" && ev.properties.part?.sessionID === id &&
  ev.properties.part.type === "tool" && ev.properties.part.state?.status === "running";
const TURN_EVENT = /^(session\.(status|idle)|message\.(updated|part\.\w+))$/;
const events = openEvents(opt.url, auth, (ev, t) => {
  const id = sessionOf(ev);
  if (!id || !TURN_EVENT.test(ev.type)) return;
  const s = stateOf(id);
  s.last = ev.type === "session.status" ? `status.${ev.properties.status?.type}` : ev.type;
  s.lastAt = t;
  if (ev.type === "session.idle") s.idles.push(t);
  if (s.last === "status.busy") s.busy.push(t);
  // A running tool's part is updated again as it runs: the first update is its start.
  if (isToolRunning(id)(ev) && !s.tools.has(ev.properties.part.id)) s.tools.set(ev.properties.part.id, t);
});
const waitEvent = events.waitEvent;

async function turnOver(id) {
  for (const end = now() + 30000; now() < end; await sleep(20)) {
    const s = stateOf(id);
    if ((s.last === "session.idle" || s.last === null) && now() - s.lastAt >= TURN_QUIET_MS) return;
  }
  throw new Error(`the turn of ${id} did not end`);
}

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out, t: now() }));
  });
}

// ocstopd's stop and verdict events, as `ocstop -j monitor` prints them.
const daemonEvents = [];
const monitor = spawn(opt.ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "inherit"] });
{
  let buf = "";
  monitor.stdout.on("data", (d) => {
    const t = now();
    buf += d;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const ev = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (ev.type === "stop") daemonEvents.push({ t, type: "stop", session: ev.stop.session, ev: ev.stop });
      if (ev.type === "verdict") daemonEvents.push({ t, type: "verdict", session: ev.session?.id ?? ev.session, ev });
    }
  });
}
async function daemonEvent(type, id, since, ms = STOP_TIMEOUT_MS) {
  for (const end = now() + ms; now() < end; await sleep(2)) {
    const e = daemonEvents.find((x) => x.type === type && x.session === id && x.t >= since);
    if (e) return e;
  }
  return null;
}

// The fake model's requests (its log, one JSON line each) at or after wall time since, of a trial.
function modelRequests(tag, since, until) {
  let n = 0;
  for (const line of readFileSync(opt["fake-log"], "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    const r = JSON.parse(line);
    if (!r.kind || r.t < since || r.t > until) continue;
    if (r.last_user?.includes(tag) || r.last_user?.trim() === "x") n++;
  }
  return n;
}

const prompt = (dir, id, parts) => api(dir, "POST", `/session/${id}/prompt_async`, { parts });
const text = (t) => [{ type: "text", text: t }];

// Each approach's stop, from t0: what it alone knows (the idle is timed by the trial).
const stops = {
  floor: (s) => api(s.dir, "POST", `/session/${s.id}/abort`).then(() => ({})),
  async x(s, t0, tag, t0Wall) {
    await prompt(s.dir, s.id, text("x"));
    const [stop, verdict] = await Promise.all([daemonEvent("stop", s.id, t0), daemonEvent("verdict", s.id, t0, VERDICT_WAIT_MS)]);
    if (!stop) return { error: "no stop event" };
    return {
      verified: stop.ev.stopped ? stop.t - t0 : null, daemon: stop.ev.ms, verdict: verdict ? verdict.t - t0 : null,
      hook: Number.isInteger(verdict?.ev.typed_at) ? verdict.ev.typed_at - t0Wall : null,
      error: stop.ev.stopped ? "" : `not stopped: ${stop.ev.reason}`,
    };
  },
  async cli(s, t0) {
    const r = await run(opt.ocstop, ["-j"], s.dir);
    const res = r.code === 0 ? JSON.parse(r.out).results?.find((x) => x.session === s.id) : null;
    if (!res?.stopped) return { error: `ocstop: exit ${r.code} ${r.out.trim()}` };
    return { verified: r.t - t0, daemon: res.ms, error: "" };
  },
  copied: (s) => prompt(s.dir, s.id, text("x")).then(() => ({})),
  kimaki: (s, t0, tag) => prompt(s.dir, s.id, [...text("x"), { type: "text", text: kimakiContext(tag), synthetic: true }]).then(() => ({})),
};

// Sessions per directory, each free again once its window is over.
const pools = {};
for (const a of names) {
  pools[a] = [];
  for (let i = 0; i < (a === "kimaki" ? KIMAKI_LANES : POOL); i++) {
    const s = await api(dirOf(a), "POST", "/session", { title: `bench ${a} ${i}` });
    pools[a].push({ id: s.id, dir: dirOf(a), free: Promise.resolve() });
  }
}

// Each scenario's prompt, and the event that says it runs.
const SCENARIOS = {
  stream: { prompt: (k) => `stream please [t${k}]`, running: isDelta },
  bash: { prompt: (k) => `TOOL(sleep 300.${k}) [t${k}]`, running: isToolRunning },
};
const scenario = SCENARIOS[opt.scenario];
if (!scenario) throw new Error(`unknown scenario ${opt.scenario}`);

async function started(s, k) {
  const running = waitEvent(scenario.running(s.id));
  await prompt(s.dir, s.id, text(scenario.prompt(k)));
  await running;
}

// A process whose command line is this one (the bash scenario's sleep, unique per trial).
function processLeft(cmdline) {
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, "utf8").replace(/\0/g, " ").trim() === cmdline) return true;
    } catch {}
  }
  return false;
}

// After the window: count what came after the idle, end a turn that started again, free the session.
async function windowOf(row, s, k, t0, t0Wall, idleAt) {
  const end = (idleAt ?? now()) + WINDOW_MS;
  await sleep(end - now());
  row.model_requests_after = modelRequests(`[t${k}]`, t0Wall, Date.now());
  row.busy_after = idleAt === undefined ? 0 : stateOf(s.id).busy.filter((t) => t > idleAt && t <= end).length;
  row.tools_started_after = [...stateOf(s.id).tools.values()].filter((t) => t > t0 && t <= end).length;
  row.tool_left = opt.scenario === "bash" && processLeft(`sleep 300.${k}`);
  row.stayed = row.stopped && !row.tool_left && row.model_requests_after + row.busy_after + row.tools_started_after === 0;
  try {
    if (stateOf(s.id).last !== "session.idle") await api(s.dir, "POST", `/session/${s.id}/abort`);
    await turnOver(s.id);
  } catch (e) {
    // The session is not taken again: the others of its pool go on.
    row.error = [row.error, `after the window: ${e.message}`].filter(Boolean).join("; ");
    s.broken = true;
  }
}

let tagN = 0;
async function trial(approach, s) {
  const k = ++tagN;
  try {
    await started(s, k);
  } catch (e) {
    const row = { approach, trial: k, session: s.id, stopped: false, error: `did not start: ${e.message}` };
    s.free = windowOf(row, s, k, now(), Date.now(), undefined);
    return row;
  }
  await sleep(50);
  const idle = waitEvent(isIdle(s.id), approach === "kimaki" ? STOP_TIMEOUT_MS + 5000 : STOP_TIMEOUT_MS);
  const t0 = now();
  const t0Wall = Date.now();
  const r = await stops[approach](s, t0, `[t${k}]`, t0Wall).catch((e) => ({ error: e.message }));
  const idleAt = await idle.catch(() => undefined);
  const row = {
    approach, trial: k, session: s.id, t0_epoch_ms: t0Wall, idle_ms: idleAt === undefined ? null : idleAt - t0,
    verified_ms: r.verified ?? null, daemon_ms: r.daemon ?? null, verdict_ms: r.verdict ?? null, hook_ms: r.hook ?? null,
    stopped: idleAt !== undefined && !r.error, error: r.error ?? (idleAt === undefined ? "no idle" : ""),
  };
  s.free = windowOf(row, s, k, t0, t0Wall, idleAt);
  return row;
}

// One whole turn in each directory first: an instance's first turn is slow and aborting it early
// can break the instance; for the shim's directory, an x that the daemon reports as a stop.
async function warmUp(a) {
  const s = pools[a][0];
  const delta = waitEvent(isDelta(s.id));
  await prompt(s.dir, s.id, text("stream please [warm]"));
  await delta;
  if (a === "x" || a === "cli") {
    const t0 = now();
    await prompt(s.dir, s.id, text("x"));
    if (!(await daemonEvent("stop", s.id, t0))?.ev.stopped) throw new Error("the shim's x did not stop the warm-up turn");
  } else {
    await api(s.dir, "POST", `/session/${s.id}/abort`);
  }
  await turnOver(s.id);
}

// Progress on stderr: where the run's time goes.
const runStart = now();
const progress = (what) => console.error(`e2e: ${what} at ${((now() - runStart) / 1000).toFixed(1)} s`);
await events.up;
const warmed = new Set();
for (const a of names) if (!warmed.has(DIRS[a])) (warmed.add(DIRS[a]), await warmUp(a));

progress("warmed up");
const rows = [];
const timed = names.filter((a) => a !== "kimaki");
const next = async (a) => {
  // The session whose window ends first.
  const pool = pools[a];
  const usable = pool.filter((p) => !p.broken);
  if (!usable.length) throw new Error(`no session of ${a} is usable`);
  const s = await Promise.race(usable.map((p) => p.free.then(() => p)));
  if (s.broken) return next(a);
  pool.push(pool.splice(pool.indexOf(s), 1)[0]);
  s.free = new Promise(() => {});
  return s;
};
for (let r = 0; r < TRIALS; r++)
  for (let j = 0; j < timed.length; j++) {
    const a = timed[(r + j) % timed.length];
    rows.push(await trial(a, await next(a)));
  }
progress("timed trials done");
if (names.includes("kimaki"))
  await Promise.all(
    pools.kimaki.map(async (s, lane) => {
      await sleep(lane * KIMAKI_STAGGER_MS);
      for (let k = lane; k < TRIALS; k += KIMAKI_LANES) {
        const row = await trial("kimaki", s);
        rows.push(row);
        await s.free;
      }
    }),
  );
progress("Kimaki's trials done");
await Promise.all(Object.values(pools).flat().map((s) => s.free));
progress("windows over");

// Nearest-rank percentiles: with 50 trials p99 is the maximum.
function stats(xs) {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const p = (q) => s[Math.min(s.length - 1, Math.ceil(s.length * q) - 1)];
  return { n: s.length, min: s[0], p50: p(0.5), p99: p(0.99), max: s[s.length - 1] };
}
const of = (a) => rows.filter((r) => r.approach === a);
const summary = names.map((a) => {
  const rs = of(a);
  return {
    approach: a, n: rs.length, stopped: rs.filter((r) => r.stopped).length, stayed: rs.filter((r) => r.stayed).length,
    idle: stats(rs.map((r) => r.idle_ms)), verified: stats(rs.map((r) => r.verified_ms)),
    daemon: stats(rs.map((r) => r.daemon_ms)), verdict: stats(rs.map((r) => r.verdict_ms)), hook: stats(rs.map((r) => r.hook_ms)),
    requests: rs.reduce((n, r) => n + r.model_requests_after, 0), busy: rs.reduce((n, r) => n + r.busy_after, 0),
    tools: rs.reduce((n, r) => n + r.tools_started_after, 0), left: rs.filter((r) => r.tool_left).length,
  };
});
const floor = summary.find((s) => s.approach === "floor")?.idle;
const f1 = (x) => (x === null || x === undefined ? "" : x.toFixed(1));
const minus = (st, q, base) => (st && base ? st[q] - base[q] : null);

console.log(`${opt.scenario} scenario, serve mode: ${TRIALS} trials per approach (interleaved${names.includes("kimaki") ? "; Kimaki's in lanes after" : ""}), ` +
  `${cpus().length} cores, window ${WINDOW_MS} ms; with n <= 100 p99 is the maximum`);
console.log("what (ms)                       n stopped stayed      min      p50      p99      max  p50-floor  p99-floor  requests busy tools left");
const line = (label, s, st, counts) =>
  console.log(
    `${label.padEnd(28)}${String(s.n).padStart(5)}${String(counts ? s.stopped : "").padStart(8)}${String(counts ? s.stayed : "").padStart(7)}` +
      ["min", "p50", "p99", "max"].map((q) => f1(st?.[q]).padStart(9)).join("") +
      f1(minus(st, "p50", floor)).padStart(11) + f1(minus(st, "p99", floor)).padStart(11) +
      String(counts ? s.requests : "").padStart(10) + String(counts ? s.busy : "").padStart(5) +
      String(counts ? s.tools : "").padStart(6) + String(counts ? s.left : "").padStart(5),
  );
for (const s of summary) {
  line(`${s.approach} -> idle${s.approach === "floor" ? " (floor)" : ""}`, s, s.idle, true);
  if (s.verified) line(`${s.approach} -> verified stop`, s, s.verified);
  if (s.daemon) line(`${s.approach}: daemon's own ms`, s, s.daemon);
  if (s.verdict) line(`${s.approach} -> verdict event`, s, s.verdict);
  if (s.hook) line(`${s.approach} -> shim's hook`, s, s.hook);
}
const xs = summary.find((s) => s.approach === "x")?.idle, cp = summary.find((s) => s.approach === "copied")?.idle;
if (xs && cp) console.log(`x minus copied plugin (same OpenCode path), idle: p50 ${f1(xs.p50 - cp.p50)}, p99 ${f1(xs.p99 - cp.p99)}`);
for (const r of rows.filter((r) => r.error)) console.log(`trial ${r.trial} (${r.approach}): ${r.error}`);

const csvCell = (v) => (v === null || v === undefined ? "" : typeof v === "number" ? String(Math.round(v * 1000) / 1000) : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
const csv = (header, objs) => [header.join(","), ...objs.map((o) => header.map((h) => csvCell(o[h])).join(","))].join("\n") + "\n";
if (opt.csv) {
  const h = ["mode", "scenario", "approach", "trial", "session", "t0_epoch_ms", "idle_ms", "verified_ms", "daemon_ms", "verdict_ms",
    "hook_ms", "stopped", "stayed", "model_requests_after", "busy_after", "tools_started_after", "tool_left", "error"];
  writeFileSync(opt.csv, csv(h, rows.map((r) => ({ mode: "serve", scenario: opt.scenario, ...r }))));
}
if (opt.summary) {
  const h = ["mode", "scenario", "approach", "n", "stopped", "stayed", "idle_min", "idle_p50", "idle_p99", "idle_max",
    "idle_p50_minus_floor", "idle_p99_minus_floor", "verified_p50", "verified_p99", "verified_p50_minus_floor",
    "verified_p99_minus_floor", "model_requests_after", "busy_after", "tools_started_after", "tools_left"];
  writeFileSync(opt.summary, csv(h, summary.map((s) => ({
    mode: "serve", scenario: opt.scenario, approach: s.approach, n: s.n, stopped: s.stopped, stayed: s.stayed,
    idle_min: s.idle?.min, idle_p50: s.idle?.p50, idle_p99: s.idle?.p99, idle_max: s.idle?.max,
    idle_p50_minus_floor: minus(s.idle, "p50", floor), idle_p99_minus_floor: minus(s.idle, "p99", floor),
    verified_p50: s.verified?.p50, verified_p99: s.verified?.p99,
    verified_p50_minus_floor: minus(s.verified, "p50", floor), verified_p99_minus_floor: minus(s.verified, "p99", floor),
    model_requests_after: s.requests, busy_after: s.busy, tools_started_after: s.tools, tools_left: s.left,
  }))));
}
monitor.kill();
process.exit(0);
