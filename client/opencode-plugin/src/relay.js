// relay.js: the daemon's eyes and hands where OpenCode has no HTTP port.
//
// In the TUI and `opencode run` there is no HTTP port: the daemon can only see and stop sessions
// through this plugin. It then asks (register reply relay: true) for the events below and sends us
// opencode.abort / opencode.sessions requests.

import { CLIENT_TIMEOUT_MS, withTimeout } from "./timers.js";
import { instanceFor } from "./compat.js";

// session.error texts can carry whole stack traces; the daemon needs only the gist.
export const MAX_ERROR_TEXT = 500;

// The errors a relay request can end in (PROTOCOL.md, Errors), each with its kind: 1 for what the
// daemon asked wrongly, 0 for a failure.
const ERROR_KINDS = { bad_request: 1, unknown_method: 1, not_found: 1, opencode_unreachable: 0 };

// An error reply by its PROTOCOL.md name; any other failure is reported as opencode_unreachable.
export class RelayError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// [kind, "name: message"], as the daemon's own errors are.
export function wireError(name, message) {
  return [ERROR_KINDS[name], `${name}: ${message}`];
}

// The reply to a daemon request, as [error, result]: error is null or [kind, "name: message"].
// instances: directory -> { ctx }, the plugin instances of this process.
export async function answer(instances, method, params) {
  let error = null;
  let result = null;
  try {
    if (method === "opencode.abort") result = await relayAbort(instances, params);
    else if (method === "opencode.sessions") result = await relaySessions(instances, params);
    else error = wireError("unknown_method", "not a relay method");
  } catch (e) {
    error = e instanceof RelayError ? wireError(e.name, e.message) : wireError("opencode_unreachable", String(e?.message ?? e));
  }
  return [error, result];
}

// An abort read after its deadline (the daemon's wall clock, which we share) is not sent: the daemon
// has counted it failed and ended its stop, and a user's next turn may run by now, which it would
// end. It comes that late when OpenCode's thread that runs the plugins was busy for seconds.
async function relayAbort(instances, { session, directory, deadline }) {
  if (typeof session !== "string") throw new RelayError("bad_request", "session must be a string");
  if (typeof deadline === "number" && Date.now() > deadline) return { ok: false, ms: 0, error: `read ${Date.now() - deadline} ms after its deadline: not sent` };
  // Any instance's client can abort: the server runs /session/:id/* in the session's own directory.
  const inst = instanceFor(instances, directory) ?? instances.values().next().value;
  if (!inst) throw new RelayError("not_found", "no OpenCode instance");
  const t0 = performance.now();
  try {
    const r = await withTimeout(inst.ctx.client.session.abort({ path: { id: session } }), CLIENT_TIMEOUT_MS);
    const ms = Math.round(performance.now() - t0);
    if (r?.data === true) return { ok: true, ms };
    return { ok: false, ms, error: JSON.stringify(r?.error ?? null) };
  } catch (e) {
    return { ok: false, ms: Math.round(performance.now() - t0), error: String(e?.message ?? e) };
  }
}

// session.status() and session.list() only see the instance's own directory, hence no fallback.
async function relaySessions(instances, { directory }) {
  const inst = instanceFor(instances, directory);
  if (!inst) throw new RelayError("not_found", `no OpenCode instance for ${directory}`);
  const [statuses, sessions] = await withTimeout(
    Promise.all([inst.ctx.client.session.status(), inst.ctx.client.session.list()]),
    CLIENT_TIMEOUT_MS,
  );
  return { statuses: JSON.stringify(statuses.data ?? {}), sessions: JSON.stringify(sessions.data ?? []) };
}

// At most max UTF-16 units of s, never half of a surrogate pair: JSON.stringify would write the
// lone half as an escape that the daemon's JSON parser rightly refuses, dropping the event.
function cut(s, max) {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

// The events the daemon tracks sessions with, in the shape /global/event delivers them (so the
// daemon parses both alike), stripped of text, deltas and tool output: only activity matters.
// An event without properties is no news of a session.
export function slimEvent({ type, properties: p }) {
  if (p === null || typeof p !== "object") return null;
  switch (type) {
    case "session.created":
    case "session.updated":
    case "session.deleted": {
      const { id, parentID, directory, title } = p.info ?? {};
      return { type, properties: { sessionID: p.sessionID ?? id, info: { id, parentID, directory, title } } };
    }
    case "session.status":
    case "session.idle":
      return { type, properties: p };
    case "session.error": {
      const message = p.error?.data?.message;
      const data = typeof message === "string" ? { message: cut(message, MAX_ERROR_TEXT) } : {};
      return { type, properties: { sessionID: p.sessionID, error: { name: p.error?.name, data } } };
    }
    case "message.part.updated": {
      const { sessionID, messageID, type: partType, tool, state } = p.part ?? {};
      const part = { sessionID, messageID, type: partType };
      // A task whose subagent was sent to the background: the daemon reports that child as such.
      const meta = state?.metadata;
      if (tool === "task" && meta?.background === true && typeof meta.sessionId === "string")
        Object.assign(part, { tool, state: { metadata: { background: true, sessionId: meta.sessionId } } });
      return { type, properties: { sessionID, part } };
    }
    case "message.part.delta":
      return { type, properties: { sessionID: p.sessionID, messageID: p.messageID } };
  }
  return null;
}
