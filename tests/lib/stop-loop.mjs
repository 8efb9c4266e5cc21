// stop-loop.mjs URL PASSWORD SESSION COUNT OCSTOP DAEMON_PID SAMPLE_AT... — COUNT stops of SESSION, one
// after another, each a real one: a prompt streams a reply from the model, then the stop, then the
// next prompt once OpenCode has ended the turn. Odd stops are `OCSTOP -j abort SESSION` (its result
// must say stopped), even ones the user message "x" (the daemon must publish a verified stop of
// origin x). At each stop named in SAMPLE_AT, once it is over, the daemon's VmRSS (kB) and number of
// open descriptors are read from /proc/DAEMON_PID. Prints one line a stop:
//   stop N ok|fail MS [why]          MS: the time from the request to the verified result
//   sample N RSS_KB FDS
// and ends with "done OK FAILED". Gives up after 3 failed stops (what follows them proves nothing).
import { spawn, execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import readline from "node:readline";
import { openEvents, now, sessionOf, isDelta } from "./events.mjs";

const [url, password, sid, countArg, ocstop, daemonPid, ...sampleArgs] = process.argv.slice(2);
const count = Number(countArg);
const sampleAt = new Set(sampleArgs.map(Number));
const WAIT_MS = 30000;
const auth = password ? { authorization: "Basic " + Buffer.from(`opencode:${password}`).toString("base64") } : {};

const events = openEvents(url, auth);
await events.up;
// The last of SESSION's turn events, as sse_turn_over (tests/lib/oc.sh) reads them: a new prompt
// waits until OpenCode has said idle after everything else. message.removed is no part of a turn:
// the shim deletes a blocked x's never-saved message, which OpenCode announces when it likes.
let last = null;
const TURN = /^(session\.(status|idle)|message\.(updated|part\.[a-z]+))$/;
events.waitEvent((e) => {
  if (sessionOf(e) === sid && TURN.test(e.type)) last = e.type;
  return false;
}, 2 ** 31 - 1).catch(() => {});

// The daemon's events, through `ocstop -j monitor`.
const monitor = spawn(ocstop, ["-j", "monitor"], { stdio: ["ignore", "pipe", "inherit"] });
const daemonWaiters = [];
readline.createInterface({ input: monitor.stdout }).on("line", (line) => {
  let ev;
  try {
    ev = JSON.parse(line);
  } catch {
    return;
  }
  for (const w of [...daemonWaiters]) if (w.match(ev)) w.done(ev);
});
function daemonEvent(match, what) {
  return new Promise((resolve, reject) => {
    const w = { match };
    const timer = setTimeout(() => w.fail(new Error(`no ${what} from the daemon within ${WAIT_MS} ms`)), WAIT_MS);
    const drop = () => { clearTimeout(timer); daemonWaiters.splice(daemonWaiters.indexOf(w), 1); };
    w.done = (ev) => { drop(); resolve(ev); };
    w.fail = (e) => { drop(); reject(e); };
    daemonWaiters.push(w);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(cond, what) {
  const end = now() + WAIT_MS;
  while (!cond()) {
    if (now() > end) throw new Error(`${what}: not within ${WAIT_MS} ms`);
    await sleep(5);
  }
}

async function say(text) {
  const r = await fetch(`${url}/session/${sid}/prompt_async`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ parts: [{ type: "text", text }] }),
  });
  if (r.status !== 204) throw new Error(`prompt_async: HTTP ${r.status}`);
}

function ocstopAbort() {
  return new Promise((resolve, reject) => {
    execFile(ocstop, ["-j", "abort", sid], { timeout: WAIT_MS }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ocstop abort: exit ${err.code}: ${stderr.trim()}`));
      resolve(stdout);
    });
  });
}

async function oneStop(n) {
  await until(() => last === null || last === "session.idle", "the turn before to end");
  const streaming = events.waitEvent(isDelta(sid), WAIT_MS);
  const busy = daemonEvent((e) => e.type === "session.status" && e.session?.id === sid && e.session?.status === "busy", "busy status");
  busy.catch(() => {});
  await say(`hello ${n}`);
  await streaming;
  await busy;
  const t0 = now();
  if (n % 2 === 1) {
    const out = JSON.parse(await ocstopAbort());
    const r = out.results?.find((x) => x.session === sid);
    if (!r?.stopped) throw new Error(`ocstop abort: not a verified stop: ${JSON.stringify(out)}`);
  } else {
    const stopped = daemonEvent((e) => e.type === "stop" && e.stop?.session === sid, "stop");
    stopped.catch(() => {});
    await say("x");
    const ev = await stopped;
    if (!ev.stop.stopped || ev.stop.origin !== "x") throw new Error(`x: not a verified stop: ${JSON.stringify(ev)}`);
  }
  return Math.round(now() - t0);
}

async function sample(n) {
  await sleep(100); // the last CLI's connection is closed by the daemon by then
  const status = readFileSync(`/proc/${daemonPid}/status`, "utf8");
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? "?";
  console.log(`sample ${n} ${rss} ${readdirSync(`/proc/${daemonPid}/fd`).length}`);
}

let ok = 0;
let failed = 0;
for (let n = 1; n <= count && failed < 3; n++) {
  try {
    console.log(`stop ${n} ok ${await oneStop(n)}`);
    ok++;
  } catch (e) {
    console.log(`stop ${n} fail -1 ${e.message}`);
    failed++;
  }
  if (sampleAt.has(n)) await sample(n);
}
console.log(`done ${ok} ${failed}`);
monitor.kill();
process.exit(0);
