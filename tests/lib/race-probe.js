// race-probe.js — an OpenCode plugin for the race tests: it appends one JSON line to $RACE_PROBE_LOG,
// with the wall clock in microseconds, for each user message (chat.message), each tool call about to
// run (tool.execute.before) and each model request about to be made (chat.params). Listed in
// opencode.json, it loads before the shim, so its hooks run first: it sees the x before the shim
// takes it (the test checks that it saw every x), and a tool call it records, and whose command then
// ran, passed the shim's tool.execute.before after this line's time.
import fs from "node:fs";

const wallUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

export const RaceProbe = async () => {
  const file = process.env.RACE_PROBE_LOG;
  const note = (rec) => {
    if (!file) return;
    try {
      fs.appendFileSync(file, JSON.stringify({ t_us: wallUs(), ...rec }) + "\n");
    } catch {}
  };
  return {
    "chat.message": async (input, output) => {
      const text = (output.parts || []).map((p) => (p.type === "text" ? p.text : "")).join("");
      note({ ev: "message", session: input.sessionID, text });
    },
    "tool.execute.before": async (input, output) => {
      note({ ev: "tool", session: input.sessionID, call: input.callID, tool: input.tool, command: output.args?.command });
    },
    "chat.params": async (input) => {
      note({ ev: "request", session: input.sessionID });
    },
  };
};
