// The plugin shim's cost on an ordinary message: its chat.message hook against an empty hook, called
// the same way in the same run (interleaved rounds; these machines are noisy). No daemon is running:
// ordinary messages must not need one, and must cost nothing measurable next to OpenCode's own work.
//
//   node bench/shim-cost.mjs [CALLS_PER_ROUND]
import { OcStop } from "../client/opencode-plugin/ocstop.js";

process.env.OCSTOP_SOCKET = "/nonexistent/ocstop.sock";
const calls = Number(process.argv[2] ?? 100000);
const ctx = { directory: "/tmp/p", worktree: "/tmp/p", serverUrl: new URL("http://localhost:4096/"), client: {} };
const hooks = await OcStop(ctx);
const shim = hooks["chat.message"];
const empty = async () => {};

const message = (text) => ({
  input: { sessionID: "ses_bench" },
  output: { message: { id: "msg_1" }, parts: [{ type: "text", text, id: "prt_1" }] },
});
const cases = {
  "short prompt": message("please refactor the parser module"),
  "10 KiB prompt": message("lorem ipsum dolor sit amet ".repeat(380)),
};

async function time(hook, { input, output }) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await hook(input, output);
  return Number(process.hrtime.bigint() - t0) / calls;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

console.log(`${calls} calls per round, 9 rounds, interleaved; ns per call (median of rounds)`);
console.log("message          empty hook   ocstop.js   difference   ratio");
for (const [name, c] of Object.entries(cases)) {
  const base = [], mine = [];
  for (let r = 0; r < 9; r++) {
    base.push(await time(empty, c));
    mine.push(await time(shim, c));
  }
  const b = median(base), m = median(mine);
  console.log(`${name.padEnd(16)}${b.toFixed(0).padStart(10)}  ${m.toFixed(0).padStart(10)}  ${(m - b).toFixed(0).padStart(11)}   ${(m / b).toFixed(2)}x`);
}
process.exit(0);
