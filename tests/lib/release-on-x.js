// release-on-x.js — an OpenCode plugin for tests/integration/x-fences.sh, installed before the
// shim (OpenCode runs the chat.message hooks in the order it loads the plugins, by file name). When
// the user's message is "x" it asks the fake model (FAKE_URL) to complete the tool calls it holds
// RELEASE_MS later: while the shim decides the x, before OpenCode's abort can end the turn. It does
// not wait for the answer, so the shim's hook runs at once.
const RELEASE_MS = 20;

export const ReleaseOnX = async () => ({
  "chat.message": async (_input, output) => {
    const text = (output?.parts ?? []).map((p) => (p?.type === "text" && !p.synthetic ? p.text : "")).join("");
    if (text.trim() !== "x" || !process.env.FAKE_URL) return;
    fetch(`${process.env.FAKE_URL}/__release?at=${Date.now() + RELEASE_MS}`, { method: "POST" }).catch(() => {});
  },
});
