// ocstop.js is GENERATED from the modules in client/opencode-plugin/src/: do not edit it, edit them
// and rebuild with `node client/opencode-plugin/build.mjs` (a unit test fails while the two disagree).
//
// The OpenCode plugin shim of ocstop (written against OpenCode 1.18.33 and its embedded Bun 1.3.14).
//
// When the user types the stop word ("x" by default: alone, trimmed, any case) in any OpenCode
// client, this plugin stops the running session before the message is saved. The "x" never reaches
// the model and leaves nothing in the history. Everything else is decided by the ocstopd daemon, which
// the plugin reaches over msgpack-rpc on a Unix socket (proto/PROTOCOL.md). A stop never depends on
// the daemon: when it is absent or slow, the plugin decides alone with the built-in stop word. From
// the x until the user's next message, nothing new starts in the session's tree: no tool call, no
// model request (fence.js).
//
// Install: copy ocstop.js into ~/.config/opencode/plugins/ or a project's .opencode/plugins/, or
// list it in opencode.json "plugin". OpenCode requires every export of a plugin file to be a plugin
// function, so ocstop.js exports exactly one: OcStop.
//
// The modules, each in its own function scope, in the order they run:
//   src/codec.js: the msgpack subset the protocol uses (proto/PROTOCOL.md).
//   src/timers.js: timers that never keep OpenCode alive, and deadlines for calls that may hang.
//   src/compat.js: what OpenCode versions older than the one the shim is written against need from it
//   src/link.js: the connection to ocstopd and the plugin instances registered on it.
//   src/socket-path.js: where ocstopd listens, by the rule of proto/paths.c (proto_socket_path).
//   src/relay.js: the daemon's eyes and hands where OpenCode has no HTTP port.
//   src/detached.js: a blocked message sent by a client that does not wait for the answer (prompt_async,
//   src/stop-word.js: what counts as a stop word, by the daemon's rule (daemon/core/config.h): the
//   src/toast.js: what the user is told after a stop word: how the stop ended, as ocstopd proved it.
//   src/forget.js: a blocked message leaves the screens that showed it before it was sent.
//   src/fence.js: the fences: from an x until the user's next real message, nothing new starts in its tree.
//   src/block.js: the chat.message hook: the verdict on what the user typed, and the stop.
//   src/marker.js: every shell a tool starts carries its session's id in its environment.
//   src/main.js: the plugin function, OcStop (its opening comment heads this file)

// ==================================================================================== src/codec.js

