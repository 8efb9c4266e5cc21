// fence.js: the fences: from an x until the user's next real message, nothing new starts in its tree.
//
// OpenCode's abort ends the running turn, but a tool call whose arguments completed just before it,
// a turn that ends by itself in the window between the x and the abort, a subagent's child, or a
// message the user queued while the agent was busy can each start something after the x. A fence
// held on the tree of the session the x was typed in refuses all of them, in the hooks OpenCode
// 1.18.33 runs before each (measured on it, see tests/integration/x-fences.sh):
//
//   tool.execute.before  runs in the tool's wrapper before its body: a throw there means the tool
//                        never runs; the tool part ends "error" with the thrown message.
//   chat.params          runs while a model request is prepared, before it is sent: a throw there
//                        means no request. The turn's error is OpenCode's fromError() of the thrown
//                        value, and a DOMException named AbortError becomes MessageAbortedError, which
//                        every client shows as an abort, not as a failure.
//
// A session belongs to a fenced tree when its chain of parents (learnt from the session events this
// plugin instance sees) reaches a fenced session. Only the user's next real message in the fenced
// session itself lifts the fence: the prompts a task tool sends its child sessions do not.
//
// While the daemon's verdict on a possible stop word is awaited (at most VERDICT_DEADLINE_MS), the
// hooks of that tree wait for it rather than guess.
//
// Messages the user sent while the session was busy wait in OpenCode for the running turn to end.
// An abort leaves them unanswered; the fence keeps any turn from starting for them in the window
// before the abort. Each such message is reported once, as held, when the fence is raised.
//
// The cost on an ordinary tool call or model request, with no fence anywhere: two Map sizes read.

// Sessions whose parent is remembered, and sessions a fence may be held on, at most (the oldest go).
export const MAX_SESSIONS = 4096;
// Parent links followed at most from a session towards its root (a cycle cannot loop forever).
export const MAX_DEPTH = 64;
// Messages waiting for a busy session's turn that are remembered per session, at most.
export const MAX_QUEUED = 64;

// What a refused tool call's part and a refused model request's turn say; word: the stop word typed,
// when this shim saw it (the daemon's fence does not say).
const stopped = (word) => (word === undefined ? "ocstop: stopped" : `ocstop: stopped (${word})`);
export const toolRefusal = (word) => `${stopped(word)} — this tool was not run`;
export const requestRefusal = (word) => `${stopped(word)} — no new model request`;

// A Map that forgets its oldest entry past max.
function remember(map, key, value, max) {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value);
}

export class Fences {
  // hit(params): tells the daemon of a refusal (fence.hit), never waited for. now(): wall ms.
  constructor({ hit = () => {}, now = Date.now } = {}) {
    this.hit = hit;
    this.now = now;
    this.fenced = new Map(); // session -> { root, word }: the sessions a fence names
    this.deciding = new Map(); // session -> promise of the verdict on a possible stop word in it
    this.parents = new Map(); // session -> its parent session
    this.busy = new Set(); // sessions OpenCode said busy and not idle since
    this.queued = new Map(); // session -> Set of the ids of messages sent to it while it was busy
  }

  // Raises the fence on root's tree (sessions: more of it, as the daemon knows them) and reports
  // the messages its sessions hold. word: the stop word typed, if known. Idempotent.
  arm(root, sessions = [], word) {
    const was = this.fenced.get(root);
    const entry = { root, word: word ?? (was?.root === root ? was.word : undefined) };
    remember(this.fenced, root, entry, MAX_SESSIONS);
    for (const s of sessions) if (typeof s === "string" && !this.fenced.has(s)) remember(this.fenced, s, entry, MAX_SESSIONS);
    for (const [session, ids] of this.queued) {
      if (this.fenceOf(session)?.root !== root) continue;
      this.queued.delete(session);
      for (const id of ids) this.hit({ session, kind: "queued", name: id, at: this.now() });
    }
  }

