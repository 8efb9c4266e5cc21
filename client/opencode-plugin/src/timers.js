// timers.js: timers that never keep OpenCode alive, and deadlines for calls that may hang.

// Bounds every call into OpenCode (an abort takes 7-15 ms), so a stuck server cannot hold the
// prompt or the daemon connection for long.
export const CLIENT_TIMEOUT_MS = 1000;

// What a missed deadline rejects with, so callers can tell it from other failures.
export class Timeout extends Error {}

// Timers must not keep `opencode run` alive after its work is done.
export function later(fn, ms) {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return t;
}

export function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = later(() => reject(new Timeout("timeout")), ms))),
  ]).finally(() => clearTimeout(timer));
}
