// The plugin shim's cost inside OpenCode's chat.message: ocstop.js's hook against an empty hook,
// each call timed alone, the two alternating call by call in the same run (these machines are
// noisy: compare the difference and the ratio, not the microseconds, across runs).
//
// Cases: ordinary messages of 33 B, 10 KiB, 100 KiB and 1 MiB, the last also in two text parts
// (nothing to ask: the hook must leave before any I/O, whatever the length), and the stop word "x"
// with no daemon, where the shim decides alone, aborts the session through the in-process client
// (a stand-in that answers at once) and blocks the message. With --daemon, under Bun only (node has
// no Bun.connect, which the shim dials with), the stop word again with that ocstopd running on a
// private socket and the shim registered with it: its verdict's round trip is in the hook's time,
// as is the work the daemon's stop asks of the shim meanwhile (the x's are 20 ms apart).
//
// By default it runs under node and again under the Bun that OpenCode embeds (the runtime the shim
// lives in: the opencode binary with BUN_BE_BUN=1, found as tests/js/bun.test.mjs finds it).
//
//   node bench/shim-cost.mjs [--calls N] [--seconds S] [--runtime node|bun|both] [--csv FILE]
//                            [--daemon build/daemon/ocstopd]
//
// --calls: timed calls of each hook per case (20,000; the stop word at most 2,000), fewer when a
// case's calls take more than --seconds (1) in all; --csv: one row per runtime and case, in µs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OC_VERSION = "1.18.33";
const CSV_HEADER = "runtime,case,bytes,n,p50_us,p99_us,max_us,empty_p50_us,empty_p99_us";
const MIN_CALLS = 200;
const WARMUP_CALLS = 100;
// Each stop leaves timers behind (the toast's wait for the outcome: 8 s); a user's stops are seconds
// apart, so a few thousand in a row are already more than a session sees.
const STOP_CALLS = 2000;
// With the daemon: fewer, paced, so that each stop is mostly over before the next x.
const DAEMON_STOP_CALLS = 200;
const DAEMON_WARMUP_CALLS = 20;
const DAEMON_PACE_MS = 20;
const DAEMON_READY_MS = 5000;

function usage(why) {
  console.error(`shim-cost: ${why}\nusage: node bench/shim-cost.mjs [--calls N] [--seconds S] [--runtime node|bun|both] [--csv FILE] [--daemon OCSTOPD]`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { calls: 20000, seconds: 1, runtime: "both", csv: null, daemon: null, child: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === "--calls") o.calls = Number(value());
    else if (a === "--seconds") o.seconds = Number(value());
    else if (a === "--runtime") o.runtime = value();
    else if (a === "--csv") o.csv = value();
    else if (a === "--daemon") o.daemon = value();
    else if (a === "--child") o.child = true;
    else usage(`unknown argument ${a}`);
  }
  if (!(Number.isInteger(o.calls) && o.calls >= MIN_CALLS)) usage(`--calls must be an integer >= ${MIN_CALLS}`);
  if (!(o.seconds > 0)) usage("--seconds must be a positive number");
  if (!["node", "bun", "both"].includes(o.runtime)) usage("--runtime is node, bun or both");
  if (o.daemon !== null && !statSync(o.daemon, { throwIfNoEntry: false })?.isFile()) usage(`--daemon ${o.daemon}: no such file`);
  return o;
}

// Where tests/setup.sh puts OpenCode (tests/lib/oc.sh and tests/js/bun.test.mjs look there too).
function opencodeBinary() {
  if (process.env.OPENCODE_BIN) return process.env.OPENCODE_BIN;
  const dir = join(process.env.OCSTOP_CACHE || join(homedir(), ".cache", "ocstop"), `opencode-${OC_VERSION}`, "node_modules");
  return [join(dir, "opencode-linux-x64", "bin", "opencode"), join(dir, "opencode-linux-x64-baseline", "bin", "opencode")].find(existsSync);
}

// A message as OpenCode hands it to chat.message: the text parts the user typed.
function message(session, id, texts) {
  const parts = texts.map((text, k) => ({ type: "text", text, id: `prt_${id}_${k}` }));
  return { input: { sessionID: session }, output: { message: { id }, parts } };
}

