// e2e.mjs — stopping a turn of a real OpenCode, end to end, by each approach a user has, against the
// floor measured in the same run. bench/e2e.sh starts everything and runs it once per mode.
//
//   node e2e.mjs --mode serve --url URL --root DIR --fake-log FILE --fake-url URL [--password P]
//                [--scenarios stream,bash,subagent,slowtool] [--approaches floor,x,cli,copied,kimaki]
//                [--trials N] [--scenario-trials M] [--quick] [--window MS] [common options]
//   node e2e.mjs --mode tui --tmux SOCKET --target PANE --root DIR --fake-log FILE
//                [--trials N] [--quick] [--window MS] [common options]
//   common: [--ocstop BIN] [--csv FILE] [--summary FILE] [--append]
//
// Serve mode: one `opencode serve`, one project directory per approach under --root, each with its
// own plugins, so that each approach runs in an OpenCode of its own kind:
//   floor   plain/   POST /session/:id/abort, OpenCode's own route: the floor;
//   x       ocstop/  the user types x (prompt_async "x"), the shim and ocstopd stop it;
//   cli     ocstop/  `ocstop -j` in the directory (the user's other terminal);
//   copied  copied/  the user types x, the plugin people copy (bench/fixtures/abort-on-x.js);
//   kimaki  kimaki/  x sent as Kimaki sends it, to Kimaki's interrupt plugin (its default 3 s wait).
// A trial: a prompt tagged [tK] on a session of the directory, its scenario running + 50 ms, then t0
// and the approach's stop. Scenarios (the fake model's prompts, tests/fake-llm.mjs):
//   stream    plain text; running at the first streamed text (--trials, default 50);
//   bash      TOOL(sleep 300.K), running when the tool part says so; stopped only once that sleep is
//             gone (looked for at the window's end);
//   subagent  TASK(stream please [tK]): a child session streams; running at the child's first text;
//             stopped once parent and child are both idle;
//   slowtool  SLOWTOOL(touch DIR/mark/tK): the tool call's arguments stream, running when its part is
//             pending; at t0 the fake model is told to complete the call RELEASE_AFTER_MS later, so
//             the call becomes whole just after the stop request: the race a stop must win (a tool
//             that ran left its mark file).
// The scenarios other than stream run --scenario-trials (default 20) each; Kimaki is in the stream
// scenario only, in lanes of its own after the others (each of its trials waits 3 s: a reference).
// Recorded per trial: idle (t0 → the first session.idle on /global/event; subagent: of the parent
// and the child, the later), verified (ocstop: t0 → the daemon's stop event, or the CLI's exit,
// saying stopped), daemon (the daemon's own figure), verdict (x: t0 → the daemon's verdict event on
// `ocstop -j monitor`), hook (x: t0 → typed_at of that event, the shim's wall clock when its hook saw
// the x: OpenCode's work before the hook; empty when the daemon does not say), and in the window
// after the idle (--window, 2 s) the model requests of the trial (the fake model's log: its tag, or a
// bare x), the busy statuses of its sessions and the tools that started after t0 (tool: t0 → the
// first part said running; slowtool, tool_ran: its command ran): it stayed stopped when all are 0. A session is used again only after that window and once its turn is over
// (OpenCode says idle twice per abort, and a prompt between the two is lost).
//
// TUI mode: the OpenCode TUI in the tmux pane --target, in --root, with the shim; its only observer
// is the daemon (`ocstop -j monitor`: the shim relays its sessions). Approaches, interleaved:
//   esc  Escape, and once the TUI says "esc again to interrupt", t0 and Escape: the TUI's own
//        interrupt (keybind session_interrupt), the floor;
//   x    x Enter typed: → idle, → verified;
//   cli  `ocstop -j` in --root: → idle, → verified.
// A trial types `stream please [tK]` Enter, waits for its model request and STREAM_SETTLE_MS, then
// stops (t0: the key that stops is sent); idle and busy are the daemon's session.status events;
// window --window (500 ms: one session takes the trials one after the other).
//
// --csv FILE: one row per trial, --summary FILE: one per mode, scenario and approach, with p50 and p99
// minus the floor of the same mode and scenario; --append adds rows to files that exist (one header).
// Nearest-rank percentiles: with n <= 100 p99 is the maximum.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { openEvents, now, isIdle, isDelta, sessionOf } from "../tests/lib/events.mjs";