const __codec = (() => {
// codec.js: the msgpack subset the protocol uses (proto/PROTOCOL.md).
//
// The encoder always picks the shortest form, as msgpack-c does, so both sides produce identical
// bytes for the same value (tests/js/codec.test.mjs checks this against msgpack-c).

// Same bound as the daemon (PROTOCOL.md): a frame over 1 MiB closes the connection.
const MAX_FRAME = 1 << 20;
const MAX_DEPTH = 32;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }

  room(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const buf = new Uint8Array(size);
    buf.set(this.buf.subarray(0, this.len));
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }

  // A type byte followed by x as a big-endian number of `width` bytes.
  head(type, width, x, signed = false) {
    this.room(1 + width);
    const v = this.view;
    const at = this.len + 1;
    v.setUint8(this.len, type);
    if (width === 1) signed ? v.setInt8(at, Number(x)) : v.setUint8(at, Number(x));
    else if (width === 2) signed ? v.setInt16(at, Number(x)) : v.setUint16(at, Number(x));
    else if (width === 4) signed ? v.setInt32(at, Number(x)) : v.setUint32(at, Number(x));
    else if (width === 8) signed ? v.setBigInt64(at, BigInt(x)) : v.setBigUint64(at, BigInt(x));
    this.len += 1 + width;
  }

  // A length prefix: the fix form when it fits, else the 8 (str/bin only), 16 or 32-bit form.
  size(n, fix, fixMax, t8, t16, t32) {
    if (n <= fixMax && fix !== null) this.head(fix | n, 0, 0);
    else if (n < 0x100 && t8 !== null) this.head(t8, 1, n);
    else if (n < 0x10000) this.head(t16, 2, n);
    else if (n <= 0xffffffff) this.head(t32, 4, n);
    else throw new RangeError("msgpack: too long");
  }

  int(n) {
    if (n >= 0) {
      if (n < 0x80) this.head(Number(n), 0, 0);
      else if (n < 0x100) this.head(0xcc, 1, n);
      else if (n < 0x10000) this.head(0xcd, 2, n);
      else if (n < 0x100000000) this.head(0xce, 4, n);
      else if (n < 2n ** 64n) this.head(0xcf, 8, n);
      else throw new RangeError("msgpack: integer out of range");
    } else if (n >= -0x20) this.head(Number(n) & 0xff, 0, 0);
    else if (n >= -0x80) this.head(0xd0, 1, n, true);
    else if (n >= -0x8000) this.head(0xd1, 2, n, true);
    else if (n >= -0x80000000) this.head(0xd2, 4, n, true);
    else if (n >= -(2n ** 63n)) this.head(0xd3, 8, n, true);
    else throw new RangeError("msgpack: integer out of range");
  }

  value(x, depth) {
    if (depth > MAX_DEPTH) throw new RangeError("msgpack: nesting too deep");
    if (x === null || x === undefined) this.head(0xc0, 0, 0);
    else if (x === false) this.head(0xc2, 0, 0);
    else if (x === true) this.head(0xc3, 0, 0);
    else if (typeof x === "bigint") this.int(x);
    else if (typeof x === "number") {
      // Integers beyond 2^53 are still exact as numbers; BigInt() keeps them exact on the wire.
      if (Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 64) this.int(Number.isSafeInteger(x) ? x : BigInt(x));
      else {
        this.room(9);
        this.view.setUint8(this.len, 0xcb);
        this.view.setFloat64(this.len + 1, x);
        this.len += 9;
      }
    } else if (typeof x === "string") {
      const bytes = utf8Encoder.encode(x);
      this.size(bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
      this.bytes(bytes);
    } else if (x instanceof Uint8Array) {
      this.size(x.length, null, -1, 0xc4, 0xc5, 0xc6);
      this.bytes(x);
    } else if (Array.isArray(x)) {
      this.size(x.length, 0x90, 15, null, 0xdc, 0xdd);
      for (const item of x) this.value(item, depth + 1);
    } else if (typeof x === "object") {
      // Absent optional fields are left out rather than sent as nil.
      const keys = Object.keys(x).filter((k) => x[k] !== undefined);
      this.size(keys.length, 0x80, 15, null, 0xde, 0xdf);
      for (const k of keys) {
        this.value(k, depth + 1);
        this.value(x[k], depth + 1);
      }
    } else throw new TypeError(`msgpack: cannot encode ${typeof x}`);
  }

  bytes(b) {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

function encode(value) {
  const w = new Writer();
  w.value(value, 0);
  return w.buf.slice(0, w.len);
}

// Thrown by Reader when the frame is not complete yet; Decoder waits for more bytes.
const MORE = Symbol("more");

// Decodes one value from the start of buf. Lengths are checked against MAX_FRAME before waiting for
// the bytes they announce, so a bad length fails at once instead of buffering up to it.
class Reader {
  constructor(buf) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > MAX_FRAME) throw new RangeError("msgpack: frame over 1 MiB");
    if (this.pos + n > this.buf.length) throw MORE;
  }

  uint(width) {
    this.need(width);
    const v = this.view;
    const at = this.pos;
    this.pos += width;
    if (width === 1) return v.getUint8(at);
    if (width === 2) return v.getUint16(at);
    if (width === 4) return v.getUint32(at);
    const big = v.getBigUint64(at);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  int(width) {
    this.need(width);
    const v = this.view;
    const at = this.pos;
    this.pos += width;
    if (width === 1) return v.getInt8(at);
    if (width === 2) return v.getInt16(at);
    if (width === 4) return v.getInt32(at);
    const big = v.getBigInt64(at);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  raw(n) {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  array(n, depth) {
    this.need(n); // every element takes at least one byte
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
    return a;
  }

  map(n, depth) {
    this.need(2 * n);
    const m = {};
    for (let i = 0; i < n; i++) {
      const k = String(this.value(depth + 1));
      const v = this.value(depth + 1);
      // A plain assignment of "__proto__" would replace the prototype instead of adding a key.
      if (k === "__proto__") Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
      else m[k] = v;
    }
    return m;
  }

  value(depth) {
    if (depth > MAX_DEPTH) throw new RangeError("msgpack: nesting too deep");
    this.need(1);
    const b = this.buf[this.pos++];
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b & 0x0f, depth);
    if (b < 0xa0) return this.array(b & 0x0f, depth);
    if (b < 0xc0) return utf8Decoder.decode(this.raw(b & 0x1f));
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return new Uint8Array(this.raw(this.uint(1)));
      case 0xc5: return new Uint8Array(this.raw(this.uint(2)));
      case 0xc6: return new Uint8Array(this.raw(this.uint(4)));
      case 0xca: this.need(4); this.pos += 4; return this.view.getFloat32(this.pos - 4);
      case 0xcb: this.need(8); this.pos += 8; return this.view.getFloat64(this.pos - 8);
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: return this.uint(8);
      case 0xd0: return this.int(1);
      case 0xd1: return this.int(2);
      case 0xd2: return this.int(4);
      case 0xd3: return this.int(8);
      case 0xd9: return utf8Decoder.decode(this.raw(this.uint(1)));
      case 0xda: return utf8Decoder.decode(this.raw(this.uint(2)));
      case 0xdb: return utf8Decoder.decode(this.raw(this.uint(4)));
      case 0xdc: return this.array(this.uint(2), depth);
      case 0xdd: return this.array(this.uint(4), depth);
      case 0xde: return this.map(this.uint(2), depth);
      case 0xdf: return this.map(this.uint(4), depth);
    }
    // 0xc1 (never used) and the ext types, which the protocol does not use.
    throw new TypeError(`msgpack: unsupported type byte 0x${b.toString(16)}`);
  }
}

// Splits a byte stream into values. feed() throws on bytes that are not msgpack or on a frame over
// MAX_FRAME; the caller then drops the connection, so the decoder need not recover.
class Decoder {
  constructor() {
    this.rest = null;
  }

  feed(chunk) {
    let buf = chunk;
    if (this.rest) {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest);
      buf.set(chunk, this.rest.length);
    }
    const out = [];
    let pos = 0;
    while (pos < buf.length) {
      const r = new Reader(buf.subarray(pos));
      try {
        out.push(r.value(0));
      } catch (e) {
        if (e !== MORE) throw e;
        break;
      }
      pos += r.pos;
    }
    // Copied: the runtime may reuse the chunk's memory after the data callback returns.
    this.rest = pos < buf.length ? new Uint8Array(buf.subarray(pos)) : null;
    return out;
  }
}

return { MAX_FRAME, encode, Decoder };
})();

// =================================================================================== src/timers.js

const __timers = (() => {
// timers.js: timers that never keep OpenCode alive, and deadlines for calls that may hang.

// Bounds every call into OpenCode (an abort takes 7-15 ms), so a stuck server cannot hold the
// prompt or the daemon connection for long.
const CLIENT_TIMEOUT_MS = 1000;

// What a missed deadline rejects with, so callers can tell it from other failures.
class Timeout extends Error {}

// Timers must not keep `opencode run` alive after its work is done.
function later(fn, ms) {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return t;
}

function withTimeout(promise, ms) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = later(() => reject(new Timeout("timeout")), ms))),
  ]).finally(() => clearTimeout(timer));
}

return { CLIENT_TIMEOUT_MS, Timeout, later, withTimeout };
})();

// =================================================================================== src/compat.js

