// kimaki.mjs — what Kimaki (github remorses/kimaki, the Discord bridge) posts in a session's
// Discord thread for the events OpenCode published, read from a capture of /global/event
// (sse_capture_start): one JSON string per Discord message, in order.
//
//   node tests/lib/kimaki.mjs EVENTS_FILE SESSION [FROM_LINE]
//
// Only the events after line FROM_LINE (1-based, default 0: all) are read. It mirrors the two
// handlers that post a line of their own for an event, in cli/src/session-handler/
// thread-session-runtime.ts at commit 222134ca0d5fd768d78cabe34b606132fd35d3b5:
// - handleEvent's session guard: an event of another session is dropped; tui.toast.show is global,
//   but one whose message ends with a session id (TOAST_SESSION_ID_REGEX) goes only to that
//   session's thread.
// - handleSessionError: session.error of the thread's session; MessageAbortedError is skipped; else
//   "✗ opencode session error: " + formatSessionErrorFromProps(error) (data.message, then
//   "(statusCode)" and "[providerID]", or the name, or "Unknown error"), cut by
//   truncateSessionErrorMessage to 399 characters + "…" when longer than 400.
// - handleTuiToast: variant warning is skipped, and a message without a session id at its end; else
//   "⬦ <variant>: " + (title ? title.trim() + ": " : "") + the message without the id, trimmed.
// The assistant's own text and footers (its rendering of a turn) are not lines about the x.
import { readFileSync } from "node:fs";

const TOAST_SESSION_ID_REGEX = /\b(ses_[A-Za-z0-9]+)\b\s*$/u;
const MAX_ERROR = 400;

function formatSessionError(error) {
  if (!error) return "Unknown error";
  const data = error.data;
  if (!data) return error.name || "Unknown error";
  const parts = [];
  if (data.message) parts.push(data.message);
  if (data.statusCode) parts.push(`(${data.statusCode})`);
  if (data.providerID) parts.push(`[${data.providerID}]`);
  return parts.length > 0 ? parts.join(" ") : error.name || "Unknown error";
}

const truncate = (m) => (m.length <= MAX_ERROR ? m : `${m.slice(0, MAX_ERROR - 1)}…`);

export function render(events, session) {
  const out = [];
  for (const ev of events) {
    const p = ev.properties ?? {};
    if (ev.type === "session.error") {
      if (p.sessionID !== session || p.error?.name === "MessageAbortedError") continue;
      out.push(`✗ opencode session error: ${truncate(formatSessionError(p.error))}`);
    } else if (ev.type === "tui.toast.show") {
      const message = String(p.message ?? "");
      const id = message.match(TOAST_SESSION_ID_REGEX)?.[1];
      if (p.variant === "warning" || id !== session) continue;
      const text = message.replace(TOAST_SESSION_ID_REGEX, "").trimEnd().trim();
      if (!text) continue;
      out.push(`⬦ ${p.variant}: ${p.title ? `${p.title.trim()}: ` : ""}${text}`);
    }
  }
  return out;
}

// The events of a /global/event capture: "data: {directory, payload}" lines.
export function readEvents(file, fromLine = 0) {
  const events = [];
  for (const line of readFileSync(file, "utf8").split("\n").slice(fromLine)) {
    if (!line.startsWith("data: ")) continue;
    try {
      const ev = JSON.parse(line.slice(6)).payload;
      if (ev?.type) events.push(ev);
    } catch {}
  }
  return events;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, session, from] = process.argv.slice(2);
  if (!file || !/^ses_[A-Za-z0-9]+$/.test(session ?? "")) {
    console.error("usage: kimaki.mjs EVENTS_FILE SESSION [FROM_LINE]");
    process.exit(2);
  }
  for (const m of render(readEvents(file, Number(from ?? 0)), session)) console.log(JSON.stringify(m));
}
