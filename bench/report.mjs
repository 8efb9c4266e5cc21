// bench/report.mjs — BENCHMARKS.md and its plot from the CSVs of one bench/run.sh.
//
//   node bench/report.mjs --results DIR --md FILE [--plot FILE.png] [--template FILE]
//
// The template (bench/BENCHMARKS.in.md) holds the words; every figure comes from DIR: a {{name}} in
// the template is replaced by the table of that name, built below from the CSVs. A table whose CSV is
// missing says which phase did not produce it. Nothing is typed by hand, so a figure in BENCHMARKS.md
// is always one the named run measured.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    results: { type: "string" }, md: { type: "string" }, plot: { type: "string" },
    template: { type: "string", default: join(HERE, "BENCHMARKS.in.md") },
  },
});
if (!opt.results || !opt.md) {
  console.error("usage: node bench/report.mjs --results DIR --md FILE [--plot FILE.png] [--template FILE]");
  process.exit(2);
}

// The goals of the issue, in one place: the goals table and the words around it read them here.
const GOAL = {
  xIdleP50: 3, xIdleP99: 10, xVerifiedP50: 10, // ms over OpenCode's own abort route
  verdictP50Ratio: 1.3, verdictP99Ratio: 2, // against the C echo
  verdictsPerSecond: 150000,
  shimP99Us: 500,
  eventsCpuPct: 5, eventsRate: 1000,
};

// RFC 4180 enough for our files: quoted fields may hold commas and doubled quotes, no newlines.
function parseCsv(text) {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const split = (line) => {
    const out = [];
    let cur = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) {
        if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; }
        else if (c === '"') quoted = false;
        else cur += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { out.push(cur); cur = ""; }
      else cur += c;
    }
    out.push(cur);
    return out;
  };
  const header = split(lines[0] ?? "");
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i], v])));
}

const missing = new Map(); // file → the phase that writes it
function load(file, phase) {
  const path = join(opt.results, file);
  if (!existsSync(path)) { missing.set(file, phase); return null; }
  return parseCsv(readFileSync(path, "utf8"));
}

const num = (v) => (v === undefined || v === null || v === "" ? NaN : Number(v));
function fmt(v, digits) {
  const n = num(v);
  if (Number.isNaN(n)) return v === undefined || v === "" ? "–" : String(v);
  if (digits !== undefined) return n.toFixed(digits);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  const a = Math.abs(n);
  if (a >= 10000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
const signed = (v) => (Number.isNaN(num(v)) ? "–" : (num(v) > 0 ? "+" : "") + fmt(v));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : NaN; };
// Nearest rank, as bench/e2e.mjs reports its own: with n <= 100, p99 is the maximum.
function percentile(xs, p) {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length ? s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)] : NaN;
}

// cols: [key, title, formatter?]; rows: objects.
function table(cols, rows) {
  const head = `| ${cols.map((c) => c[1]).join(" | ")} |`;
  const rule = `|${cols.map(() => "---").join("|")}|`;
  const body = rows.map((r) => `| ${cols.map(([k, , f]) => (f ? f(r[k], r) : fmt(r[k]))).join(" | ")} |`);
  return [head, rule, ...body].join("\n");
}
const notRun = (file) => `_Not measured in this run: ${file} is missing (phase \`${missing.get(file)}\` did not write it)._`;

const run = Object.fromEntries((load("run.csv", "run.sh") ?? []).map((r) => [r.key, r.value]));
const phases = load("phases.csv", "run.sh") ?? [];
const e2e = load("e2e-summary.csv", "e2e");
const trials = load("e2e-trials.csv", "e2e");
const latency = load("daemon-latency.csv", "daemon");
const throughput = load("daemon-throughput.csv", "daemon");
const syscalls = load("daemon-syscalls.csv", "daemon");
const memory = load("daemon-memory.csv", "daemon");
const scaling = load("scaling.csv", "daemon");
const events = load("events-cpu.csv", "events");
const startup = load("startup.csv", "startup");
const shim = load("shim.csv", "shim");

