// link.js: the connection to ocstopd and the plugin instances registered on it.
//
// msgpack-rpc on a Unix socket (proto/PROTOCOL.md), in both directions: the shim's requests and the
// daemon's relay requests.
// One link per OpenCode process: the plugin is loaded once, while the plugin function runs once per
// directory instance. Each instance registers on the connection; after a reconnect all register again.
// Without a connection every request fails at once, so callers fall back without waiting.
// A daemon that (re)starts is found at once: while there is no connection the link watches the
// socket's directory and tries as soon as the socket appears there, whatever its backoff.

import { encode, Decoder } from "./codec.js";
import { later, Timeout } from "./timers.js";
import { shownDirectory } from "./compat.js";

// A daemon that accepts but does not answer register within this is treated as hung: reconnect.
export const REGISTER_TIMEOUT_MS = 5000;
// The wait before the next attempt after a failed one doubles from the least to the most: quick
// tries while a daemon restarts, then one every 2 s for a daemon that stays away (where the socket's
// directory cannot be watched, that is the longest a new daemon waits for its shims).
export const BACKOFF_MIN_MS = 50;
export const BACKOFF_MAX_MS = 2000;
// Added to the daemon's longest stop for the way back to us.
export const PROOF_MARGIN_MS = 1000;

// The settings a shim acts on, from register's reply or a settings notification (PROTOCOL.md).
export function settingsOf(m) {
  const words = Array.isArray(m.stop_words) ? m.stop_words.filter((w) => typeof w === "string") : [];
  return {
    // max_len bounds the JS length of every trimmed message that can match a stop word in any case
    // or composition (PROTOCOL.md); an older daemon's bytes bound only the words as typed.
    maxLen: Number.isInteger(m.max_len) ? m.max_len : Math.max(1, ...words.map((w) => w.length)),
    // How long an x's outcome may take to come (x.result); an older daemon does not say.
    ...(Number.isInteger(m.proof_ms) && m.proof_ms > 0 ? { proofMs: m.proof_ms + PROOF_MARGIN_MS } : {}),
  };
}

// Calls onName(name) for each entry of dir that is created, removed or changed (inotify on Linux),
// and onName(null) when the watch fails. The watch never keeps OpenCode alive. null when dir cannot
// be watched (it does not exist yet).
export function watchDir(dir, onName) {
  try {
    const w = process.getBuiltinModule("node:fs").watch(dir, (_, name) => onName(name ?? null));
    w.unref();
    w.on("error", () => {
      w.close();
      onName(null);
    });
    return w;
  } catch {
    return null;
  }
}

// One connection. A Bun socket writes what the kernel takes and returns the count; the rest waits
// for drain.
class Connection {
  constructor(sock, drop) {
    this.sock = sock;
    this.drop = drop;
    this.queue = null;
  }

  send(msg) {
    const bytes = encode(msg);
    if (this.queue) {
      const q = new Uint8Array(this.queue.length + bytes.length);
      q.set(this.queue);
      q.set(bytes, this.queue.length);
      this.queue = q;
      return;
    }
    const n = this.sock.write(bytes);
    if (n < bytes.length) this.queue = bytes.subarray(Math.max(n, 0));
  }

  flush() {
    if (!this.queue) return;
    const n = this.sock.write(this.queue);
    this.queue = n < this.queue.length ? this.queue.subarray(Math.max(n, 0)) : null;
  }

  close() {
    this.sock.end();
    this.drop(this);
  }
}

