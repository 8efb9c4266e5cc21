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
export function detachedPrompt() {
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
export function endPrompt(fiber) {
  try {
    fiber.interruptUnsafe();
    return fiber.pollUnsafe() !== undefined;
  } catch {
    return false;
  }
}

// toast (a string, {text, variant}, or a promise of either) addressed to session, as Kimaki's
// plugins address theirs.
export function addressed(toast, session) {
  return Promise.resolve(toast).then((t) => (typeof t === "string" ? `${t} ${session}` : { ...t, text: `${t.text} ${session}` }));
}