const blocks = {};

blocks.header = () => {
  const total = phases.reduce((s, p) => s + num(p.wall_s), 0);
  const lines = [
    `- Run: ${run.date ?? "?"} on commit \`${run.commit ?? "?"}\`, \`${run.command ?? "bench/run.sh"}\`` +
      (run.quick === "1" ? " (**--quick: too few samples to publish**)" : ""),
    `- Machine: ${run.cpu ?? "?"}, ${run.cores ?? "?"} cores, ${run.memory_mib ?? "?"} MiB, ${run.os ?? "?"}, Linux ${run.kernel ?? "?"}`,
    `- Phases: ${phases.map((p) => `${p.phase} ${fmt(p.wall_s, 0)} s${p.status === "ok" ? "" : ` (**${p.status}**)`} (load ${p.load_before}→${p.load_after})`).join(", ")}; total ${fmt(total, 0)} s.`,
  ];
  return lines.join("\n");
};

function e2eRow(mode, scenario, approach) {
  return e2e?.find((r) => r.mode === mode && r.scenario === scenario && r.approach === approach);
}

function verdict(ok) { return ok === undefined ? "–" : ok ? "**met**" : "**missed**"; }

blocks.goals = () => {
  const rows = [];
  const x = e2eRow("serve", "stream", "x");
  const within = (v, g) => (Number.isNaN(num(v)) ? undefined : num(v) <= g);
  rows.push([`x → idle, p50 over the floor ≤ +${GOAL.xIdleP50} ms`, x ? `${signed(x.idle_p50_minus_floor)} ms` : "–", verdict(within(x?.idle_p50_minus_floor, GOAL.xIdleP50))]);
  rows.push([`x → idle, p99 over the floor ≤ +${GOAL.xIdleP99} ms`, x ? `${signed(x.idle_p99_minus_floor)} ms` : "–", verdict(within(x?.idle_p99_minus_floor, GOAL.xIdleP99))]);
  rows.push([`x → verified, p50 over the floor ≤ +${GOAL.xVerifiedP50} ms`, x ? `${signed(x.verified_p50_minus_floor)} ms` : "–", verdict(within(x?.verified_p50_minus_floor, GOAL.xVerifiedP50))]);
  for (const variant of [...new Set((latency ?? []).map((r) => r.variant))]) {
    const rs = latency.filter((r) => r.variant === variant && r.target !== "echo");
    const p50 = Math.max(...rs.map((r) => num(r.p50_ratio)));
    const p99 = Math.max(...rs.map((r) => num(r.p99_ratio)));
    const miss50 = rs.filter((r) => num(r.p50_ratio) > GOAL.verdictP50Ratio).length;
    const miss99 = rs.filter((r) => num(r.p99_ratio) > GOAL.verdictP99Ratio).length;
    rows.push([`verdict \`${variant}\` p50 ≤ ${GOAL.verdictP50Ratio}× the echo, every row`, `worst ${fmt(p50, 2)}× (${miss50} of ${rs.length} rows over)`, verdict(miss50 === 0)]);
    rows.push([`verdict \`${variant}\` p99 ≤ ${GOAL.verdictP99Ratio}× the echo, every row`, `worst ${fmt(p99, 2)}× (${miss99} of ${rs.length} rows over)`, verdict(miss99 === 0)]);
  }
  if (throughput) {
    const levels = tputByLevel().filter((r) => r.target !== "echo");
    const worst = Math.min(...levels.map((r) => r.median));
    rows.push([`pipelined verdicts ≥ ${GOAL.verdictsPerSecond.toLocaleString("en-US")}/s on one core`, `${fmt(worst)}/s at the slowest level`, verdict(worst >= GOAL.verdictsPerSecond)]);
  }
  if (shim) {
    const ordinary = shim.filter((r) => !r.case.startsWith("stop"));
    const worst = Math.max(...ordinary.map((r) => num(r.p99_us)));
    rows.push([`shim on an ordinary message, p99 ≤ ${GOAL.shimP99Us / 1000} ms`, `worst ${fmt(worst)} µs (${ordinary.length} cases)`, verdict(worst <= GOAL.shimP99Us)]);
  }
  if (events) {
    const at = events.filter((r) => r.target !== "curl" && num(r.rate) === GOAL.eventsRate);
    const worst = Math.max(...at.map((r) => num(r.cpu_pct)));
    rows.push([`≤ ${GOAL.eventsCpuPct} % of a core at ${GOAL.eventsRate.toLocaleString("en-US")} events/s`, `worst ${fmt(worst, 2)} % (${at.length} rows)`, verdict(worst <= GOAL.eventsCpuPct)]);
  }
  return table([[0, "goal", String], [1, "measured in this run", String], [2, "", String]], rows);
};

