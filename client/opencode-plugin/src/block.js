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

import { addressed, detachedPrompt, endPrompt } from "./detached.js";
import { isStopWord, trimWithin } from "./stop-word.js";
import { CLIENT_TIMEOUT_MS, withTimeout } from "./timers.js";
import { NO_DAEMON, outcomeToast, unverifiedToast } from "./toast.js";
import { forgetMessage } from "./forget.js";
import { shownDirectory } from "./compat.js";
import { Fences } from "./fence.js";

export const DEFAULT_STOP_WORD = "x";
// chat.message blocks the user's Enter; past this the daemon is treated as absent for this message.
export const VERDICT_DEADLINE_MS = 50;

const RESPONSE_TYPE_KEY = "~effect/http/HttpServerResponse";
const FALLBACK_NAME = "ConfigFrontmatterError";
const EMPTY_JSON = new TextEncoder().encode("{}");

export function blockError(message) {
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
export async function abortSession(ctx, id, env) {
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
export function chatMessageHook({ request, notify = () => {}, connected = () => false, toasts, env, fences = new Fences() }) {
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