const { values: opt } = parseArgs({
  options: {
    mode: { type: "string", default: "serve" },
    url: { type: "string" }, root: { type: "string" }, "fake-log": { type: "string" }, "fake-url": { type: "string" },
    password: { type: "string", default: "" }, user: { type: "string", default: "opencode" },
    ocstop: { type: "string", default: "ocstop" },
    scenarios: { type: "string", default: "stream,bash,subagent,slowtool" }, approaches: { type: "string" },
    trials: { type: "string" }, "scenario-trials": { type: "string" }, quick: { type: "boolean", default: false },
    window: { type: "string" }, csv: { type: "string" }, summary: { type: "string" },
    append: { type: "boolean", default: false }, tmux: { type: "string" }, target: { type: "string" },
  },
});
const TUI = opt.mode === "tui";
if (!["serve", "tui"].includes(opt.mode) || !opt.root || !opt["fake-log"] ||
    (TUI ? !opt.tmux || !opt.target : !opt.url || !opt["fake-url"])) {
  console.error("usage: e2e.mjs --mode serve|tui --root DIR --fake-log FILE ... (see the header)");
  process.exit(2);
}
const count = (v, quick, dflt) => (v !== undefined ? Number(v) : opt.quick ? quick : dflt);
const TRIALS = count(opt.trials, TUI ? 3 : 4, TUI ? 20 : 50);
const SCENARIO_TRIALS = count(opt["scenario-trials"], 2, 20);
const WINDOW_MS = count(opt.window, TUI ? 500 : 2000, TUI ? 500 : 2000);
// No stop within this long: the trial says not stopped.
const STOP_TIMEOUT_MS = 10000;
// The verdict event comes before the stop's: past this long, there is none to time.
const VERDICT_WAIT_MS = 1000;
// A turn is over when its last event is an idle this old.
const TURN_QUIET_MS = 300;
// Warm-up turns stopped by x, at most, before the run gives up on the shim's directory.
const WARM_X_TRIES = 3;
// A warm-up x's stop is waited for this long: OpenCode's first prompts while a turn streams do
// one-time work in the thread that runs the plugins (at a load of 10, 5.7 s from the x typed to the
// shim's hook, then 4.5 s before the hook read the daemon's verdict), which no trial is to time.
const WARM_STOP_TIMEOUT_MS = 30000;
// slowtool: the fake model completes the held tool call this long after t0.
const RELEASE_AFTER_MS = 5;

const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

function run(cmd, args, cwd) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out, t: now() }));
  });
}

// ocstopd's stop, verdict and session events, as `ocstop -j monitor` prints them.
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
      if (ev.type === "session.status") daemonEvents.push({ t, type: ev.session.status, session: ev.session.id, ev });
    }
  });
}
const daemonEventNow = (type, id, since) => daemonEvents.find((x) => x.type === type && (id === null || x.session === id) && x.t >= since);
async function daemonEvent(type, id, since, ms = STOP_TIMEOUT_MS) {
  for (const end = now() + ms; now() < end; await sleep(2)) {
    const e = daemonEventNow(type, id, since);
    if (e) return e;
  }
  return null;
}

// The fake model's log, one JSON line per request, read as it grows.
const modelLog = [];
let modelLogBytes = 0;
function readModelLog() {
  const size = statSync(opt["fake-log"]).size;
  if (size <= modelLogBytes) return modelLog;
  const text = readFileSync(opt["fake-log"], "utf8").slice(modelLogBytes);
  const end = text.lastIndexOf("\n") + 1;
  modelLogBytes += Buffer.byteLength(text.slice(0, end));
  for (const line of text.slice(0, end).split("\n")) if (line.startsWith("{")) modelLog.push(JSON.parse(line));
  return modelLog;
}
// The model requests of a trial (its tag, or a bare x) between two wall times.
const modelRequests = (tag, since, until) =>
  readModelLog().filter((r) => r.kind && r.t >= since && r.t <= until && (r.last_user?.includes(tag) || r.last_user?.trim() === "x")).length;
async function modelRequest(tag, kind, ms = 30000) {
  for (const end = now() + ms; now() < end; await sleep(10)) {
    const r = readModelLog().find((x) => x.kind === kind && x.last_user?.includes(tag));
    if (r) return r;
  }
  throw new Error(`no ${kind} request of ${tag} within ${ms} ms`);
}