function tputByLevel() {
  const groups = new Map();
  for (const r of throughput ?? []) {
    const k = `${r.sessions}\t${r.target}`;
    if (!groups.has(k)) groups.set(k, { sessions: r.sessions, target: r.target, rounds: [] });
    groups.get(k).rounds.push(num(r.replies_per_s));
  }
  return [...groups.values()].map((g) => ({ ...g, median: median(g.rounds), min: Math.min(...g.rounds) }));
}

const ms = (v) => fmt(v);
const plus = (v) => signed(v);
const E2E_COLS = [
  ["approach", "approach", (v) => `\`${v}\``], ["n", "n"], ["stopped", "stopped"], ["stayed", "stayed stopped"],
  ["idle_p50", "→ idle p50", ms], ["idle_p99", "p99", ms], ["idle_p50_minus_floor", "p50 − floor", plus],
  ["idle_p99_minus_floor", "p99 − floor", plus], ["verified_p50", "→ verified p50", ms], ["verified_p99", "p99", ms],
  ["verified_p50_minus_floor", "p50 − floor", plus],
  ["hook_p50", "x → hook p50", ms],
  ["model_requests_after", "model requests after"], ["busy_after", "busy after"], ["tools_started_after", "tools started after"],
  ["tools_ran", "tools that ran"],
];
function e2eTables(mode) {
  if (!e2e) return notRun("e2e-summary.csv");
  const rows = e2e.filter((r) => r.mode === mode);
  if (!rows.length) return `_No ${mode} rows in this run._`;
  const out = [];
  for (const scenario of [...new Set(rows.map((r) => r.scenario))]) {
    const rs = rows.filter((r) => r.scenario === scenario);
    const cols = E2E_COLS.filter(([k]) => k in rs[0] && rs.some((r) => r[k] !== ""));
    out.push(`**${scenario}** (ms)\n\n${table(cols, rs)}`);
  }
  return out.join("\n\n");
}
blocks.e2e_serve = () => e2eTables("serve");

// Where an x's time goes, trial by trial: OpenCode's own work from the prompt to the shim's
// chat.message hook (typed_at), then the stop from the hook to the idle and to the proof.
blocks.e2e_split = () => {
  if (!trials) return notRun("e2e-trials.csv");
  const rows = [];
  for (const scenario of [...new Set(trials.filter((t) => t.mode === "serve").map((t) => t.scenario))]) {
    const of = (a) => trials.filter((t) => t.mode === "serve" && t.scenario === scenario && t.approach === a && t.error === "");
    const xs = of("x").filter((t) => t.hook_ms !== "");
    if (!xs.length) continue;
    const span = (f) => { const v = xs.map(f); return { p50: percentile(v, 50), p99: percentile(v, 99) }; };
    const floor = of("floor").map((t) => num(t.idle_ms));
    const copied = of("copied").map((t) => num(t.idle_ms));
    const add = (what, st) => rows.push({ scenario, what, p50: st.p50, p99: st.p99 });
    add("floor: abort route → idle", { p50: percentile(floor, 50), p99: percentile(floor, 99) });
    add("x: prompt → the shim's hook (OpenCode's work)", span((t) => num(t.hook_ms)));
    add("x: the shim's hook → idle (ocstop's stop)", span((t) => num(t.idle_ms) - num(t.hook_ms)));
    add("x: the shim's hook → verified", span((t) => num(t.verified_ms) - num(t.hook_ms)));
    if (copied.length) add("copied plugin: prompt → idle (the same OpenCode path)", { p50: percentile(copied, 50), p99: percentile(copied, 99) });
  }
  if (!rows.length) return "_No x trial in this run carried the hook's time (typed_at)._";
  return table([["scenario", "scenario"], ["what", "span"], ["p50", "p50 ms"], ["p99", "p99 ms"]], rows);
};
blocks.e2e_tui = () => e2eTables("tui");