export class Link {
  // dial: Bun.connect (or a stand-in with its signature). socketPath(): the path, or throws when
  // there is none. refusal(path): a promise of why the daemon's socket there may not be trusted, or
  // null; nothing is sent to a socket refused, and onRefused(why) hears each new reason once.
  // version(inst): a promise of the OpenCode version for register, asked once, before
  // the first attempt. onRequest(method, params): a promise of [error, result] for a request of the
  // daemon; onNotify(method, params): a notification of the daemon's. env: where the server's
  // username and password are read. watch: watchDir or a stand-in.
  // The timing options exist for tests; OpenCode gets the defaults.
  constructor({ dial, socketPath, refusal = async () => null, onRefused = () => {}, version, onRequest, onNotify = () => {}, env, watch = watchDir, registerTimeoutMs = REGISTER_TIMEOUT_MS, backoffMinMs = BACKOFF_MIN_MS, backoffMaxMs = BACKOFF_MAX_MS }) {
    Object.assign(this, { dial, socketPath, refusal, onRefused, version, onRequest, onNotify, env, watch, registerTimeoutMs, backoffMinMs, backoffMaxMs });
    this.refused = null; // the last reason the socket was refused for, said once
    // directory -> { ctx, reg }; reg is the register reply, null until it arrives.
    this.instances = new Map();
    this.conn = null; // the live connection, or null
    // The last settings notification on this connection, or null. A register reply read together
    // with one resolves only after it was handled; the daemon sends them at each reload, so they are
    // never older than a reply that came before them.
    this.settings = null;
    this.connecting = false;
    this.retryTimer = null;
    this.watcher = null; // the watch on the socket's directory while there is no connection
    this.backoff = backoffMinMs;
    this.nextMsgid = 1;
    this.pending = new Map(); // msgid -> { resolve, reject, timer, conn }
    this.opencodeVersion = null; // learnt once, before the first attempt
  }

  get connected() {
    return this.conn !== null;
  }

  // A new plugin instance. Never on OpenCode's start-up path: the caller returns its hooks before
  // any connection attempt.
  add(inst) {
    this.instances.set(inst.ctx.directory, inst);
    if (this.conn) this.register(inst);
    else this.scheduleConnect(0);
  }

  scheduleConnect(delay) {
    if (this.conn || this.connecting || this.retryTimer) return;
    this.retryTimer = later(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  connectFailed() {
    this.connecting = false;
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.backoffMaxMs);
    this.watchSocket();
    this.scheduleConnect(delay);
  }

  // A daemon starting removes a stale socket, then binds a new one: either is worth a try now. A try
  // that comes too early, or one already under way, fails and is followed after the least wait.
  watchSocket() {
    if (this.watcher) return;
    let path;
    try {
      path = this.socketPath();
    } catch {
      return;
    }
    const slash = path.lastIndexOf("/");
    const name = path.slice(slash + 1);
    this.watcher = this.watch(path.slice(0, slash) || "/", (changed) => {
      // The directory itself went (Bun names nothing then): watch it again once it is back.
      if (changed === null) this.unwatchSocket();
      if (changed !== name) return;
      this.backoff = this.backoffMinMs;
      if (this.conn || this.connecting) return;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.scheduleConnect(0);
    });
  }

  unwatchSocket() {
    this.watcher?.close();
    this.watcher = null;
  }

  // Bun.connect rather than node:net: 1.8 ms instead of 36 ms for the first connection in OpenCode.
  async connect() {
    if (this.conn || this.connecting) return;
    this.connecting = true;
    if (this.opencodeVersion === null) this.opencodeVersion = await this.version(this.instances.values().next().value);
    const decoder = new Decoder();
    let self = null;
    let sock;
    try {
      const path = this.socketPath();
      // The register carries OpenCode's password: checked on every attempt, the socket may change.
      const why = await this.refusal(path);
      if (why !== this.refused && why !== null) this.onRefused(why);
      this.refused = why;
      if (why !== null) throw new Error(why);
      sock = await this.dial({
        unix: path,
        socket: {
          data: (s, chunk) => {
            let msgs;
            try {
              msgs = decoder.feed(chunk);
            } catch {
              // A frame over 1 MiB or bytes that are not msgpack: the stream cannot be trusted.
              s.end();
              return;
            }
            for (const m of msgs) if (self) this.dispatch(self, m);
          },
          drain: () => {
            self?.flush();
          },
          close: () => {
            if (self) this.drop(self);
          },
          error() {},
        },
      });
    } catch {
      this.connectFailed();
      return;
    }
    sock.unref();
    self = new Connection(sock, (c) => this.drop(c));
    this.conn = self;
    this.settings = null;
    this.connecting = false;
    this.unwatchSocket();
    for (const inst of this.instances.values()) this.register(inst);
  }

  drop(c) {
    if (this.conn !== c) return;
    this.conn = null;
    for (const [id, p] of this.pending) {
      if (p.conn !== c) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new Error("ocstopd: connection closed"));
    }
    for (const inst of this.instances.values()) inst.reg = null;
    this.connectFailed();
  }