const __compat = (() => {
// compat.js: what OpenCode versions older than the one the shim is written against need from it
// (tests/compat.sh runs them; README.md lists the versions).

// OpenCode 1.0's client URL-encodes the directory it sends, and the server makes a plugin instance
// for that string as it is ("%2Ftmp%2Fproj"). The daemon and its users are told the directory it
// names.
function shownDirectory(dir) {
  if (typeof dir !== "string" || dir.includes("/") || !/%2f/i.test(dir)) return dir;
  try {
    const decoded = decodeURIComponent(dir);
    return decoded.startsWith("/") ? decoded : dir;
  } catch {
    return dir;
  }
}

// The instance of directory dir among instances (directory -> instance), also where OpenCode
// named it URL-encoded.
function instanceFor(instances, dir) {
  const inst = instances.get(dir);
  if (inst !== undefined) return inst;
  for (const [key, other] of instances) if (shownDirectory(key) === dir) return other;
  return undefined;
}

// The version of the OpenCode binary at execPath, where /global/health does not tell it (before
// 1.1): that of the npm package it came in (.../opencode-linux-x64/bin/opencode beside
// .../opencode-linux-x64/package.json); asking the binary itself takes seconds on 1.0. read(path):
// a promise of the file's text. "" for any other program (the shim's tests run under node), any
// other install, any failure.
async function binaryVersion(execPath, read) {
  const m = /^(.*\/)bin\/opencode[^/]*$/.exec(execPath ?? "");
  if (!m) return "";
  try {
    const pkg = JSON.parse(await read(`${m[1]}package.json`));
    const ok = typeof pkg?.name === "string" && pkg.name.startsWith("opencode") && /^\d+\.\d+\.\d+\S*$/.test(pkg.version);
    return ok ? pkg.version : "";
  } catch {
    return "";
  }
}

// Before 1.15 the TUI also prints what chat.message throws on its terminal, over its screen, the
// way Bun inspects an error: the source lines where it was made, its message and every enumerable
// field (the forged response's). Unknown versions ("") are taken for current ones.
function printsThrownErrors(version) {
  const m = /^(\d+)\.(\d+)\./.exec(version ?? "");
  return m !== null && (Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 15));
}

// err as such a version should print it: one line, the sentence itself ("ocstop: stopped (x)", where
// Bun would print "error: <sentence>" for an Error named Error). What gets printed is an error made
// without frames, named by the sentence's head, with no field of its own; every read and `in` test
// goes to err, so OpenCode handles it exactly as it would err.
function quietError(err) {
  const text = String(err?.message ?? err);
  const [, head, rest] = /^([^\s:]+): (.+)$/s.exec(text) ?? [];
  const limit = Error.stackTraceLimit;
  let shown;
  Error.stackTraceLimit = 0;
  try {
    shown = new Error(head ? rest : text);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // Configurable: a proxy may answer reads of a configurable property with another value.
  if (head) Object.defineProperty(shown, "name", { value: head, configurable: true, writable: true });
  Object.defineProperty(shown, "stack", { value: head ? text : `Error: ${text}`, configurable: true, writable: true });
  return new Proxy(shown, {
    has: (_, key) => Reflect.has(err, key),
    get: (_, key) => Reflect.get(err, key),
  });
}

return { shownDirectory, instanceFor, binaryVersion, printsThrownErrors, quietError };
})();

// ===================================================================================== src/link.js