// 34 B, then a prose-like text (words and spaces) cut to the size.
const prose = (bytes) => "lorem ipsum dolor sit amet, consectetur adipiscing elit\n".repeat(Math.ceil(bytes / 56)).slice(0, bytes);
const ORDINARY = [
  ["short", ["please refactor the parser module"]],
  ["10KiB", [prose(10 << 10)]],
  ["100KiB", [prose(100 << 10)]],
  ["1MiB", [prose(1 << 20)]],
  ["1MiB-2-parts", [prose(1 << 19), prose(1 << 19)]],
];

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
function stats(ns) {
  const s = Float64Array.from(ns).sort();
  return { n: s.length, min: s[0] / 1e3, p50: quantile(s, 0.5) / 1e3, p99: quantile(s, 0.99) / 1e3, max: s[s.length - 1] / 1e3 };
}

// Times each call of the two hooks, alternating which goes first, until `calls` of each or the
// time budget is spent (at least MIN_CALLS), after `warmup` untimed calls of each; `paceMs` apart.
// Both hooks of a pair get the message next() gives. A hook may throw (the stop word's block): that
// ends its call.
async function measure(shim, empty, next, { calls, seconds, warmup = WARMUP_CALLS, paceMs = 0 }) {
  const mine = [];
  const base = [];
  const timed = async (hook, into, { input, output }) => {
    const t0 = process.hrtime.bigint();
    try {
      await hook(input, output);
    } catch {}
    into.push(Number(process.hrtime.bigint() - t0));
  };
  // Untimed first: the first calls measure the compiler, not the hook.
  for (let i = 0; i < warmup; i++) {
    const m = next();
    await timed(shim, [], m);
    await timed(empty, [], m);
  }
  const end = performance.now() + seconds * 1e3;
  for (let i = 0; i < calls && (i < MIN_CALLS || performance.now() < end); i++) {
    // The hooks settle in microtasks; what they left for later (timers, I/O) runs here, untimed,
    // as it would between two messages.
    await new Promise((resolve) => (paceMs > 0 ? setTimeout(resolve, paceMs) : setImmediate(resolve)));
    const m = next();
    if (i & 1) {
      await timed(empty, base, m);
      await timed(shim, mine, m);
    } else {
      await timed(shim, mine, m);
      await timed(empty, base, m);
    }
  }
  return { shim: stats(mine), empty: stats(base) };
}

// The shim as OpenCode loads it, with no daemon and an OpenCode client whose calls answer at once.
// The daemon's relay asks this client for the sessions: there are none.
async function loadShim(socket) {
  process.env.OCSTOP_SOCKET = socket;
  const { OcStop } = await import(join(ROOT, "client/opencode-plugin/ocstop.js"));
  const ok = async () => ({ data: true });
  const client = {
    session: { abort: ok, status: async () => ({ data: {} }), list: async () => ({ data: [] }) },
    tui: { showToast: ok },
    app: { log: ok },
    _client: { get: async () => ({ data: { healthy: true, version: OC_VERSION } }), delete: ok },
  };
  const ctx = { directory: "/tmp/p", worktree: "/tmp/p", serverUrl: new URL("http://127.0.0.1:1/"), client, project: {}, $: null };
  return OcStop(ctx);
}

const empty = async () => {};
const runtime = () => (typeof Bun === "undefined" ? `node ${process.versions.node}` : `bun ${Bun.version}`);
// Every x is a new message in a session of its own.
let xs = 0;
const x = () => message(`ses_bench_x${xs}`, `msg_x${xs++}`, ["x"]);

async function runHere(opts) {
  // A socket path in a directory of our own where nothing listens.
  const dir = mkdtempSync(join(tmpdir(), "ocstop-shim-cost."));
  const shim = (await loadShim(join(dir, "ocstop.sock")))["chat.message"];
  const rows = [];
  for (const [name, texts] of ORDINARY) {
    const m = message("ses_bench", "msg_bench", texts);
    rows.push({ runtime: runtime(), case: name, bytes: Buffer.byteLength(texts.join("")), ...(await measure(shim, empty, () => m, opts)) });
  }
  rows.push({ runtime: runtime(), case: "stop-word", bytes: 1, ...(await measure(shim, empty, x, { ...opts, calls: Math.min(opts.calls, STOP_CALLS) })) });
  rmSync(dir, { recursive: true, force: true });
  return rows;
}

