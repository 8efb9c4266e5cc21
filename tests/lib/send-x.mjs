// send-x.mjs URL PASSWORD DIR SESSION [TEXT] — send TEXT (default "x") as a user message with
// prompt_async and print the milliseconds until OpenCode reports the session idle (or "timeout").
const [url, password, dir, session, text = "x"] = process.argv.slice(2);
const auth = password ? { authorization: "Basic " + Buffer.from(`opencode:${password}`).toString("base64") } : {};
const now = () => Number(process.hrtime.bigint()) / 1e6;
const res = await fetch(`${url}/global/event`, { headers: auth });
const reader = res.body.getReader();
const dec = new TextDecoder();
let buf = "", t0 = 0;
const deadline = setTimeout(() => { console.log("timeout"); process.exit(1); }, 10000);
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  buf += dec.decode(value, { stream: true });
  let i;
  while ((i = buf.indexOf("\n\n")) >= 0) {
    const frame = buf.slice(0, i); buf = buf.slice(i + 2);
    const ev = JSON.parse(frame.slice(6)).payload;
    if (ev.type === "server.connected" && !t0) {
      t0 = now();
      const r = await fetch(`${url}/session/${session}/prompt_async`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json", "x-opencode-directory": encodeURIComponent(dir) },
        body: JSON.stringify({ parts: [{ type: "text", text }] }),
      });
      if (r.status !== 204) { console.log(`prompt_async ${r.status}`); process.exit(1); }
    }
    if (t0 && ev.type === "session.idle" && ev.properties.sessionID === session) {
      clearTimeout(deadline);
      console.log((now() - t0).toFixed(0));
      process.exit(0);
    }
  }
}
