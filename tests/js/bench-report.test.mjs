// bench/report.mjs: BENCHMARKS.md made from a run's CSVs — the goals judged from the figures the
// files hold (met and missed alike), a missing file named with the phase that writes it, every
// table of the template filled, the plot drawn; and bench/run.sh's refusal of unknown phases.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test, after } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const REPORT = join(ROOT, "bench", "report.mjs");
const dir = mkdtempSync(join(tmpdir(), "ocstop-report-test."));
after(() => rmSync(dir, { recursive: true, force: true }));

const files = {
  "run.csv": "key,value\ndate,2026-11-30T12:00Z\ncommit,abc123\ncommand,\"bench/run.sh --trials 50\"\ncpu,\"Some CPU, 2 GHz\"\ncores,2\nmemory_mib,2048\nkernel,6.1\nos,Debian\nquick,0\n",
  "phases.csv": "phase,status,wall_s,load_before,load_after\ndaemon,ok,61.5,0.5,1.2\nevents,failed,3.0,1.2,1.1\n",
  "e2e-summary.csv": [
    "mode,scenario,approach,n,stopped,stayed,idle_min,idle_p50,idle_p99,idle_max,idle_p50_minus_floor,idle_p99_minus_floor,verified_p50,verified_p99,verified_p50_minus_floor,verified_p99_minus_floor,model_requests_after,busy_after,tools_started_after",
    "serve,stream,floor,50,50,50,20,30,60,60,0,0,,,,,0,0,0",
    "serve,stream,x,50,50,50,22,32.5,75,75,2.5,15,45,80,15.5,20,0,0,0",
    "serve,stream,copied,50,50,0,40,90,200,200,60,140,,,,,50,100,0",
  ].join("\n") + "\n",
  "daemon-latency.csv": [
    "sessions,others,variant,target,n,min,p50,p90,p99,max,errors,p50_ratio,p99_ratio",
    "10,0,pass,echo,1000,5,10,12,20,30,0,,",
    "10,0,pass,current,1000,6,12,14,30,40,0,1.200,1.500",
    "10,0,clear,echo,1000,5,10,12,20,30,0,,",
    "10,0,clear,current,1000,6,14,16,50,60,0,1.400,2.500",
  ].join("\n") + "\n",
  "daemon-throughput.csv": "sessions,target,round,replies_per_s\n10,echo,1,700000\n10,current,1,140000\n10,current,2,160000\n10,current,3,155000\n",
  "shim.csv": "runtime,case,bytes,n,p50_us,p99_us,max_us,empty_p50_us,empty_p99_us\nnode,short,33,100,1,4,9,0.5,2\nnode,1MiB,1048576,100,2,600,900,0.5,2\nnode,stop-word,1,100,20,900,1000,0.5,2\n",
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);

function report(extra = []) {
  const md = join(dir, "BENCHMARKS.md");
  const r = spawnSync(process.execPath, [REPORT, "--results", dir, "--md", md, ...extra], { encoding: "utf8" });
  return { ...r, md: existsSync(md) ? readFileSync(md, "utf8") : "" };
}
const goalRow = (md, start) => md.split("\n").find((l) => l.startsWith(`| ${start}`));

test("the goals are judged from the run's figures", () => {
  const r = report();
  assert.equal(r.status, 0, r.stderr);
  assert.match(goalRow(r.md, "x → idle, p50"), /\+2\.50 ms \| \*\*met\*\*/);
  assert.match(goalRow(r.md, "x → idle, p99"), /\+15 ms \| \*\*missed\*\*/);
  assert.match(goalRow(r.md, "x → verified, p50"), /\+15\.5 ms \| \*\*missed\*\*/);
  assert.match(goalRow(r.md, "verdict `pass` p50"), /worst 1\.20× \(0 of 1 rows over\) \| \*\*met\*\*/);
  assert.match(goalRow(r.md, "verdict `clear` p50"), /worst 1\.40× \(1 of 1 rows over\) \| \*\*missed\*\*/);
  assert.match(goalRow(r.md, "verdict `clear` p99"), /\*\*missed\*\*/);
  // The median of the rounds (155,000), not the best or the worst round.
  assert.match(goalRow(r.md, "pipelined verdicts"), /155,000\/s at the slowest level \| \*\*met\*\*/);
  // The stop word is not an ordinary message: its 900 µs is not held against the goal.
  assert.match(goalRow(r.md, "shim on an ordinary message"), /worst 600 µs \(2 cases\) \| \*\*missed\*\*/);
});

test("the run is named: commit, command, machine, each phase and its status", () => {
  const { md } = report();
  assert.match(md, /commit `abc123`, `bench\/run\.sh --trials 50`/);
  assert.match(md, /Some CPU, 2 GHz, 2 cores/);
  assert.match(md, /daemon 62 s \(load 0\.5→1\.2\), events 3 s \(\*\*failed\*\*\)/);
});

test("every table of the template is filled; a missing file names its phase", () => {
  const { md } = report();
  assert.doesNotMatch(md, /\{\{/);
  assert.match(md, /events-cpu\.csv is missing \(phase `events` did not write it\)/);
  assert.match(md, /startup\.csv is missing \(phase `startup`/);
  assert.match(md, /\| `copied` \| 50 \| 50 \| 0 \|/);
});

test("a template naming a table that does not exist is refused", () => {
  const template = join(dir, "bad.in.md");
  writeFileSync(template, "# x\n{{goals}}\n{{no_such_table}}\n");
  const r = report(["--template", template]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no_such_table/);
});

test("the plot is drawn from scaling.csv", { skip: spawnSync("gnuplot", ["--version"]).status !== 0 && "no gnuplot" }, () => {
  writeFileSync(join(dir, "scaling.csv"), "sessions,pass_p50_us,pass_p99_us,echo_p50_us,echo_p99_us,clear_p50_us,clear_p99_us,anon_kb,rss_kb,pss_kb,bytes_per_session\n10,12,30,10,20,14,50,100,4000,2000,0\n100000,13,31,10,20,15,52,40000,44000,42000,340\n");
  writeFileSync(join(dir, "events-cpu.csv"), "sessions,rate,target,cpu_pct,seconds,events_sent\n10,1000,current,2.5,5,5000\n100000,1000,current,3.1,5,5000\n10,1000,curl,2.0,5,5000\n");
  const png = join(dir, "scaling.png");
  const r = report(["--plot", png]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual([...readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.match(r.md, /!\[[^\]]*\]\(scaling\.png\)/);
  assert.match(goalRow(r.md, "≤ 5 % of a core"), /worst 3\.10 % \(2 rows\) \| \*\*met\*\*/);
  // Item 5's table: each level's event CPU beside its latency and memory.
  assert.match(r.md, /\| 100,000 \| 13 \| 31 \| 10 \| 20 \| 15 \| 52 \| 40,000 \| 44,000 \| 42,000 \| 340 \| 3\.10 \|/);
});

test("bench/run.sh refuses a phase it does not have, before running anything", () => {
  const r = spawnSync(join(ROOT, "bench", "run.sh"), ["--only", "daemon,nope"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no phase 'nope'/);
});