  // Rejects at once when there is no connection, so callers fall back without waiting.
  request(method, params, timeoutMs) {
    return new Promise((resolve, reject) => {
      const c = this.conn;
      if (!c) return reject(new Error("ocstopd: not connected"));
      const id = this.nextMsgid;
      this.nextMsgid = this.nextMsgid >= 0xffffffff ? 1 : this.nextMsgid + 1;
      const timer = later(() => {
        this.pending.delete(id);
        reject(new Timeout(`ocstopd: no reply to ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, conn: c });
      c.send([0, id, method, [params]]);
    });
  }

  // A notification, sent only when connected.
  notify(method, params) {
    this.conn?.send([2, method, params]);
  }

  dispatch(c, msg) {
    if (!Array.isArray(msg)) return;
    if (msg[0] === 1) {
      const p = this.pending.get(msg[1]);
      if (!p) return; // a reply that came after its deadline
      this.pending.delete(msg[1]);
      clearTimeout(p.timer);
      const err = msg[2];
      if (err == null) p.resolve(msg[3] ?? {});
      else p.reject(new Error(`ocstopd: ${Array.isArray(err) ? err[1] : err}`));
    } else if (msg[0] === 0) {
      this.answer(c, msg[1], msg[2], Array.isArray(msg[3]) && msg[3][0] ? msg[3][0] : {});
    } else if (msg[0] === 2 && msg[1] === "settings") {
      // The daemon's configuration was reloaded: every instance registered on this connection follows.
      const params = Array.isArray(msg[2]) ? msg[2][0] : undefined;
      if (params === null || typeof params !== "object" || !Number.isInteger(params.max_len) || c !== this.conn) return;
      this.settings = settingsOf(params);
      for (const inst of this.instances.values()) if (inst.reg) Object.assign(inst.reg, this.settings);
    } else if (msg[0] === 2 && typeof msg[1] === "string") {
      this.onNotify(msg[1], Array.isArray(msg[2]) ? msg[2][0] : undefined);
    }
  }

  async answer(c, msgid, method, params) {
    const [error, result] = await this.onRequest(method, params);
    if (this.conn === c) c.send([1, msgid, error, error ? null : result]);
  }

  async register(inst) {
    const c = this.conn;
    const { ctx } = inst;
    const { env } = this;
    try {
      const reply = await this.request(
        "register",
        {
          server_url: String(ctx.serverUrl),
          directory: shownDirectory(ctx.directory),
          worktree: ctx.worktree,
          pid: process.pid,
          opencode_version: this.opencodeVersion ?? "",
          // This shim holds the fences (fence.js) the daemon's fence notification raises.
          fences: true,
          username: env.OPENCODE_SERVER_USERNAME || undefined,
          password: env.OPENCODE_SERVER_PASSWORD || undefined,
        },
        this.registerTimeoutMs,
      );
      if (this.conn !== c || this.instances.get(ctx.directory) !== inst) return;
      inst.reg = { relay: reply.relay === true, ...settingsOf(reply), ...this.settings };
      this.backoff = this.backoffMinMs;
    } catch (e) {
      // A daemon that takes the connection but never answers would otherwise pin us in fail-safe mode.
      if (e instanceof Timeout && this.conn === c) c.close();
    }
  }
}
