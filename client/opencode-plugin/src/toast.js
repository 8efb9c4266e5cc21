// toast.js: what the user is told after a stop word: how the stop ended, as ocstopd proved it.
//
// The daemon proves a stop from OpenCode's events (and, before it says "not stopped", from
// OpenCode's status route) and tells the shim's connection with an x.result notification. The toast
// says only what is known: verified, not stopped with what still runs, or not verified and why.
// Only the TUI shows toasts; elsewhere the call fails or goes unseen, which is fine.

import { later } from "./timers.js";

// Our toast must come after any error toast of the blocked prompt (which replaces an earlier one).
export const TOAST_DELAY_MS = 150;
// How long to wait for an x's outcome when the daemon did not say (register's proof_ms): two
// attempts of the default 3 s and the status check.
export const PROOF_WAIT_MS = 8000;
// Said when the shim stopped the session alone: with no daemon nothing proves the stop.
export const NO_DAEMON = "ocstopd is not running";

const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const countOf = (v) => (Number.isInteger(v) && v > 0 ? v : 0);
const listOf = (v) => (Array.isArray(v) ? v : []);

// What a stop reached beyond the session typed in (protocol 4's stop object), as a toast's tail:
// "" when it was that session alone with nothing refused, held or ended.
export function blastRadius(stop) {
  if (stop === null || typeof stop !== "object") return "";
  const said = [];
  const children = listOf(stop.children).length;
  const background = listOf(stop.background).length;
  if (children > 0) said.push(count(children + 1, "session", "sessions") + (background > 0 ? ` (${background} in the background)` : ""));
  const tools = countOf(stop.refused?.tools);
  const requests = countOf(stop.refused?.requests);
  if (tools > 0 && requests > 0) said.push(`refused ${count(tools, "tool call", "tool calls")} and ${count(requests, "model request", "model requests")}`);
  else if (tools > 0) said.push(`refused ${count(tools, "tool call", "tool calls")}`);
  else if (requests > 0) said.push(`refused ${count(requests, "model request", "model requests")}`);
  const held = countOf(stop.held);
  if (held > 0) said.push(`held ${count(held, "queued message", "queued messages")}`);
  const processes = listOf(stop.processes).length;
  if (processes > 0) said.push(`ended ${count(processes, "process", "processes")}`);
  return said.length > 0 ? ` — ${said.join("; ")}` : "";
}

// The toast for an x's outcome, {text, variant}. result: the daemon's x.result, or null when none
// came; its ms is the time from the x to the stop's proof. Without it: msToStop, from the x to when
// the daemon's stop began, to which the stop's own time (from its start to its proof) is added,
// or msToResult, from the x to the result. alone: the shim stopped the session without the
// daemon's verdict (the daemon learnt of it afterwards).
export function outcomeToast(result, msToStop, msToResult, alone = false) {
  const stop = result?.stop;
  const reason = typeof result?.reason === "string" ? result.reason : "no proof";
  switch (result?.outcome) {
    case "stopped": {
      // The daemon's measure (x to idle) first; else the stop's own time after the verdict came.
      let ms = msToResult;
      if (Number.isInteger(result.ms) && result.ms >= 0) ms = result.ms;
      else if (Number.isInteger(stop?.ms) && stop.ms >= 0) ms = msToStop + stop.ms;
      return { text: `ocstop: stopped in ${Math.round(ms)} ms (verified)${blastRadius(stop)}`, variant: "success" };
    }
    case "not_stopped": {
      const running = Array.isArray(stop?.running) ? stop.running.filter((s) => typeof s === "string") : [];
      const still = running.length > 0 ? `; still running: ${running.join(", ")}` : "";
      return { text: `ocstop: NOT stopped — ${reason}${still}`, variant: "error" };
    }
    // After the shim's own stop, idle proves it ended, not that nothing ran.
    case "idle":
      return alone ? { text: "ocstop: stopped; nothing is running now (verified)", variant: "success" } : { text: "ocstop: nothing was running", variant: "info" };
    case "unverified":
      return unverifiedToast(reason);
    default:
      return unverifiedToast("ocstopd did not say how the stop ended");
  }
}

// Not "warning": chat bridges such as Kimaki post every toast but warnings, and this one must be read.
export function unverifiedToast(why) {
  return { text: `ocstop: abort sent; not verified — ${why}`, variant: "info" };
}

export class Toasts {
  constructor() {
    // key (message id, else session) -> resolve of the promise that waits for its x.result
    this.waiters = new Map();
  }

  // A promise of the x.result for key, or null after waitMs. Ask before the daemon can answer: the
  // result may follow the verdict in the same read.
  whenDone(key, waitMs = PROOF_WAIT_MS) {
    let resolve;
    const done = new Promise((r) => (resolve = r));
    this.waiters.set(key, resolve);
    later(() => this.settle(key, resolve, null), waitMs);
    return done;
  }

  // Stop waiting for key (no stop followed).
  forget(key) {
    const resolve = this.waiters.get(key);
    if (resolve) this.settle(key, resolve, null);
  }

  settle(key, resolve, value) {
    if (this.waiters.get(key) === resolve) this.waiters.delete(key);
    resolve(value);
  }

  // Every x.result the daemon sends passes here.
  noteResult(result) {
    if (result === null || typeof result !== "object") return;
    const key = typeof result.message_id === "string" ? result.message_id : result.session;
    const resolve = this.waiters.get(key);
    if (resolve) this.settle(key, resolve, result);
  }

  // Shows toast ({text, variant}, a string, or a promise of either) TOAST_DELAY_MS from now, or
  // when it is known.
  show(ctx, toast) {
    later(() => {
      Promise.resolve(toast)
        .then((t) => {
          const { text, variant } = typeof t === "string" ? { text: t, variant: "info" } : t;
          return ctx.client.tui.showToast({ body: { message: text, variant } });
        })
        .catch(() => {});
    }, TOAST_DELAY_MS);
  }
}