// What the daemon's verdict event tells of an x: t0 → the event, and t0 → the shim's hook.
const verdictTimes = (verdict, t0, t0Wall) =>
  verdict ? { verdict: verdict.t - t0, hook: typeof verdict.ev.typed_at === "number" ? verdict.ev.typed_at - t0Wall : null } : {};

// x: send it, then wait for the daemon's stop event (up to stopMs) and its verdict event.
async function xStop(send, id, t0, t0Wall, stopMs = STOP_TIMEOUT_MS) {
  await send();
  const [stop, verdict] = await Promise.all([daemonEvent("stop", id, t0, stopMs), daemonEvent("verdict", id, t0, VERDICT_WAIT_MS)]);
  if (!stop) return { error: "no stop event", ...verdictTimes(verdict, t0, t0Wall) };
  return {
    verified: stop.ev.stopped ? stop.t - t0 : null, daemon: stop.ev.ms, ...verdictTimes(verdict, t0, t0Wall),
    error: stop.ev.stopped ? "" : `not stopped: ${stop.ev.reason}`,
  };
}
// `ocstop -j` in a directory, as from another terminal: verified when it exits saying id stopped.
async function cliStop(dir, id, t0) {
  const r = await run(opt.ocstop, ["-j"], dir);
  const res = r.code === 0 ? JSON.parse(r.out).results?.find((x) => x.session === id) : null;
  if (!res?.stopped) return { error: `ocstop: exit ${r.code} ${r.out.trim()}` };
  return { verified: r.t - t0, daemon: res.ms, error: "" };
}

const rows = [];
let tagN = 0;
const runStart = now();
// Progress on stderr: where the run's time goes.
const progress = (what) => console.error(`e2e ${opt.mode}: ${what} at ${((now() - runStart) / 1000).toFixed(1)} s`);

if (TUI) await tuiMode();
else await serveMode();
report();
monitor.kill();
process.exit(0);

