// What the shim's module tests share: a real daemon socket to talk to, a stand-in for Bun.connect
// under node, a fake OpenCode client, and waiting.
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { encode, Decoder } from "../../client/opencode-plugin/src/codec.js";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls cond() until it is truthy; fails the test after timeoutMs.
export async function waitFor(cond, what, timeoutMs = 3000) {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (performance.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// The part of Bun.connect the shim uses, over node:net: resolves with a socket once connected
// (rejects when the connection fails); write() returns how many bytes it took, end() closes, and
// the handlers data(s, chunk), drain(s), close(s), error(s, e) are called as Bun calls them.
// Under Bun itself the tests use the real Bun.connect.
function nodeConnect({ unix, socket: handlers }) {
  return new Promise((resolve, reject) => {
    const s = net.connect(unix);
    let open = false;
    const api = {
      write(bytes) {
        if (s.destroyed || !s.writable) return -1;
        s.write(bytes);
        return bytes.length;
      },
      end() {
        s.end();
      },
      unref() {
        s.unref();
      },
    };
    s.on("connect", () => {
      open = true;
      resolve(api);
    });
    s.on("data", (chunk) => handlers.data(api, new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
    s.on("drain", () => handlers.drain?.(api));
    s.on("error", (e) => (open ? handlers.error?.(api, e) : reject(e)));
    s.on("close", () => open && handlers.close?.(api));
  });
}

export const runtime = globalThis.Bun ? "bun" : "node";
export const dial = globalThis.Bun ? (options) => globalThis.Bun.connect(options) : nodeConnect;

// A directory for sockets, removed by cleanup().
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), "ocstop-js-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// One connection the fake daemon accepted.
class Peer {
  constructor(sock, daemon) {
    this.sock = sock;
    this.daemon = daemon;
    this.received = []; // every decoded message, in order
    this.closed = false;
    this.openedAt = performance.now();
    this.closedAt = null;
    this.badInput = null; // the decoder's error, if the shim sent something that is not msgpack
    const decoder = new Decoder();
    sock.on("data", (chunk) => {
      let msgs;
      try {
        msgs = decoder.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (e) {
        this.badInput = e;
        sock.destroy();
        return;
      }
      for (const m of msgs) {
        this.received.push(m);
        daemon.handle(this, m);
      }
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.closed = true;
      this.closedAt = performance.now();
    });
  }

  send(msg) {
    if (!this.sock.destroyed) this.sock.write(encode(msg));
  }

  sendRaw(bytes) {
    if (!this.sock.destroyed) this.sock.write(bytes);
  }

  // Requests of the shim with this method.
  requests(method) {
    return this.received.filter((m) => m[0] === 0 && m[2] === method);
  }
}

// What a FakeDaemon handler returns for a reply other than an immediate result. with: messages
// written right after the reply in the same write, so that the shim reads them all at once.
const SHAPED = Symbol("shaped reply");
export const reply = (result, { delayMs = 0, error = null, with: also = [] } = {}) => ({ [SHAPED]: true, result, delayMs, error, also });

// A daemon on a real Unix socket that speaks msgpack-rpc with the shim's own codec. By default it
// answers register with registerReply(params, peer) and message with messageReply(params, peer);
// a handler returns the result, undefined for no answer at all, or reply(result, { delayMs, error, with }).
export class FakeDaemon {
  static running = new Set();

  static async stopAll() {
    for (const d of FakeDaemon.running) await d.stop();
  }

  static async start(options = {}) {
    const d = new FakeDaemon(options);
    FakeDaemon.running.add(d);
    await new Promise((resolve, reject) => {
      d.server.once("error", reject);
      d.server.listen(d.path, resolve);
    });
    return d;
  }

  constructor({ path, dir } = {}) {
    if (!path) {
      this.tmp = tempDir();
      path = join(dir ?? this.tmp.dir, "ocstopd.sock");
    }
    this.path = path;
    this.peers = [];
    this.registerReply = () => ({ stop_words: ["x"], max_len: 1, http: true, relay: false });
    this.messageReply = () => ({ verdict: "pass", aborted: false });
    this.server = net.createServer((sock) => this.peers.push(new Peer(sock, this)));
  }

  handle(peer, m) {
    if (m[0] !== 0) return;
    const [, id, method, [params] = []] = m;
    let r = method === "register" ? this.registerReply(params, peer) : method === "message" ? this.messageReply(params, peer) : undefined;
    if (r === undefined) return;
    if (!r?.[SHAPED]) r = reply(r);
    const { result, delayMs, error, also } = r;
    const send = () => peer.sendRaw(Buffer.concat([[1, id, error, error ? null : result], ...also].map(encode)));
    if (delayMs) setTimeout(send, delayMs);
    else send();
  }

  get live() {
    return this.peers.filter((p) => !p.closed);
  }

  // Every message from the shim, from every connection.
  all() {
    return this.peers.flatMap((p) => p.received);
  }

  // The next connection to reach n register requests.
  waitRegistered(n = 1, timeoutMs) {
    return waitFor(() => this.live.find((p) => p.requests("register").length >= n), `${n} register request(s)`, timeoutMs);
  }

  async stop() {
    FakeDaemon.running.delete(this);
    for (const p of this.peers) p.sock.destroy();
    await new Promise((r) => this.server.close(r));
    this.tmp?.cleanup();
  }
}

// OpenCode's ctx as the plugin gets it, with a client that records every call. Each method can be
// replaced: client.session.abort = async () => ...
export function fakeCtx({ directory = "/srv/proj", serverUrl = "http://127.0.0.1:4096/", version = "1.18.33" } = {}) {
  const calls = [];
  const record = (name, result) => (arg) => {
    calls.push({ name, arg, at: performance.now() });
    return typeof result === "function" ? result(arg) : Promise.resolve(result);
  };
  const client = {
    session: {
      abort: record("session.abort", { data: true }),
      status: record("session.status", { data: { ses_1: { type: "busy" } } }),
      list: record("session.list", { data: [{ id: "ses_1", directory }] }),
    },
    tui: { showToast: record("tui.showToast", { data: true }) },
    _client: { get: record("_client.get", { data: { healthy: true, version } }) },
  };
  return { ctx: { directory, worktree: directory, serverUrl: new URL(serverUrl), client, project: {}, $: null }, calls, client, record };
}
