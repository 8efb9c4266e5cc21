// forget.js: a blocked message leaves the screens that showed it before it was sent.
//
// OpenCode's web UI puts a typed message into the conversation as Enter is pressed, and takes it
// out only when its request fails or OpenCode announces message.removed for it. prompt_async
// answers 204 before chat.message runs, so a blocked x would stay on the page, under the stopped
// reply, until a reload. Deleting the message, which was never saved, removes nothing but makes
// OpenCode announce message.removed, and the web UI drops it. (The TUI shows a message only once
// saved.)

import { CLIENT_TIMEOUT_MS, later, withTimeout } from "./timers.js";

// OpenCode refuses to delete while the session is busy (409): the stopped turn takes 10-150 ms
// to end, so the delete is first tried after FORGET_RETRY_MS and then again, FORGET_TRIES times
// in all.
export const FORGET_RETRY_MS = 100;
export const FORGET_TRIES = 10;

// Starts forgetting messageID of sessionID, in the background: the stop never waits for it.
export function forgetMessage(ctx, sessionID, messageID) {
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
