// x typed in the OpenCode TUI (under tmux) -> the session idle and the stop proven, as ocstopd sees
// them through the shim's relay. Run by bench/x-latency.sh, which starts the TUI and the daemon.
//
//   node tui-latency.mjs --tmux SOCKET --target PANE --ocstop BIN --runs N
import { execFileSync, spawn } from "node:child_process";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: { tmux: { type: "string" }, target: { type: "string" }, ocstop: { type: "string" }, runs: { type: "string", default: "20" } },
});
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmux = (...args) => execFileSync("tmux", ["-S", opt.tmux, ...args], { encoding: "utf8" });
const pane = () => tmux("capture-pane", "-p", "-t", opt.target);

const events = [];
const monitor = spawn(opt.ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "inherit"] });
let buf = "";
monitor.stdout.on("data", (d) => {
  const t = now();
  buf += d;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) { events.push({ t, ev: JSON.parse(buf.slice(0, i)) }); buf = buf.slice(i + 1); }
});
async function waitFor(pred, ms = 30000) {
  const end = now() + ms;
  for (;;) {
    const hit = events.find(pred);
    if (hit) return hit;
    if (now() > end) throw new Error("timeout");
    await sleep(2);
  }
}

const idle = [], proof = [], daemon = [];
for (let run = 0; run < Number(opt.runs); run++) {
  events.length = 0;
  tmux("send-keys", "-t", opt.target, `write run ${run}`, "Enter");
  const busy = await waitFor(({ ev }) => ev.type === "session.status" && ev.session.status === "busy");
  const session = busy.ev.session.id;
  for (const end = now() + 30000; !/tick 3/.test(pane()) && now() < end;) await sleep(20);
  events.length = 0;
  const t0 = now();
  tmux("send-keys", "-t", opt.target, "x", "Enter");
  const i = await waitFor(({ ev }) => ev.type === "session.status" && ev.session.id === session && ev.session.status === "idle");
  const s = await waitFor(({ ev }) => ev.type === "stop" && ev.stop.session === session);
  if (!s.ev.stop.stopped) throw new Error(`not stopped: ${s.ev.stop.reason}`);
  idle.push(i.t - t0); proof.push(s.t - t0); daemon.push(s.ev.stop.ms);
  await sleep(300);
}
const st = (xs) => { const s = [...xs].sort((a, b) => a - b); return [s[0], s[s.length >> 1], s[s.length - 1]]; };
const fmt = (label, xs) => console.log(`${label.padEnd(34)}${st(xs).map((x) => x.toFixed(1).padStart(7)).join("  ")}`);
console.log(`TUI, ${opt.runs} runs                     min   median      max`);
fmt("x Enter -> idle (relayed)", idle);
fmt("x Enter -> verified stop", proof);
fmt("ocstopd's abort -> idle", daemon);
monitor.kill();
process.exit(0);