blocks.daemon_latency = () => {
  if (!latency) return notRun("daemon-latency.csv");
  const daemons = latency.filter((r) => r.target !== "echo");
  const echo = (r) => latency.find((e) => e.target === "echo" && e.sessions === r.sessions && e.others === r.others && e.variant === r.variant);
  return table([
    ["sessions", "sessions"], ["others", "other clients"], ["variant", "verdict", (v) => `\`${v}\``], ["n", "n"],
    ["p50", "p50 µs"], ["p99", "p99 µs"], ["echo_p50", "echo p50", (v, r) => fmt(echo(r)?.p50)],
    ["echo_p99", "echo p99", (v, r) => fmt(echo(r)?.p99)],
    ["p50_ratio", "p50 ÷ echo", (v) => `${fmt(v, 2)}×${num(v) > GOAL.verdictP50Ratio ? " ✗" : ""}`],
    ["p99_ratio", "p99 ÷ echo", (v) => `${fmt(v, 2)}×${num(v) > GOAL.verdictP99Ratio ? " ✗" : ""}`],
    ["errors", "errors"],
  ], daemons);
};

blocks.daemon_throughput = () => {
  if (!throughput) return notRun("daemon-throughput.csv");
  return table([["sessions", "sessions"], ["target", "server"], ["median", "verdicts/s (median of rounds)"], ["min", "slowest round"],
    ["rounds", "rounds", (v) => String(v.length)]], tputByLevel());
};

blocks.daemon_syscalls = () => (syscalls ? table([["sessions", "sessions"], ["target", "server"], ["per_req", "system calls per request"], ["detail", "which"]], syscalls) : notRun("daemon-syscalls.csv"));

blocks.daemon_memory = () => {
  if (!memory) return notRun("daemon-memory.csv");
  return table([["target", "daemon"], ["state", "state"], ["sessions", "sessions"], ["clients", "clients"],
    ["rss_kb", "RSS KiB"], ["pss_kb", "Pss KiB"], ["anon_kb", "anonymous KiB"]], memory);
};

// A CSV whose columns the table shows as they are, in the file's order.
function plain(rows, file) {
  if (!rows) return notRun(file);
  if (!rows.length) return `_${file} is empty._`;
  return table(Object.keys(rows[0]).map((k) => [k, k.replaceAll("_", " ")]), rows);
}
blocks.shim = () => plain(shim, "shim.csv");
blocks.events = () => {
  if (!events) return notRun("events-cpu.csv");
  const rows = [];
  for (const r of events.filter((e) => e.target !== "curl")) {
    const curl = events.find((e) => e.target === "curl" && e.sessions === r.sessions && e.rate === r.rate);
    rows.push({ ...r, curl: curl?.cpu_pct, diff: curl ? num(r.cpu_pct) - num(curl.cpu_pct) : NaN });
  }
  return table([["sessions", "sessions tracked"], ["rate", "events/s"], ["target", "daemon"],
    ["cpu_pct", "daemon, % of a core", (v) => fmt(v, 2)], ["curl", "curl -N, % of a core", (v) => fmt(v, 2)],
    ["diff", "difference", (v) => (Number.isNaN(v) ? "–" : (v > 0 ? "+" : "") + v.toFixed(2))],
    ["seconds", "seconds"], ["events_sent", "events sent"]], rows);
};
blocks.startup = () => plain(startup, "startup.csv");
// The daemon's event CPU at the goal's rate beside each level's latency and memory, when the events
// phase measured that level.
const eventsCpu = () => new Map((events ?? []).filter((r) => r.target !== "curl" && num(r.rate) === GOAL.eventsRate).map((r) => [r.sessions, r.cpu_pct]));
blocks.scaling = () => {
  if (!scaling) return notRun("scaling.csv");
  const cpu = eventsCpu();
  const cols = Object.keys(scaling[0] ?? {}).map((k) => [k, k.replaceAll("_", " ")]);
  cols.push(["cpu", `CPU % at ${GOAL.eventsRate.toLocaleString("en-US")} events/s`, (v) => fmt(v, 2)]);
  return table(cols, scaling.map((r) => ({ ...r, cpu: cpu.get(r.sessions) })));
};