async function serveMode() {
  const auth = opt.password ? { authorization: "Basic " + Buffer.from(`${opt.user}:${opt.password}`).toString("base64") } : {};
  // Sessions per approach: one is in its trial, the others in their window or turn-over.
  const POOL = 3;
  // Kimaki's trials each wait its 3 s: so many run side by side, started this far apart.
  const KIMAKI_LANES = 25;
  const KIMAKI_STAGGER_MS = 150;
  // Kimaki's synthetic context part (getOpencodePromptContext), carrying the trial's tag.
  const kimakiContext = (tag) => `<discord-user name="bench" user-id="1" message-id="${tag}" thread-id="3" />\n`;
  const DIRS = { floor: "plain", x: "ocstop", cli: "ocstop", copied: "copied", kimaki: "kimaki" };
  const names = (opt.approaches ?? "floor,x,cli,copied,kimaki").split(",");
  for (const n of names) if (!DIRS[n]) throw new Error(`unknown approach ${n}`);
  const dirOf = (a) => `${opt.root}/${DIRS[a]}`;
  const markDir = `${opt.root}/mark`;
  mkdirSync(markDir, { recursive: true });

  async function api(dir, method, path, body) {
    const headers = { ...auth, "content-type": "application/json", "x-opencode-directory": encodeURIComponent(dir) };
    const res = await fetch(`${opt.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status}`);
    return res.status === 204 ? null : res.json();
  }

  // What each session did, from /global/event: its idles, busy statuses, tools, and its last event;
  // and which sessions are children of which (a subagent's), since when.
  const seen = new Map();
  const parentOf = new Map();
  const stateOf = (id) => {
    if (!seen.has(id)) seen.set(id, { idles: [], busy: [], tools: new Map(), last: null, lastAt: 0 });
    return seen.get(id);
  };
  const toolPart = (id, status) => (ev) =>
    ev.type === "message.part.updated" && ev.properties.part?.sessionID === id &&
    ev.properties.part.type === "tool" && ev.properties.part.state?.status === status;
  const TURN_EVENT = /^(session\.(status|idle)|message\.(updated|part\.\w+))$/;
  const events = openEvents(opt.url, auth, (ev, t) => {
    const info = ev.properties?.info;
    if (ev.type === "session.created" && info?.parentID) parentOf.set(info.id, { parent: info.parentID, t });
    const id = sessionOf(ev);
    if (!id || !TURN_EVENT.test(ev.type)) return;
    const s = stateOf(id);
    s.last = ev.type === "session.status" ? `status.${ev.properties.status?.type}` : ev.type;
    s.lastAt = t;
    if (ev.type === "session.idle") s.idles.push(t);
    if (s.last === "status.busy") s.busy.push(t);
    // A running tool's part is updated again as it runs: the first update is its start.
    if (toolPart(id, "running")(ev) && !s.tools.has(ev.properties.part.id)) s.tools.set(ev.properties.part.id, t);
  });
  const waitEvent = events.waitEvent;
  const childrenOf = (id, since) => [...parentOf].filter(([, c]) => c.parent === id && c.t >= since).map(([child]) => child);

  async function turnOver(id) {
    for (const end = now() + 30000; now() < end; await sleep(20)) {
      const s = stateOf(id);
      if ((s.last === "session.idle" || s.last === null) && now() - s.lastAt >= TURN_QUIET_MS) return;
    }
    throw new Error(`the turn of ${id} did not end`);
  }

  const prompt = (dir, id, parts) => api(dir, "POST", `/session/${id}/prompt_async`, { parts });
  const text = (t) => [{ type: "text", text: t }];

  // Each approach's stop, from t0: what it alone knows (the idle is timed by the trial).
  const stops = {
    floor: (s) => api(s.dir, "POST", `/session/${s.id}/abort`).then(() => ({})),
    x: (s, t0, t0Wall) => xStop(() => prompt(s.dir, s.id, text("x")), s.id, t0, t0Wall),
    cli: (s, t0) => cliStop(s.dir, s.id, t0),
    copied: (s) => prompt(s.dir, s.id, text("x")).then(() => ({})),
    kimaki: (s, t0, t0Wall, tag) =>
      prompt(s.dir, s.id, [...text("x"), { type: "text", text: kimakiContext(tag), synthetic: true }]).then(() => ({})),
  };

  // Each scenario's prompt, and the event that says it runs (a function of the session and the
  // trial's start); atStop, what else happens at t0.
  const SCENARIOS = {
    stream: { prompt: (k) => `stream please [t${k}]`, running: (s) => isDelta(s.id) },
    bash: { prompt: (k) => `TOOL(sleep 300.${k}) [t${k}]`, running: (s) => toolPart(s.id, "running") },
    subagent: {
      prompt: (k) => `TASK(stream please [t${k}]) [t${k}]`,
      running: (s, since) => (ev) => ev.type === "message.part.delta" && parentOf.get(sessionOf(ev))?.parent === s.id && parentOf.get(sessionOf(ev)).t >= since,
    },
    slowtool: {
      prompt: (k) => `SLOWTOOL(touch ${markDir}/t${k}) [t${k}]`,
      running: (s) => toolPart(s.id, "pending"),
      // The model request holding the call, found before t0. Released nothing: the stop had closed
      // the call's response first.
      prepare: (k) => modelRequest(`[t${k}]`, "slowtool", 1000),
      async atStop(req, t0Wall) {
        const res = await fetch(`${opt["fake-url"]}/__release?n=${req.n}&at=${t0Wall + RELEASE_AFTER_MS}`, { method: "POST" });
        if (!res.ok) throw new Error(`the fake model's release: HTTP ${res.status}`);
      },
    },
  };
  const scenarios = opt.scenarios.split(",");
  for (const sc of scenarios) if (!SCENARIOS[sc]) throw new Error(`unknown scenario ${sc}`);

  // Sessions per directory, each free again once its window is over.
  const pools = {};
  for (const a of names) {
    pools[a] = [];
    for (let i = 0; i < (a === "kimaki" ? KIMAKI_LANES : POOL); i++) {
      const s = await api(dirOf(a), "POST", "/session", { title: `bench ${a} ${i}` });
      pools[a].push({ id: s.id, dir: dirOf(a), free: Promise.resolve() });
    }
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
  async function windowOf(row, sc, s, ids, k, t0, t0Wall, idleAt) {
    const end = (idleAt ?? now()) + WINDOW_MS;
    await sleep(end - now());
    row.model_requests_after = modelRequests(`[t${k}]`, t0Wall, Date.now());
    row.busy_after = idleAt === undefined ? 0 : ids.reduce((n, id) => n + stateOf(id).busy.filter((t) => t > idleAt && t <= end).length, 0);
    const starts = ids.flatMap((id) => [...stateOf(id).tools.values()].filter((t) => t > t0 && t <= end));
    row.tools_started_after = starts.length;
    row.tool_ms = starts.length ? Math.min(...starts) - t0 : null;
    // A part said running need not have run its command (a plugin's hook may refuse it); a tool that
    // ran too fast to be seen running still left its mark.
    row.tool_ran = sc === "slowtool" ? existsSync(`${markDir}/t${k}`) : null;
    if (row.tool_ran) row.tools_started_after = Math.max(row.tools_started_after, 1);
    row.tool_left = sc === "bash" && processLeft(`sleep 300.${k}`);
    row.stayed = row.stopped && !row.tool_left && row.model_requests_after + row.busy_after + row.tools_started_after === 0;
    try {
      if (stateOf(s.id).last !== "session.idle") await api(s.dir, "POST", `/session/${s.id}/abort`);
      for (const id of ids) await turnOver(id);
    } catch (e) {
      // The session is not taken again: the others of its pool go on.
      row.error = [row.error, `after the window: ${e.message}`].filter(Boolean).join("; ");
      s.broken = true;
    }
  }

  async function trial(sc, approach, s) {
    const k = ++tagN;
    const scen = SCENARIOS[sc];
    const base = { mode: "serve", scenario: sc, approach, trial: k, session: s.id };
    const since = now();
    let ctx;
    try {
      const running = waitEvent(scen.running(s, since));
      await prompt(s.dir, s.id, text(scen.prompt(k)));
      await running;
      ctx = await scen.prepare?.(k);
    } catch (e) {
      const row = { ...base, stopped: false, error: `did not start: ${e.message}` };
      s.free = windowOf(row, sc, s, [s.id, ...childrenOf(s.id, since)], k, now(), Date.now(), undefined);
      return row;
    }
    await sleep(50);
    const ids = [s.id, ...childrenOf(s.id, since)];
    const idles = ids.map((id) => waitEvent(isIdle(id), approach === "kimaki" ? STOP_TIMEOUT_MS + 5000 : STOP_TIMEOUT_MS));
    const t0 = now();
    const t0Wall = Date.now();
    const side = Promise.resolve(scen.atStop?.(ctx, t0Wall)).then(() => "", (e) => `at the stop: ${e.message}`);
    const r = await stops[approach](s, t0, t0Wall, `[t${k}]`).catch((e) => ({ error: e.message }));
    const sideError = await side;
    const idleTimes = await Promise.all(idles.map((p) => p.catch(() => undefined)));
    const idleAt = idleTimes.includes(undefined) ? undefined : Math.max(...idleTimes);
    const row = {
      ...base, t0_epoch_ms: t0Wall, idle_ms: idleAt === undefined ? null : idleAt - t0,
      verified_ms: r.verified ?? null, daemon_ms: r.daemon ?? null, hook_ms: r.hook ?? null, verdict_ms: r.verdict ?? null,
      stopped: idleAt !== undefined && !r.error && !sideError,
      error: [r.error, idleAt === undefined ? `no idle of ${idleTimes.flatMap((t, i) => (t === undefined ? [ids[i]] : [])).join(" ")}` : "", sideError]
        .filter(Boolean).join("; "),
    };
    s.free = windowOf(row, sc, s, ids, k, t0, t0Wall, idleAt);
    return row;
  }

  // One whole turn in each directory first, one directory after the other (instances started side
  // by side have left a first turn without a reply for more than 30 s): an instance's first turn is
  // slow and aborting it early can break the instance. Then, in the shim's directory, turns stopped by x until
  // the daemon reports one as a stop (it learns the server from the shim's registration).
  async function warmTurn(s, stop) {
    const delta = waitEvent(isDelta(s.id));
    await prompt(s.dir, s.id, text("stream please [warm]"));
    await delta;
    const r = await stop(s);
    await turnOver(s.id);
    return r;
  }
  const xWarm = async (s) => {
    const t0 = now();
    await prompt(s.dir, s.id, text("x"));
    return (await daemonEvent("stop", s.id, t0))?.ev ?? { stopped: false, reason: "no stop event" };
  };
  await events.up;
  const byDir = new Map(names.map((a) => [DIRS[a], a]));
  for (const a of byDir.values()) await warmTurn(pools[a][0], (s) => api(s.dir, "POST", `/session/${s.id}/abort`));
  const xPool = pools.x ?? pools.cli;
  for (let i = 1; xPool; i++) {
    const r = await warmTurn(xPool[0], xWarm);
    if (r.stopped) break;
    if (i === WARM_X_TRIES) throw new Error(`the shim's x did not stop a warm-up turn: ${r.reason}`);
    progress(`warm-up x ${i} not reported stopped (${r.reason}): again`);
  }
  progress("warmed up");

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
  for (const sc of scenarios) {
    const timed = names.filter((a) => a !== "kimaki");
    const n = sc === "stream" ? TRIALS : SCENARIO_TRIALS;
    for (let r = 0; r < n; r++)
      for (let j = 0; j < timed.length; j++) {
        const a = timed[(r + j) % timed.length];
        rows.push(await trial(sc, a, await next(a)));
      }
    progress(`${sc}: ${n} trials per approach done`);
    if (sc === "stream" && names.includes("kimaki")) {
      await Promise.all(
        pools.kimaki.map(async (s, lane) => {
          await sleep(lane * KIMAKI_STAGGER_MS);
          for (let k = lane; k < n; k += KIMAKI_LANES) {
            rows.push(await trial(sc, "kimaki", s));
            await s.free;
          }
        }),
      );
      progress("Kimaki's trials done");
    }
  }
  await Promise.all(Object.values(pools).flat().map((s) => s.free));
  progress("windows over");
}

async function tuiMode() {
  // After the model request of the typed prompt: long enough for a streamed part to be drawn.
  const STREAM_SETTLE_MS = 150;
  const tmux = (...args) => execFileSync("tmux", ["-S", opt.tmux, ...args], { encoding: "utf8" });
  const keys = (...k) => tmux("send-keys", "-t", opt.target, ...k);
  const names = (opt.approaches ?? "esc,x,cli").split(",");
  // Each approach's stop: before (untimed, the person's first key press) and from t0, the key or
  // command that stops.
  const stops = {
    // A second Escape that comes within a few tens of ms of the first is read with it as one key
    // (Alt+Escape): the second is typed once the TUI shows it took the first.
    async escFirst() {
      keys("Escape");
      for (const end = now() + 5000; now() < end; await sleep(10))
        if (tmux("capture-pane", "-p", "-t", opt.target).includes("esc again to interrupt")) return;
      throw new Error("the TUI did not take the first Escape");
    },
    async esc() {
      keys("Escape");
      return {};
    },
    x: (id, t0, t0Wall, stopMs) => xStop(async () => keys("x", "Enter"), id, t0, t0Wall, stopMs),
    cli: (id, t0) => cliStop(opt.root, id, t0),
  };
  for (const n of names) if (!stops[n]) throw new Error(`unknown TUI approach ${n}`);

  // The TUI's one session: the first the daemon sees busy. A turn is over when the daemon has said
  // idle and nothing came for TURN_QUIET_MS.
  let session = null;
  async function turnOver(id, since) {
    for (const end = now() + 30000; now() < end; await sleep(20)) {
      const last = daemonEvents.filter((e) => e.session === id && (e.type === "busy" || e.type === "idle")).at(-1);
      if (last?.type === "idle" && now() - last.t >= TURN_QUIET_MS && last.t >= since) return;
    }
    throw new Error(`the turn of ${id} did not end`);
  }
  async function start(k) {
    const since = now();
    keys(`stream please [t${k}]`, "Enter");
    await modelRequest(`[t${k}]`, "stream");
    const busy = await daemonEvent("busy", session, since);
    if (!busy) throw new Error("the daemon did not see the session busy");
    session ??= busy.session;
    await sleep(STREAM_SETTLE_MS);
  }

  // stopMs: how long the stop and the idle are waited for.
  async function trial(approach, stopMs = STOP_TIMEOUT_MS) {
    const k = ++tagN;
    const base = { mode: "tui", scenario: "stream", approach, trial: k };
    try {
      await start(k);
    } catch (e) {
      return { ...base, session, stopped: false, error: `did not start: ${e.message}` };
    }
    let r;
    if (approach === "esc") r = await stops.escFirst().catch((e) => ({ error: e.message }));
    const t0 = now();
    const t0Wall = Date.now();
    r ??= await stops[approach](session, t0, t0Wall, stopMs).catch((e) => ({ error: e.message }));
    const idle = await daemonEvent("idle", session, t0, stopMs);
    const row = {
      ...base, session, t0_epoch_ms: t0Wall, idle_ms: idle ? idle.t - t0 : null,
      verified_ms: r.verified ?? null, daemon_ms: r.daemon ?? null, hook_ms: r.hook ?? null, verdict_ms: r.verdict ?? null,
      stopped: !!idle && !r.error, error: [r.error, idle ? "" : "no idle"].filter(Boolean).join("; "),
    };
    const end = (idle?.t ?? now()) + WINDOW_MS;
    await sleep(end - now());
    row.model_requests_after = modelRequests(`[t${k}]`, t0Wall, Date.now());
    row.busy_after = idle ? daemonEvents.filter((e) => e.session === session && e.type === "busy" && e.t > idle.t && e.t <= end).length : 0;
    row.tools_started_after = 0;
    row.stayed = row.stopped && row.model_requests_after + row.busy_after === 0;
    try {
      if (daemonEvents.filter((e) => e.session === session && (e.type === "busy" || e.type === "idle")).at(-1)?.type !== "idle") {
        await run(opt.ocstop, ["-q", "abort", session], opt.root);
      }
      await turnOver(session, t0);
    } catch (e) {
      row.error = [row.error, `after the window: ${e.message}`].filter(Boolean).join("; ");
    }
    return row;
  }

  // First turns: the instance's slow start, and the session found; until the daemon reports an x
  // as a stop (the shim's relay has to be up).
  for (let i = 1; ; i++) {
    const warm = await trial("x", WARM_STOP_TIMEOUT_MS);
    if (warm.stopped) {
      progress(`warm-up x ${i} reported stopped ${Math.round(warm.verified_ms)} ms after it was typed`);
      break;
    }
    if (i === WARM_X_TRIES) throw new Error(`the warm-up turns did not stop: ${warm.error}`);
    progress(`warm-up x ${i} not reported stopped (${warm.error}): again`);
  }
  progress("warmed up");
  for (let r = 0; r < TRIALS; r++)
    for (let j = 0; j < names.length; j++) rows.push(await trial(names[(r + j) % names.length]));
  progress(`${TRIALS} trials per approach done`);
}

function stats(xs) {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const p = (q) => s[Math.min(s.length - 1, Math.ceil(s.length * q) - 1)];
  return { n: s.length, min: s[0], p50: p(0.5), p99: p(0.99), max: s[s.length - 1] };
}

function report() {
  const FLOOR = TUI ? "esc" : "floor";
  const groups = [];
  for (const r of rows) {
    let g = groups.find((x) => x.scenario === r.scenario && x.approach === r.approach);
    if (!g) groups.push((g = { mode: r.mode, scenario: r.scenario, approach: r.approach, rows: [] }));
    g.rows.push(r);
  }
  const summary = groups.map(({ rows: rs, ...g }) => ({
    ...g, n: rs.length, stopped: rs.filter((r) => r.stopped).length, stayed: rs.filter((r) => r.stayed).length,
    idle: stats(rs.map((r) => r.idle_ms)), verified: stats(rs.map((r) => r.verified_ms)),
    daemon: stats(rs.map((r) => r.daemon_ms)), verdict: stats(rs.map((r) => r.verdict_ms)), hook: stats(rs.map((r) => r.hook_ms)),
    requests: rs.reduce((n, r) => n + (r.model_requests_after ?? 0), 0), busy: rs.reduce((n, r) => n + (r.busy_after ?? 0), 0),
    tools: rs.reduce((n, r) => n + (r.tools_started_after ?? 0), 0), left: rs.filter((r) => r.tool_left).length,
    ran: rs.some((r) => r.tool_ran !== null && r.tool_ran !== undefined) ? rs.filter((r) => r.tool_ran).length : null,
  }));
  const floorOf = (sc) => summary.find((s) => s.scenario === sc && s.approach === FLOOR)?.idle;
  const f1 = (x) => (x === null || x === undefined ? "" : x.toFixed(1));
  const minus = (st, q, base) => (st && base ? st[q] - base[q] : null);

  console.log(`${opt.mode} mode, ${cpus().length} cores, window ${WINDOW_MS} ms, trials interleaved; floor: ${FLOOR}; ` +
    "with n <= 100 p99 is the maximum");
  console.log("scenario  what (ms)                     n stopped stayed      min      p50      p99      max  p50-floor  p99-floor  requests busy tools left ran");
  const line = (sc, label, s, st, counts) =>
    console.log(
      `${sc.padEnd(10)}${label.padEnd(26)}${String(s.n).padStart(5)}${String(counts ? s.stopped : "").padStart(8)}${String(counts ? s.stayed : "").padStart(7)}` +
        ["min", "p50", "p99", "max"].map((q) => f1(st?.[q]).padStart(9)).join("") +
        f1(minus(st, "p50", floorOf(sc))).padStart(11) + f1(minus(st, "p99", floorOf(sc))).padStart(11) +
        String(counts ? s.requests : "").padStart(10) + String(counts ? s.busy : "").padStart(5) +
        String(counts ? s.tools : "").padStart(6) + String(counts ? s.left : "").padStart(5) +
        String(counts ? s.ran ?? "" : "").padStart(4),
    );
  for (const s of summary) {
    line(s.scenario, `${s.approach} -> idle${s.approach === FLOOR ? " (floor)" : ""}`, s, s.idle, true);
    if (s.verified) line(s.scenario, `${s.approach} -> verified`, s, s.verified);
    if (s.daemon) line(s.scenario, `${s.approach}: daemon's ms`, s, s.daemon);
    if (s.verdict) line(s.scenario, `${s.approach} -> verdict event`, s, s.verdict);
    if (s.hook) line(s.scenario, `${s.approach} -> the shim's hook`, s, s.hook);
  }
  for (const sc of new Set(summary.map((s) => s.scenario))) {
    const xs = summary.find((s) => s.scenario === sc && s.approach === "x")?.idle;
    const cp = summary.find((s) => s.scenario === sc && s.approach === "copied")?.idle;
    if (xs && cp) console.log(`${sc}: x minus the copied plugin (same OpenCode path), idle: p50 ${f1(xs.p50 - cp.p50)}, p99 ${f1(xs.p99 - cp.p99)}`);
  }
  for (const r of rows.filter((r) => r.error)) console.log(`${r.mode} ${r.scenario} trial ${r.trial} (${r.approach}): ${r.error}`);

  const csvCell = (v) => (v === null || v === undefined ? "" : typeof v === "number" ? String(Math.round(v * 1000) / 1000) : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const csv = (file, header, objs) => {
    const body = objs.map((o) => header.map((h) => csvCell(o[h])).join(",")).join("\n") + "\n";
    if (opt.append && existsSync(file) && statSync(file).size > 0) appendFileSync(file, body);
    else writeFileSync(file, header.join(",") + "\n" + body);
  };
  if (opt.csv)
    csv(opt.csv, ["mode", "scenario", "approach", "trial", "session", "t0_epoch_ms", "idle_ms", "verified_ms", "daemon_ms", "hook_ms",
      "stopped", "stayed", "model_requests_after", "busy_after", "tools_started_after", "error", "verdict_ms", "tool_left", "tool_ms", "tool_ran"], rows);
  if (opt.summary)
    csv(opt.summary, ["mode", "scenario", "approach", "n", "stopped", "stayed", "idle_min", "idle_p50", "idle_p99", "idle_max",
      "idle_p50_minus_floor", "idle_p99_minus_floor", "verified_p50", "verified_p99", "verified_p50_minus_floor",
      "verified_p99_minus_floor", "model_requests_after", "busy_after", "tools_started_after", "tools_left",
      "hook_p50", "hook_p99", "verdict_p50", "verdict_p99", "tools_ran"], summary.map((s) => {
      const floor = floorOf(s.scenario);
      return {
        mode: s.mode, scenario: s.scenario, approach: s.approach, n: s.n, stopped: s.stopped, stayed: s.stayed,
        idle_min: s.idle?.min, idle_p50: s.idle?.p50, idle_p99: s.idle?.p99, idle_max: s.idle?.max,
        idle_p50_minus_floor: minus(s.idle, "p50", floor), idle_p99_minus_floor: minus(s.idle, "p99", floor),
        verified_p50: s.verified?.p50, verified_p99: s.verified?.p99,
        verified_p50_minus_floor: minus(s.verified, "p50", floor), verified_p99_minus_floor: minus(s.verified, "p99", floor),
        model_requests_after: s.requests, busy_after: s.busy, tools_started_after: s.tools, tools_left: s.left,
        hook_p50: s.hook?.p50, hook_p99: s.hook?.p99, verdict_p50: s.verdict?.p50, verdict_p99: s.verdict?.p99,
        tools_ran: s.ran,
      };
    }));
}