  // The user's real message id in session (chat.message, not a stop word): it lifts the fence
  // raised in that session, if any, and waits for the running turn when the session is busy.
  passed(session, id) {
    this.lift(session);
    if (!this.busy.has(session) || typeof id !== "string") return;
    let ids = this.queued.get(session);
    if (!ids) {
      ids = new Set();
      remember(this.queued, session, ids, MAX_SESSIONS);
    }
    if (ids.size < MAX_QUEUED) ids.add(id);
  }

  // Lifts the fence raised in session, if any.
  lift(session) {
    if (this.fenced.size === 0 || this.fenced.get(session)?.root !== session) return;
    for (const [s, e] of this.fenced) if (e.root === session) this.fenced.delete(s);
  }

  // Makes the hooks of session's tree wait, while the verdict on a possible stop word typed there is
  // awaited, until the returned function is called (once the verdict is known and acted on).
  hold(session) {
    let release;
    const held = new Promise((resolve) => (release = resolve));
    this.deciding.set(session, held);
    return () => {
      if (this.deciding.get(session) === held) this.deciding.delete(session);
      release();
    };
  }

  // The value map holds for session or the nearest of its ancestors, or undefined.
  up(map, session) {
    let id = session;
    for (let i = 0; i < MAX_DEPTH && id !== undefined; i++) {
      const v = map.get(id);
      if (v) return v;
      id = this.parents.get(id);
    }
    return undefined;
  }

  // The fence entry that covers session, or undefined.
  fenceOf(session) {
    return this.up(this.fenced, session);
  }

  // Resolves with the fence that refuses something starting in session now, or undefined.
  async check(session) {
    if (this.deciding.size !== 0) {
      const verdict = this.up(this.deciding, session);
      if (verdict) await verdict;
    }
    return this.fenced.size === 0 ? undefined : this.fenceOf(session);
  }

  // tool.execute.before: throws in a fenced tree.
  async beforeTool(input) {
    if (this.fenced.size === 0 && this.deciding.size === 0) return;
    const fence = await this.check(input?.sessionID);
    if (!fence) return;
    this.hit({ session: input.sessionID, kind: "tool", name: String(input.tool ?? ""), at: this.now() });
    const err = new Error(toolRefusal(fence.word));
    err.stack = `Error: ${err.message}`;
    throw err;
  }

  // chat.params: throws in a fenced tree; else the message it answers has started.
  async beforeRequest(input) {
    const session = input?.sessionID;
    if (this.queued.size !== 0) this.queued.get(session)?.delete(input?.message?.id);
    if (this.fenced.size === 0 && this.deciding.size === 0) return;
    const fence = await this.check(session);
    if (!fence) return;
    this.hit({ session, kind: "request", at: this.now() });
    throw new DOMException(requestRefusal(fence.word), "AbortError");
  }

  // OpenCode's events: the tree's shape and which sessions are busy.
  noteEvent(event) {
    const p = event?.properties;
    switch (event?.type) {
      case "session.created":
      case "session.updated": {
        const info = p?.info;
        if (typeof info?.id === "string" && typeof info.parentID === "string") remember(this.parents, info.id, info.parentID, MAX_SESSIONS);
        return;
      }
      case "session.status":
        if (typeof p?.sessionID !== "string") return;
        if (p.status?.type === "idle") this.idle(p.sessionID);
        else if (!this.busy.has(p.sessionID)) {
          this.busy.add(p.sessionID);
          if (this.busy.size > MAX_SESSIONS) this.busy.delete(this.busy.values().next().value);
        }
        return;
      case "session.idle":
        if (typeof p?.sessionID === "string") this.idle(p.sessionID);
        return;
      case "session.deleted":
        if (typeof p?.info?.id === "string") {
          this.idle(p.info.id);
          this.lift(p.info.id);
          this.parents.delete(p.info.id);
        }
    }
  }

  // An idle session has answered every message it will answer unasked.
  idle(session) {
    this.busy.delete(session);
    this.queued.delete(session);
  }
}