const __link = (() => {
// link.js: the connection to ocstopd and the plugin instances registered on it.
//
// msgpack-rpc on a Unix socket (proto/PROTOCOL.md), in both directions: the shim's requests and the
// daemon's relay requests.
// One link per OpenCode process: the plugin is loaded once, while the plugin function runs once per
// directory instance. Each instance registers on the connection; after a reconnect all register again.
// Without a connection every request fails at once, so callers fall back without waiting.
// A daemon that (re)starts is found at once: while there is no connection the link watches the
// socket's directory and tries as soon as the socket appears there, whatever its backoff.

const { encode, Decoder } = __codec;
const { later, Timeout } = __timers;
const { shownDirectory } = __compat;

// A daemon that accepts but does not answer register within this is treated as hung: reconnect.
const REGISTER_TIMEOUT_MS = 5000;
// The wait before the next attempt after a failed one doubles from the least to the most: quick
// tries while a daemon restarts, then one every 2 s for a daemon that stays away (where the socket's
// directory cannot be watched, that is the longest a new daemon waits for its shims).
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 2000;
// Added to the daemon's longest stop for the way back to us.
const PROOF_MARGIN_MS = 1000;

// The settings a shim acts on, from register's reply or a settings notification (PROTOCOL.md).
function settingsOf(m) {
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
function watchDir(dir, onName) {
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

class Link {
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

return { REGISTER_TIMEOUT_MS, BACKOFF_MIN_MS, BACKOFF_MAX_MS, PROOF_MARGIN_MS, settingsOf, watchDir, Link };
})();

// ============================================================================== src/socket-path.js

const __socket_path = (() => {
// socket-path.js: where ocstopd listens, by the rule of proto/paths.c (proto_socket_path).
//
//   $OCSTOP_SOCKET if set and not empty; it must be absolute (a relative one is an error),
//   else $XDG_RUNTIME_DIR/ocstop/ocstop.sock if that is set, not empty and absolute (the XDG spec
//   says a relative one is ignored), else /tmp/ocstop-$UID/ocstop.sock;
//   a path over 107 bytes does not fit a sockaddr_un and is an error.
//
// Whom to trust there, by proto's rule too (proto_socket_dir_refusal): the socket's directory must be
// a directory (not a link) owned by us and closed to everyone else, so that nobody else can have bound
// the socket; the socket itself must be ours. The CLI also asks the kernel who listens (SO_PEERCRED);
// Bun's sockets cannot, so the shim relies on the directory.
//
// tests/js/socket-path.test.mjs runs both rules under the same environments and directories.

// sun_path holds 108 bytes, one of them the terminating NUL.
const MAX_SOCKET_PATH = 107;

// Set and not empty: shells make an empty variable easy to create by mistake, so it counts as unset.
function given(env, name) {
  const v = env[name];
  return typeof v === "string" && v !== "" ? v : null;
}

// The path, or an Error thrown with the reason there is none.
function socketPath(env, uid) {
  let path;
  const socket = given(env, "OCSTOP_SOCKET");
  const runtime = given(env, "XDG_RUNTIME_DIR");
  if (socket !== null) {
    // The daemon and its clients run in different directories.
    if (!socket.startsWith("/")) throw new Error("OCSTOP_SOCKET must be an absolute path");
    path = socket;
  } else if (runtime !== null && runtime.startsWith("/")) {
    path = `${runtime}/ocstop/ocstop.sock`;
  } else {
    path = `/tmp/ocstop-${uid}/ocstop.sock`;
  }
  // The bound is in bytes, as the kernel counts them, not in UTF-16 units.
  if (new TextEncoder().encode(path).length > MAX_SOCKET_PATH) throw new Error("the socket path is too long for a Unix socket; set OCSTOP_SOCKET");
  return path;
}

// The mode the daemon makes the socket's directory with; group and others get nothing.
const SOCKET_DIR_MODE = 0o700;

// The directory part of a socket path: "/" for "/x", "." for a bare name.
function socketDir(path) {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

// null when a directory with lstat's facts (mode, uid) passes the rule for the user uid, else why not.
function socketDirRefusal({ mode, uid: owner }, uid) {
  if ((mode & 0o170000) !== 0o040000) return "is not a directory";
  if (owner !== uid) return "is owned by another user";
  if ((mode & 0o077) !== 0) return "is open to other users";
  return null;
}

const octal = (mode) => (mode & 0o7777).toString(8).padStart(4, "0");

// null when the daemon's socket at path may be trusted by the user uid, else why not, in the CLI's
// words. lstat(path) is fs.promises.lstat or a stand-in. What cannot be read is left to the
// connection to report.
async function socketRefusal(path, uid, lstat) {
  const dir = socketDir(path);
  let st;
  try {
    st = await lstat(dir);
  } catch {
    return null;
  }
  const why = socketDirRefusal(st, uid);
  if (why !== null) {
    return `refusing to use ${path}: its directory ${dir} ${why} (owner uid ${st.uid}, mode ${octal(st.mode)}); it must be yours with mode ${octal(SOCKET_DIR_MODE)}, so that no one else can listen there`;
  }
  try {
    st = await lstat(path);
  } catch {
    return null;
  }
  return st.uid === uid ? null : `refusing to use ${path}: it belongs to uid ${st.uid}, not to you (uid ${uid})`;
}

return { socketPath, SOCKET_DIR_MODE, socketDir, socketDirRefusal, socketRefusal };
})();

// ==================================================================================== src/relay.js

const __relay = (() => {
// relay.js: the daemon's eyes and hands where OpenCode has no HTTP port.
//
// In the TUI and `opencode run` there is no HTTP port: the daemon can only see and stop sessions
// through this plugin. It then asks (register reply relay: true) for the events below and sends us
// opencode.abort / opencode.sessions requests.

const { CLIENT_TIMEOUT_MS, withTimeout } = __timers;
const { instanceFor } = __compat;

// session.error texts can carry whole stack traces; the daemon needs only the gist.
const MAX_ERROR_TEXT = 500;

// The errors a relay request can end in (PROTOCOL.md, Errors), each with its kind: 1 for what the
// daemon asked wrongly, 0 for a failure.
const ERROR_KINDS = { bad_request: 1, unknown_method: 1, not_found: 1, opencode_unreachable: 0 };

// An error reply by its PROTOCOL.md name; any other failure is reported as opencode_unreachable.
class RelayError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

// [kind, "name: message"], as the daemon's own errors are.
function wireError(name, message) {
  return [ERROR_KINDS[name], `${name}: ${message}`];
}

// The reply to a daemon request, as [error, result]: error is null or [kind, "name: message"].
// instances: directory -> { ctx }, the plugin instances of this process.
async function answer(instances, method, params) {
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
function slimEvent({ type, properties: p }) {
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

return { MAX_ERROR_TEXT, RelayError, wireError, answer, slimEvent };
})();

// ================================================================================= src/detached.js

const __detached = (() => {
// detached.js: a blocked message sent by a client that does not wait for the answer (prompt_async,
// as chat bridges such as Kimaki send every message) ends without an error, and the stop reaches
// that client through the events it reads.
//
// OpenCode 1.18.33 runs the chat.message hooks inside an Effect fiber (Plugin.trigger awaits each
// with Effect.promise). prompt_async answers 204 at once and runs the prompt in a fiber of its own,
// which publishes any failure as session.error UnknownError with Effect's Cause.pretty() for its
// message: the thrown value's "<name>: <message>" and the fiber's span trace, which Kimaki posts to
// Discord verbatim, whatever the thrown value is. An interrupted fiber publishes nothing (measured:
// its catchCause handler does not run for an interruption, and nothing is logged). So on that route
// the hook interrupts its own fiber: the message is neither saved nor sent, and nobody reads a
// failure. The synchronous route must not be interrupted (its client then gets an empty 503); there
// block.js throws.
//
// Such a client learns that its prompt is over from session.idle; Kimaki's interrupt plugin, which
// schedules a replay of every message it sees, cancels the replay on it. A blocked message makes
// no turn and so no idle event: aborting the session makes OpenCode publish one, also when nothing
// ran.
//
// The stop's sentence reaches the client as the toast event, addressed to the session: Kimaki posts
// a toast whose message ends with a session id into that session's thread, without the id.

// Effect's global: the fiber now running, set while its loop runs (the hook's first synchronous
// part runs inside Plugin.trigger's loop).
const CURRENT_FIBER = "~effect/Fiber/currentFiber";
// The spans (Effect.fn names) of the routes whose client does not wait for the prompt's answer.
const DETACHED_ROUTES = new Set(["SessionHttpApi.promptAsync"]);
// Stack frames read at most: the route sits a few frames under the hook (ten in 1.18.33).
const MAX_FRAMES = 64;

// The fiber that runs this hook when it runs a detached route's prompt, else null. Call it in the
// hook's first synchronous part, before any await.
function detachedPrompt() {
  const fiber = globalThis[CURRENT_FIBER];
  if (typeof fiber?.interruptUnsafe !== "function") return null;
  if (typeof fiber.pollUnsafe !== "function") return null;
  let frame = fiber.currentStackFrame;
  for (let n = 0; frame && n < MAX_FRAMES; n++, frame = frame.parent) {
    if (DETACHED_ROUTES.has(frame.name)) return fiber;
  }
  return null;
}

// Ends the prompt of fiber (from detachedPrompt) by interrupting it, once the hook has awaited
// (the fiber is suspended in Plugin.trigger). True when the fiber has ended; false when it goes on
// (e.g. in an uninterruptible region), and the caller must block the message another way.
function endPrompt(fiber) {
  try {
    fiber.interruptUnsafe();
    return fiber.pollUnsafe() !== undefined;
  } catch {
    return false;
  }
}

// toast (a string, {text, variant}, or a promise of either) addressed to session, as Kimaki's
// plugins address theirs.
function addressed(toast, session) {
  return Promise.resolve(toast).then((t) => (typeof t === "string" ? `${t} ${session}` : { ...t, text: `${t.text} ${session}` }));
}

return { detachedPrompt, endPrompt, addressed };
})();

// ================================================================================ src/stop-word.js

const __stop_word = (() => {
// stop-word.js: what counts as a stop word, by the daemon's rule (daemon/core/config.h): the
// message, trimmed of Unicode White_Space, equals a stop word under Unicode full case folding and
// canonical equivalence. tests/js/stop-word.test.mjs holds this to the daemon's own matcher, for
// every character and a table of words.

// Unicode's White_Space (String.prototype.trim() also strips U+FEFF, which is none, and keeps
// U+0085, which is one). Each is one UTF-16 code unit, none being past U+FFFF, so a text's edges are
// found code unit by code unit; tests/js/stop-word.test.mjs holds this to the runtime's
// \p{White_Space} and to the daemon's.
function isSpace(c) {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

// The texts, joined, without their leading and trailing White_Space; null when that is longer than
// maxLen code units. Only the spaces at the two ends are read and only the lengths of the texts in
// between, so a long message costs what a short one does: neither a regular expression over the
// whole (3 ms a MiB) nor a join, which the runtime copies into one string on the first read.
function trimWithin(texts, maxLen) {
  let first = 0;
  let start = 0;
  for (; first < texts.length; first++, start = 0) {
    const t = texts[first];
    while (start < t.length && isSpace(t.charCodeAt(start))) start++;
    if (start < t.length) break;
  }
  if (first === texts.length) return "";
  // Some text from `first` on has a code unit that is no space: this stops there at the latest.
  let last = texts.length - 1;
  let end;
  for (; ; last--) {
    const t = texts[last];
    end = t.length;
    while (end > 0 && isSpace(t.charCodeAt(end - 1))) end--;
    if (end > 0) break;
  }
  if (first === last) return end - start > maxLen ? null : texts[first].slice(start, end);
  let length = texts[first].length - start + end;
  for (let k = first + 1; k < last && length <= maxLen; k++) length += texts[k].length;
  if (length > maxLen) return null;
  return texts[first].slice(start) + texts.slice(first + 1, last).join("") + texts[last].slice(0, end);
}

function trimSpace(text) {
  return trimWithin([text], Infinity);
}

// JavaScript has no case folding. Lower, upper, lower again joins what Unicode's full folding
// joins (ß, ẞ and "ss" meet in "ss", ligatures come apart, ϐ meets β, σ and ς meet in what the
// last lowercasing makes of Σ) but for the dotless ı, which folds to itself and would become i.
// The keys differ from the daemon's (its are folded, Cherokee to capitals); what is equal is not.
function stopKey(text) {
  return text
    .normalize("NFD")
    .split("ı")
    .map((s) => s.toLowerCase().toUpperCase().toLowerCase())
    .join("ı")
    .normalize("NFC");
}

function isStopWord(text, words) {
  const key = stopKey(trimSpace(text));
  return key !== "" && words.some((w) => stopKey(w) === key);
}

return { trimWithin, trimSpace, stopKey, isStopWord };
})();

// ==================================================================================== src/toast.js

const __toast = (() => {
// toast.js: what the user is told after a stop word: how the stop ended, as ocstopd proved it.
//
// The daemon proves a stop from OpenCode's events (and, before it says "not stopped", from
// OpenCode's status route) and tells the shim's connection with an x.result notification. The toast
// says only what is known: verified, not stopped with what still runs, or not verified and why.
// Only the TUI shows toasts; elsewhere the call fails or goes unseen, which is fine.

const { later } = __timers;

// Our toast must come after any error toast of the blocked prompt (which replaces an earlier one).
const TOAST_DELAY_MS = 150;
// How long to wait for an x's outcome when the daemon did not say (register's proof_ms): two
// attempts of the default 3 s and the status check.
const PROOF_WAIT_MS = 8000;
// Said when the shim stopped the session alone: with no daemon nothing proves the stop.
const NO_DAEMON = "ocstopd is not running";

const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const countOf = (v) => (Number.isInteger(v) && v > 0 ? v : 0);
const listOf = (v) => (Array.isArray(v) ? v : []);

// What a stop reached beyond the session typed in (protocol 4's stop object), as a toast's tail:
// "" when it was that session alone with nothing refused, held or ended.
function blastRadius(stop) {
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
function outcomeToast(result, msToStop, msToResult, alone = false) {
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
function unverifiedToast(why) {
  return { text: `ocstop: abort sent; not verified — ${why}`, variant: "info" };
}

class Toasts {
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

return { TOAST_DELAY_MS, PROOF_WAIT_MS, NO_DAEMON, blastRadius, outcomeToast, unverifiedToast, Toasts };
})();

// =================================================================================== src/forget.js

const __forget = (() => {
// forget.js: a blocked message leaves the screens that showed it before it was sent.
//
// OpenCode's web UI puts a typed message into the conversation as Enter is pressed, and takes it
// out only when its request fails or OpenCode announces message.removed for it. prompt_async
// answers 204 before chat.message runs, so a blocked x would stay on the page, under the stopped
// reply, until a reload. Deleting the message, which was never saved, removes nothing but makes
// OpenCode announce message.removed, and the web UI drops it. (The TUI shows a message only once
// saved.)

const { CLIENT_TIMEOUT_MS, later, withTimeout } = __timers;

// OpenCode refuses to delete while the session is busy (409): the stopped turn takes 10-150 ms
// to end, so the delete is first tried after FORGET_RETRY_MS and then again, FORGET_TRIES times
// in all.
const FORGET_RETRY_MS = 100;
const FORGET_TRIES = 10;

// Starts forgetting messageID of sessionID, in the background: the stop never waits for it.
function forgetMessage(ctx, sessionID, messageID) {
  if (!messageID) return;
  let left = FORGET_TRIES;
  const attempt = async () => {
    left--;
    try {
      const r = await withTimeout(
        ctx.client._client.delete({ url: "/session/{sessionID}/message/{messageID}", path: { sessionID, messageID } }),
        CLIENT_TIMEOUT_MS,
      );
      if (r?.data === true) return;
    } catch {}
    if (left > 0) later(attempt, FORGET_RETRY_MS);
  };
  later(attempt, FORGET_RETRY_MS);
}

return { FORGET_RETRY_MS, FORGET_TRIES, forgetMessage };
})();

// ==================================================================================== src/fence.js

const __fence = (() => {
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
const MAX_SESSIONS = 4096;
// Parent links followed at most from a session towards its root (a cycle cannot loop forever).
const MAX_DEPTH = 64;
// Messages waiting for a busy session's turn that are remembered per session, at most.
const MAX_QUEUED = 64;

// What a refused tool call's part and a refused model request's turn say; word: the stop word typed,
// when this shim saw it (the daemon's fence does not say).
const stopped = (word) => (word === undefined ? "ocstop: stopped" : `ocstop: stopped (${word})`);
const toolRefusal = (word) => `${stopped(word)} — this tool was not run`;
const requestRefusal = (word) => `${stopped(word)} — no new model request`;

// A Map that forgets its oldest entry past max.
function remember(map, key, value, max) {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value);
}

class Fences {
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

return { MAX_SESSIONS, MAX_DEPTH, MAX_QUEUED, toolRefusal, requestRefusal, Fences };
})();

// ==================================================================================== src/block.js

const __block = (() => {
// block.js: the chat.message hook: the verdict on what the user typed, and the stop.
//
// The daemon gives the verdict; a stop word aborts the running session and blocks the message.
// Throwing from chat.message is the only way to keep a message from being saved and sent to the
// model (emptying output.parts still starts a turn). The thrown value reaches OpenCode's HTTP layer
// as an Effect defect, and what the client shows depends on its shape:
//
//   1. It carries the Effect HttpServerResponse type key. Effect's causeResponse() sends such a
//      defect as the response itself, and OpenCode's error middleware lets it through untouched. So
//      POST /session/:id/message (the TUI's prompt call) answers 200 "{}" and the TUI shows no
//      "Failed to send prompt" toast at all.
//   2. If a later version stops recognising the key, the middleware turns NamedError defects named
//      ConfigFrontmatterError into 400 toObject(), and the TUI toasts "Failed to send prompt" with
//      data.message: our own sentence.
//   3. Otherwise it is a plain error: 500 "Unexpected server error", which still blocks the message.
//
// prompt_async (serve mode) answers 204 before the hook runs, then publishes session.error
// UnknownError with Cause.pretty() of the defect: "<name>: <message>", the defect's stack lines and
// Effect's span trace. There the hook ends its prompt without a failure instead (detached.js), and
// throws only if that fails; name, message and stack are chosen to read well then too.

const { addressed, detachedPrompt, endPrompt } = __detached;
const { isStopWord, trimWithin } = __stop_word;
const { CLIENT_TIMEOUT_MS, withTimeout } = __timers;
const { NO_DAEMON, outcomeToast, unverifiedToast } = __toast;
const { forgetMessage } = __forget;
const { shownDirectory } = __compat;
const { Fences } = __fence;

const DEFAULT_STOP_WORD = "x";
// chat.message blocks the user's Enter; past this the daemon is treated as absent for this message.
const VERDICT_DEADLINE_MS = 50;

const RESPONSE_TYPE_KEY = "~effect/http/HttpServerResponse";
const FALLBACK_NAME = "ConfigFrontmatterError";
const EMPTY_JSON = new TextEncoder().encode("{}");

function blockError(message) {
  const err = new Error(message);
  // Cause.pretty() writes its own "<name>: <message>" header, then the stack lines after the first;
  // the plugin's frames say nothing to the user, so none are kept.
  err.stack = `Error: ${message}`;
  Object.assign(err, {
    // (1) Effect's isHttpServerResponse() is `RESPONSE_TYPE_KEY in value`.
    [RESPONSE_TYPE_KEY]: RESPONSE_TYPE_KEY,
    // The fields HttpServerResponse.toWeb() and the middlewares read: status, statusText, headers
    // (a lower-case record), cookies (Effect Cookies, whose own `cookies` record is empty: no
    // Set-Cookie) and body (an HttpBody "Uint8Array": bytes plus their type and length).
    status: 200,
    statusText: undefined,
    headers: { "content-type": "application/json" },
    cookies: { cookies: {} },
    body: { _tag: "Uint8Array", body: EMPTY_JSON, contentType: "application/json", contentLength: EMPTY_JSON.length },
    // (2) NamedError's toObject() shape; the TUI prints data.message for this error name.
    data: { path: "ocstop", message },
    toObject() {
      return { name: FALLBACK_NAME, data: this.data };
    },
  });
  // (2) needs name === FALLBACK_NAME, but Cause.pretty() would then print "ConfigFrontmatterError:
  // ocstop: stopped (x)" in every serve-mode session.error. NamedError.hasName() is
  // `"name" in e && e.name === N`, and Cause.pretty() reads e.name without asking `in` first, so the
  // name answers FALLBACK_NAME only to a read that directly follows an `in` test of "name".
  let askedName = false;
  return new Proxy(err, {
    has(target, key) {
      askedName = key === "name";
      return Reflect.has(target, key);
    },
    get(target, key, receiver) {
      if (key !== "name") return Reflect.get(target, key, receiver);
      const asked = askedName;
      askedName = false;
      return asked ? FALLBACK_NAME : "Error";
    },
  });
}

// ctx.client runs in-process and carries the server's auth; the HTTP fallback covers a client that
// fails (it only works where OpenCode listens on a port: serve, web, --port). env: where the
// server's username and password are read. Resolves whether OpenCode took the abort.
async function abortSession(ctx, id, env) {
  try {
    const r = await withTimeout(ctx.client.session.abort({ path: { id } }), CLIENT_TIMEOUT_MS);
    if (r?.data === true) return true;
  } catch {}
  try {
    const headers = {};
    if (env.OPENCODE_SERVER_PASSWORD) {
      const user = env.OPENCODE_SERVER_USERNAME || "opencode";
      headers.authorization = `Basic ${Buffer.from(`${user}:${env.OPENCODE_SERVER_PASSWORD}`).toString("base64")}`;
    }
    const r = await fetch(new URL(`session/${encodeURIComponent(id)}/abort`, String(ctx.serverUrl)), {
      method: "POST",
      headers,
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    return r.ok;
  } catch {
    return false;
  }
}

// The hook's body, given request(method, params, timeoutMs) to the daemon (rejecting at once when
// there is none), notify(method, params) to it, connected() (whether there is a daemon), the
// toasts, env (see abortSession) and the fences (fence.js), which a stop raises and a real message
// lifts. inst is { ctx, reg }: the plugin instance and its register reply (null until it comes).
function chatMessageHook({ request, notify = () => {}, connected = () => false, toasts, env, fences = new Fences() }) {
  return async function onChatMessage(inst, input, output) {
    // Synthetic parts (the TUI's editor context) are not typed by the user.
    const texts = [];
    for (const p of output?.parts ?? []) if (p?.type === "text" && !p.synthetic) texts.push(`${p.text ?? ""}`);
    const session = input.sessionID;
    const messageId = output?.message?.id ?? input.messageID;
    // Ordinary messages leave here, before any I/O and without reading more than their ends: none
    // longer than maxLen can match (see register).
    const word = trimWithin(texts, inst.reg?.maxLen ?? DEFAULT_STOP_WORD.length);
    if (!word) return fences.passed(session, messageId);
    // Until the verdict is known and acted on, nothing new starts in the tree.
    const release = fences.hold(session);
    try {
      return await decide(inst, output, word, session, messageId, release);
    } finally {
      release();
    }
  };

  async function decide(inst, output, word, session, messageId, release) {
    const t0 = performance.now();
    const detached = detachedPrompt();
    const { ctx } = inst;
    // typed_at: the daemon measures the stop from here, on the machine's clock, so that a starved
    // event loop here does not stretch the time it reports.
    const x = { session, message_id: messageId, directory: shownDirectory(ctx.directory), typed_at: Date.now() };
    // The outcome may follow the verdict in the same read: wait for it before asking.
    const key = typeof messageId === "string" ? messageId : session;
    const done = toasts.whenDone(key, inst.reg?.proofMs);
    let verdict;
    let by = "daemon";
    let note;
    try {
      const reply = await request(
        "message",
        {
          ...x,
          server_url: String(ctx.serverUrl),
          // Past this (by the wall clock, which the daemon shares) the answer is not waited for.
          deadline: x.typed_at + VERDICT_DEADLINE_MS,
          parts: (output.parts ?? [])
            .filter((p) => !p?.synthetic)
            .map((p) => (p?.type === "text" ? { type: "text", text: p.text ?? "" } : { type: p?.type })),
        },
        VERDICT_DEADLINE_MS,
      );
      verdict = reply.verdict;
      if (typeof reply.text === "string" && reply.text) note = reply.text;
    } catch {
      // Daemon absent, slow or confused: the built-in stop word still works.
      verdict = isStopWord(word, [DEFAULT_STOP_WORD]) ? "abort" : "pass";
      by = "shim";
    }
    if (verdict !== "abort" && verdict !== "clear") {
      toasts.forget(key);
      fences.passed(session, messageId);
      return;
    }
    fences.arm(session, [], word);
    release();
    forgetMessage(ctx, session, messageId);
    // A detached prompt's client reads the toast only when it names the session (detached.js).
    const tell = (toast) => toasts.show(ctx, detached ? addressed(toast, session) : toast);
    if (verdict === "clear") {
      // Nothing ran, but a client may wait for the prompt's end: a detached prompt's (detached.js),
      // and `opencode run`, which exits on the session's idle event. Only an abort makes OpenCode
      // say idle when nothing ran.
      await abortSession(ctx, session, env);
      // The daemon checks its word with OpenCode: what ran after all, it stops, and says so.
      const msToStop = performance.now() - t0;
      const plain = note ?? "ocstop: message not sent";
      tell(done.then((result) => (result?.outcome === "stopped" || result?.outcome === "not_stopped" ? outcomeToast(result, msToStop, performance.now() - t0) : plain)));
      return block(detached, note ?? `ocstop: not sent (${word})`);
    }

    // Abort before blocking: the block ends only the new prompt, the abort ends the running turn.
    // The daemon aborts the rest of the tree and proves the whole of it stopped.
    let msToStop = performance.now() - t0;
    const aborted = await abortSession(ctx, session, env);
    const daemon = by === "daemon" || connected();
    // The daemon is told what it cannot know: a verdict it was not waited for, whether the abort
    // returned (its proof waits for that: a prompt that comes between two aborts is dropped).
    if (daemon) notify("x.done", { ...x, verdict, by, aborted });
    if (by === "shim") msToStop = performance.now() - t0;
    if (!daemon) toasts.forget(key);
    tell(
      note ??
        (daemon ? done.then((result) => outcomeToast(result, msToStop, performance.now() - t0, by === "shim")) : unverifiedToast(NO_DAEMON)),
    );
    return block(detached, note ?? `ocstop: stopped (${word})`);
  }
}

// Keeps the message from being saved: a detached prompt (detachedPrompt()) is ended, anything else
// is failed with blockError(message).
function block(detached, message) {
  if (detached && endPrompt(detached)) return;
  throw blockError(message);
}

return { DEFAULT_STOP_WORD, VERDICT_DEADLINE_MS, blockError, abortSession, chatMessageHook };
})();

// =================================================================================== src/marker.js

const __marker = (() => {
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

const MARKER_SESSION = "OCSTOP_SESSION";
const MARKER_CALL = "OCSTOP_CALL";

// A session or call id as OpenCode makes them; anything else is not put into a shell's environment.
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

async function shellEnvHook(input, output) {
  if (!output || typeof output.env !== "object" || output.env === null) return;
  if (typeof input?.sessionID !== "string" || !ID_RE.test(input.sessionID)) return;
  output.env[MARKER_SESSION] = input.sessionID;
  if (typeof input.callID === "string" && ID_RE.test(input.callID)) output.env[MARKER_CALL] = input.callID;
}

return { MARKER_SESSION, MARKER_CALL, shellEnvHook };
})();

// ===================================================================================== src/main.js

const __main = (() => {
const { Link } = __link;
const { socketPath, socketRefusal } = __socket_path;
const { answer, slimEvent } = __relay;
const { chatMessageHook } = __block;
const { Toasts } = __toast;
const { CLIENT_TIMEOUT_MS, withTimeout } = __timers;
const { binaryVersion, printsThrownErrors, quietError, shownDirectory } = __compat;
const { Fences } = __fence;
const { shellEnvHook } = __marker;

// The register message carries the OpenCode version; plugins are not told it, but /global/health
// is (from 1.1; before, the package the binary came in tells it). The v1 client has no method for
// that route, hence its underlying HTTP client.
async function opencodeVersion(inst) {
  try {
    const r = await withTimeout(inst.ctx.client._client.get({ url: "/global/health" }), CLIENT_TIMEOUT_MS);
    if (typeof r?.data?.version === "string") return r.data.version;
    // Only a server without the route (it answers an error status) is asked another way.
    if (!(r?.response?.status >= 400)) return "";
  } catch {
    return "";
  }
  return binaryVersion(process.execPath, async (path) => (await import("node:fs/promises")).readFile(path, "utf8"));
}

// A refused socket is worth one line in OpenCode's log; stops go on without the daemon meanwhile.
async function logRefusal(link, message) {
  const inst = link.instances.values().next().value;
  try {
    await withTimeout(inst.ctx.client.app.log({ body: { service: "ocstop", level: "warn", message } }), CLIENT_TIMEOUT_MS);
  } catch {
    // An OpenCode without the log route: nothing else to tell.
  }
}

const lstatOf = async (path) => (await import("node:fs/promises")).lstat(path);

// A plugin function and the state its instances share (one per OpenCode process). dial: Bun.connect
// or a stand-in; env: where the socket path and the server's credentials are read; lstat: what
// checks the socket's directory (fs.promises.lstat by default).
function createPlugin({ dial, env, lstat = lstatOf }) {
  const link = new Link({
    dial,
    socketPath: () => socketPath(env, process.getuid()),
    refusal: (path) => socketRefusal(path, process.geteuid(), lstat),
    onRefused: (why) => logRefusal(link, why),
    version: opencodeVersion,
    onRequest: (method, params) => answer(link.instances, method, params),
    onNotify: (method, params) => {
      if (method === "x.result") toasts.noteResult(params);
      else if (method === "fence" && typeof params?.root === "string") fences.arm(params.root, Array.isArray(params.sessions) ? params.sessions : []);
    },
    env,
  });
  const toasts = new Toasts();
  // One set of fences for the process: a subagent's child session may belong to another instance.
  const fences = new Fences({ hit: (params) => link.notify("fence.hit", [params]) });
  const onChatMessage = chatMessageHook({
    request: (method, params, ms) => link.request(method, params, ms),
    notify: (method, params) => link.notify(method, [params]),
    connected: () => link.connected,
    toasts,
    env,
    fences,
  });

  // A declaration, not an arrow in a const: Bun drops the name it would infer for a nested one.
  async function OcStop(ctx) {
    const inst = { ctx, reg: null };
    link.add(inst);
    return {
      "chat.message": (input, output) =>
        onChatMessage(inst, input, output).catch((e) => {
          throw printsThrownErrors(link.opencodeVersion) ? quietError(e) : e;
        }),
      "tool.execute.before": (input) => fences.beforeTool(input),
      "chat.params": (input) => fences.beforeRequest(input),
      "shell.env": shellEnvHook,
      event: async ({ event }) => {
        fences.noteEvent(event);
        if (!link.connected || !inst.reg?.relay) return;
        const slim = slimEvent(event);
        if (slim) link.notify("opencode.event", [{ directory: shownDirectory(ctx.directory), event: JSON.stringify(slim) }]);
      },
    };
  }
  return OcStop;
}

const OcStop = createPlugin({ dial: (options) => Bun.connect(options), env: process.env });

return { createPlugin, OcStop };
})();

// ====================================================================================== the plugin

export const OcStop = __main.OcStop;
