// events.mjs — one reader of OpenCode's /global/event for a whole run (tests and benchmarks).
//
//   const ev = openEvents(url, headers); await ev.up;
//   const at = await ev.waitEvent((e) => e.type === "session.idle" && sessionOf(e) === id, 10000);
//
// waitEvent resolves with the time (now(), ms) the first matching event arrived after the call, and
// rejects after ms without one. A subscriber is live only some time after server.connected (OpenCode
// can drop the events of the first moments): wait for an event of the session concerned, e.g. a
// streamed part, before timing anything. onEvent, when given, is called with (event, time, directory)
// for every event, before the waiters.
export const now = () => Number(process.hrtime.bigint()) / 1e6;
export const sessionOf = (ev) => ev.properties?.sessionID ?? ev.properties?.info?.id ?? ev.properties?.part?.sessionID;
export const isIdle = (id) => (ev) => ev.type === "session.idle" && sessionOf(ev) === id;
export const isDelta = (id) => (ev) => ev.type === "message.part.delta" && sessionOf(ev) === id;

export function openEvents(url, headers, onEvent) {
  const waiters = [];
  let connected, failed;
  const up = new Promise((resolve, reject) => ((connected = resolve), (failed = reject)));
  (async () => {
    const res = await fetch(`${url}/global/event`, { headers });
    if (!res.ok) throw new Error(`/global/event: HTTP ${res.status}`);
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of res.body) {
      const t = now();
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (!frame.startsWith("data: ")) continue;
        const { payload: ev, directory } = JSON.parse(frame.slice(6));
        if (ev?.type === "server.connected") connected();
        onEvent?.(ev, t, directory);
        for (const w of [...waiters]) if (w.match(ev)) w.done(t);
      }
    }
    throw new Error("/global/event ended");
  })().catch((e) => {
    failed(e);
    for (const w of [...waiters]) w.fail(e);
  });
  function waitEvent(match, ms = 30000) {
    return new Promise((resolve, reject) => {
      const w = { match };
      const timer = setTimeout(() => w.fail(new Error(`no such event within ${ms} ms`)), ms);
      const drop = () => { clearTimeout(timer); const i = waiters.indexOf(w); if (i >= 0) waiters.splice(i, 1); };
      w.done = (t) => { drop(); resolve(t); };
      w.fail = (e) => { drop(); reject(e); };
      waiters.push(w);
    });
  }
  return { up, waitEvent };
}
