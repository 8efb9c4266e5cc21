// toast.js: the toast that tells the user a stop happened, with its latency where it can be seen.
//
// Only the TUI shows toasts; elsewhere the call fails or goes unseen, which is fine.

import { later } from "./timers.js";

// Our toast must come after any error toast of the blocked prompt (which replaces an earlier one).
export const TOAST_DELAY_MS = 150;
// How long the toast waits for the stopped session's idle event to show the latency.
export const IDLE_WAIT_MS = 1000;

export class Toasts {
  constructor() {
    // session -> resolve of the promise that waits for its idle event
    this.idleWaiters = new Map();
  }

  // A promise of the sentence for a stop of session begun at t0 (performance.now()): with the
  // latency as the user saw it if the session's idle event comes within IDLE_WAIT_MS (the abort
  // call itself returns later than the session goes idle), plain otherwise. Ask before aborting.
  stopText(session, t0) {
    return this.whenIdle(session).then((at) => (at ? `ocstop: stopped in ${Math.round(at - t0)} ms` : "ocstop: stopped"));
  }

  // Resolves with the time of session's idle event, or null after IDLE_WAIT_MS.
  whenIdle(session) {
    let resolve;
    const idle = new Promise((r) => (resolve = r));
    this.idleWaiters.set(session, resolve);
    later(() => {
      if (this.idleWaiters.get(session) === resolve) this.idleWaiters.delete(session);
      resolve(null);
    }, IDLE_WAIT_MS);
    return idle;
  }

  // Every event OpenCode gives the plugin passes here.
  noteIdle(event) {
    if (event?.type !== "session.idle") return;
    const resolve = this.idleWaiters.get(event.properties?.sessionID);
    if (!resolve) return;
    this.idleWaiters.delete(event.properties.sessionID);
    resolve(performance.now());
  }

  // Shows message (a string or a promise of one) TOAST_DELAY_MS from now.
  show(ctx, message) {
    later(() => {
      Promise.resolve(message)
        .then((text) => ctx.client.tui.showToast({ body: { message: text, variant: "info" } }))
        .catch(() => {});
    }, TOAST_DELAY_MS);
  }
}