// The plot: verdict round trip, memory and event CPU against the sessions tracked.
function plot() {
  if (!opt.plot) return null;
  if (!scaling) { console.error(`report: no plot: ${notRun("scaling.csv")}`); return null; }
  const cpu = eventsCpu();
  const tmp = mkdtempSync(join(tmpdir(), "ocstop-plot."));
  try {
    const data = join(tmp, "scaling.dat");
    const v = (x) => (Number.isNaN(num(x)) ? "NaN" : String(num(x)));
    writeFileSync(data, scaling.map((r) => [r.sessions, r.pass_p50_us, r.pass_p99_us, r.echo_p50_us, r.echo_p99_us,
      r.clear_p50_us, r.clear_p99_us, num(r.anon_kb) / 1024, num(r.rss_kb) / 1024, num(r.pss_kb) / 1024, cpu.get(r.sessions)].map(v).join(" ")).join("\n") + "\n");
    const title = `ocstopd against the sessions it tracks (${run.commit ?? "?"}, ${run.date ?? "?"}, ${run.cores ?? "?"} cores)`;
    const script = `
set terminal pngcairo size 1500,460 font "DejaVu Sans,10"
set output ${JSON.stringify(opt.plot)}
set multiplot layout 1,3 title ${JSON.stringify(title)}
set logscale x 10
set xlabel "sessions tracked"
set grid
set key top left
set ylabel "verdict round trip, µs (log)"
set logscale y 10
set key center right
plot ${JSON.stringify(data)} using 1:2 with linespoints title "pass p50", "" using 1:3 with linespoints title "pass p99", "" using 1:6 with linespoints title "clear p50", "" using 1:7 with linespoints title "clear p99", "" using 1:4 with linespoints dashtype 2 title "echo p50", "" using 1:5 with linespoints dashtype 2 title "echo p99"
unset logscale y
set key top left
set ylabel "memory, MiB"
plot ${JSON.stringify(data)} using 1:9 with linespoints title "RSS", "" using 1:10 with linespoints title "Pss", "" using 1:8 with linespoints title "anonymous"
set ylabel "CPU at ${GOAL.eventsRate} events/s, % of a core"
set yrange [0:*]
set offsets 0, 0, 1, 0
plot ${JSON.stringify(data)} using 1:11 with linespoints title "ocstopd", ${GOAL.eventsCpuPct} with lines dashtype 2 title "goal"
unset multiplot
`;
    execFileSync("gnuplot", [], { input: script, stdio: ["pipe", "inherit", "inherit"] });
    return basename(opt.plot);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const image = plot();
blocks.plot = () => (image ? `![Verdict round trip, memory and event CPU against the sessions tracked](${image})` : "_No plot in this run._");

const template = readFileSync(opt.template, "utf8");
const unknown = [...template.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).filter((k) => !blocks[k]);
if (unknown.length) {
  console.error(`report: the template names tables that do not exist: ${unknown.join(", ")}`);
  process.exit(1);
}
writeFileSync(opt.md, template.replace(/\{\{(\w+)\}\}/g, (_, k) => blocks[k]()));
console.log(`report: wrote ${opt.md}${image ? ` and ${opt.plot}` : ""}`);
if (missing.size) console.log(`report: missing ${[...missing.keys()].join(", ")}`);
