// marker.js: every shell a tool starts carries its session's id in its environment.
//
// OpenCode ends a stopped tool's process group, but not what the tool moved out of it (setsid,
// nohup ... &, a daemonizing dev server). The environment is inherited across all of those, so
// ocstopd finds every process a tool of a stopped tree started by this marker in
// /proc/<pid>/environ and ends it (proto/PROTOCOL.md, "processes").
//
// OpenCode 1.18.33 calls shell.env with {cwd, sessionID, callID} before the bash tool's shell and a
// `!command` typed by the user, and with {cwd} alone before a terminal (PTY) it opens, which belongs
// to no session and gets no marker.

export const MARKER_SESSION = "OCSTOP_SESSION";
export const MARKER_CALL = "OCSTOP_CALL";

// A session or call id as OpenCode makes them; anything else is not put into a shell's environment.
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

export async function shellEnvHook(input, output) {
  if (!output || typeof output.env !== "object" || output.env === null) return;
  if (typeof input?.sessionID !== "string" || !ID_RE.test(input.sessionID)) return;
  output.env[MARKER_SESSION] = input.sessionID;
  if (typeof input.callID === "string" && ID_RE.test(input.callID)) output.env[MARKER_CALL] = input.callID;
}