// The stop word with the daemon: it runs as daemon-bench.sh runs it (no OpenCode server of its
// own, no user config), and the shim must have registered before anything is timed.
async function runWithDaemon(opts) {
  const dir = mkdtempSync(join(tmpdir(), "ocstop-shim-cost."));
  mkdirSync(join(dir, "config"), { mode: 0o700 });
  const socket = join(dir, "ocstop.sock");
  const log = join(dir, "ocstopd.log");
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, XDG_CONFIG_HOME: join(dir, "config"), XDG_RUNTIME_DIR: dir };
  const daemon = spawn(opts.daemon, ["--no-default-server", "-s", socket], { env, stdio: ["ignore", "ignore", openSync(log, "w")] });
  try {
    const hooks = await loadShim(socket);
    const until = performance.now() + DAEMON_READY_MS;
    while (!/ registered \/tmp\/p /.test(readFileSync(log, "utf8"))) {
      if (performance.now() > until) throw new Error(`the shim did not register with ${opts.daemon} in ${DAEMON_READY_MS} ms:\n${readFileSync(log, "utf8")}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const paced = { ...opts, calls: DAEMON_STOP_CALLS, warmup: DAEMON_WARMUP_CALLS, paceMs: DAEMON_PACE_MS };
    // Each x stops a session the daemon knows busy (OpenCode's events, through the shim), which
    // then goes idle, untimed, before the next.
    let busy = null;
    const status = (id, type) => hooks.event({ event: { type: "session.status", properties: { sessionID: id, status: { type } } } });
    const busyX = () => {
      if (busy) status(busy, "idle");
      const m = x();
      busy = m.input.sessionID;
      hooks.event({ event: { type: "session.created", properties: { info: { id: busy, directory: "/tmp/p", title: "bench" } } } });
      status(busy, "busy");
      return m;
    };
    const row = { runtime: runtime(), case: "stop-word-daemon", bytes: 1, ...(await measure(hooks["chat.message"], empty, busyX, paced)) };
    if (/disconnected/.test(readFileSync(log, "utf8"))) throw new Error(`the shim lost the daemon during the run:\n${readFileSync(log, "utf8")}`);
    return [row];
  } finally {
    daemon.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function bunChild(oc, args) {
  const r = spawnSync(oc, [fileURLToPath(import.meta.url), "--child", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, BUN_BE_BUN: "1" }, timeout: 600000 });
  if (r.status !== 0) {
    console.error(`shim-cost: under Bun (${oc}) it failed:\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  return JSON.parse(r.stdout);
}

function runUnderBun(opts) {
  const oc = opencodeBinary();
  if (!oc) return { skipped: `OpenCode ${OC_VERSION} is not installed (tests/setup.sh); no Bun row` };
  const args = ["--calls", String(opts.calls), "--seconds", String(opts.seconds)];
  // A process of its own: the shim's link, once it has a daemon, keeps it.
  return { rows: [...bunChild(oc, args), ...(opts.daemon ? bunChild(oc, [...args, "--daemon", opts.daemon]) : [])] };
}

const us = (v) => (Math.abs(v) < 100 ? v.toFixed(2) : v.toFixed(0));
function print(rows) {
  const head = ["runtime", "case", "bytes", "n", "hook", "min µs", "p50 µs", "p99 µs", "max µs"];
  const lines = [head];
  for (const r of rows) {
    for (const [hook, s] of [["empty", r.empty], ["ocstop.js", r.shim]]) lines.push([r.runtime, r.case, String(r.bytes), String(s.n), hook, us(s.min), us(s.p50), us(s.p99), us(s.max)]);
    const d = (k) => `${us(r.shim[k] - r.empty[k])} (${(r.shim[k] / r.empty[k]).toFixed(1)}x)`;
    lines.push(["", "", "", "", "difference", d("min"), d("p50"), d("p99"), d("max")]);
  }
  const width = head.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  for (const l of lines) console.log(l.map((v, c) => (c < 2 || c === 4 ? v.padEnd(width[c]) : v.padStart(width[c]))).join("  "));
}

function csv(rows) {
  const f = (v) => v.toFixed(3);
  const body = rows.map((r) => [r.runtime, r.case, r.bytes, r.shim.n, f(r.shim.p50), f(r.shim.p99), f(r.shim.max), f(r.empty.p50), f(r.empty.p99)].join(","));
  return `${CSV_HEADER}\n${body.join("\n")}\n`;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.child) {
  console.log(JSON.stringify(await (opts.daemon ? runWithDaemon(opts) : runHere(opts))));
  process.exit(0);
}
let rows = [];
if (opts.runtime !== "bun") rows = rows.concat(await runHere(opts));
if (opts.runtime !== "node") {
  const bun = runUnderBun(opts);
  if (bun.skipped) console.log(`skipped: ${bun.skipped}`);
  else rows = rows.concat(bun.rows);
}
if (opts.daemon && opts.runtime !== "bun") console.log("stop-word-daemon: under Bun only (node has no Bun.connect)");
console.log("per call, each hook timed alone; the two alternate call by call; goal: p99 <= 500 µs");
print(rows);
if (opts.csv) writeFileSync(opts.csv, csv(rows));
process.exit(0);
