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

import { Link } from "./link.js";
import { socketPath, socketRefusal } from "./socket-path.js";
import { answer, slimEvent } from "./relay.js";
import { chatMessageHook } from "./block.js";
import { Toasts } from "./toast.js";
import { CLIENT_TIMEOUT_MS, withTimeout } from "./timers.js";
import { binaryVersion, printsThrownErrors, quietError, shownDirectory } from "./compat.js";
import { Fences } from "./fence.js";
import { shellEnvHook } from "./marker.js";

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
export function createPlugin({ dial, env, lstat = lstatOf }) {
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

export const OcStop = createPlugin({ dial: (options) => Bun.connect(options), env: process.env });
