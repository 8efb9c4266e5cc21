// webui.mjs CHROMIUM DRIVER URL DIRECTORY — OpenCode's web UI (served by `opencode serve` at
// URL) in headless Chromium, driven as a person would, one request a line on stdin:
//   prompt TEXT   type TEXT in the prompt box and press Enter; wait until the reply streams (3
//                 "tick N" shown, within 60 s). Answers the milliseconds from Enter to its first text.
//   type TEXT     type TEXT and press Enter, nothing more. Answers "ok".
//   stop          click the web app's own stop button (the send button while a reply runs). "ok".
//   stopped       wait (60 s at most) for the page to mark the turn interrupted. Answers the
//                 milliseconds from the last Enter or click to that mark, and the last streamed
//                 text then.
//   state         one JSON line: what the page shows now and its session's id (see pageState), and
//                 "sent": the page's POST requests so far, as "PATH TEXT" (TEXT: the text parts).
//   shot FILE     a PNG of the page in FILE. Answers "ok".
// Each answer is one line; a failure is "error: WHY". Prints "ready" once the new-session page of
// DIRECTORY can take a prompt; ends Chromium when stdin closes. CHROMIUM: the browser's path;
// DRIVER: playwright-core's index.mjs (tests/setup.sh --print-browser gives both).
//
// The selectors are the web app's own data attributes (OpenCode 1.18.33's packages/app): the prompt
// box, the timeline's rows (user messages, assistant text, the "Interrupted" divider) and toasts.
import readline from "node:readline";

const [chromiumPath, driver, url, directory] = process.argv.slice(2);
if (!directory) {
  console.error("usage: webui.mjs CHROMIUM DRIVER URL DIRECTORY");
  process.exit(2);
}
const { chromium } = await import(driver);

const PROMPT_BOX = '[data-component="prompt-input"][contenteditable="true"]';
const STOP_BUTTON = '[data-action="prompt-submit"][data-icon="stop"]';
// The model picker names a model once the app has loaded the providers: before that, Enter sends
// nothing.
const MODEL_PICKER = '[data-action="prompt-model"]';
// Generous: on a busy small machine headless Chromium can draw a reply seconds after it streams.
const STREAM_WAIT_MS = 60000;

// In the page: the time of every Enter pressed and every press of the send/stop button, and a log of what the timeline shows each time it
// changes, stamped with the page's clock, so that latencies are measured where the person sees them.
function instrument() {
  const log = (window.__ocstop = { acts: [], changes: [], sounds: 0 });
  // The app's sounds: by default one when a turn ends, another for every session.error.
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    log.sounds++;
    return play.call(this);
  };
  const act = () => log.acts.push(performance.now());
  document.addEventListener("keydown", (e) => e.key === "Enter" && act(), true);
  document.addEventListener("pointerdown", (e) => e.target.closest?.('[data-action="prompt-submit"]') && act(), true);
  let last = "";
  const look = () => {
    const ticks = [...document.querySelectorAll('[data-timeline-row="AssistantPart"]')]
      .map((r) => r.innerText.match(/tick \d+/g) ?? [])
      .flat();
    const stops = document.querySelectorAll('[data-timeline-row="TurnDivider"]').length;
    const key = `${ticks.length} ${stops}`;
    if (key === last) return;
    last = key;
    log.changes.push({ t: performance.now(), ticks: ticks.length, lastTick: ticks.at(-1) ?? "", stops });
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, characterData: true });
}

// What the page shows: the streamed ticks, the stops marked, the user messages' texts, the toasts,
// how many sounds it played and any text that reads as an error.
function pageState() {
  const texts = (sel) => [...document.querySelectorAll(sel)].map((e) => e.innerText.trim());
  const ticks = texts('[data-timeline-row="AssistantPart"]').join(" ").match(/tick \d+/g) ?? [];
  return {
    session: /\/session\/(ses_\w+)/.exec(location.pathname)?.[1] ?? "",
    ticks: ticks.length,
    lastTick: ticks.at(-1) ?? "",
    stops: texts('[data-timeline-row="TurnDivider"]'),
    userMessages: texts('[data-timeline-row="UserMessage"] [data-slot="user-message-text"]'),
    toasts: texts('[data-component="toast"]'),
    sounds: window.__ocstop.sounds,
    errors: document.body.innerText.split("\n").filter((l) => /error|failed|ocstop/i.test(l)),
  };
}

const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1100, height: 560 } });
await page.addInitScript(instrument);
const sent = [];
page.on("request", (r) => {
  if (r.method() !== "POST") return;
  let text = "";
  try {
    text = (JSON.parse(r.postData() ?? "").parts ?? []).map((p) => p.text ?? "").join("");
  } catch {}
  sent.push(`${new URL(r.url()).pathname} ${text}`.trim());
});
await page.goto(`${url}/${Buffer.from(directory).toString("base64url")}`);
const box = page.locator(PROMPT_BOX);
await box.waitFor({ timeout: STREAM_WAIT_MS });
await page.waitForFunction((sel) => document.querySelector(sel)?.innerText.trim(), MODEL_PICKER, { timeout: STREAM_WAIT_MS });

const log = () => page.evaluate(() => window.__ocstop);

async function type(text) {
  await box.click();
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function prompt(text) {
  const before = (await page.evaluate(pageState)).ticks;
  await type(text);
  await page.waitForFunction((n) => window.__ocstop.changes.at(-1)?.ticks >= n + 3, before, { timeout: STREAM_WAIT_MS });
  const { acts, changes } = await log();
  const act = acts.at(-1);
  const first = changes.find((c) => c.t > act && c.ticks > before);
  return String(Math.round(first.t - act));
}

async function stopped() {
  const { acts, changes } = await log();
  const act = acts.at(-1);
  const before = changes.findLast((c) => c.t <= act)?.stops ?? 0;
  const marked = ([t, n]) => window.__ocstop.changes.some((c) => c.t > t && c.stops > n);
  await page.waitForFunction(marked, [act, before], { timeout: STREAM_WAIT_MS });
  const mark = (await log()).changes.find((c) => c.t > act && c.stops > before);
  return `${Math.round(mark.t - act)} ${mark.lastTick.replace(" ", "_") || "none"}`;
}

async function serve(line) {
  const m = /^(prompt|type|stop|stopped|state|shot)(?: (.*))?$/.exec(line);
  if (!m) throw new Error(`not a request: ${line}`);
  const [, verb, arg] = m;
  if ((verb === "prompt" || verb === "type" || verb === "shot") && !arg) throw new Error(`${verb} wants an argument`);
  if (verb === "prompt") return prompt(arg);
  if (verb === "type") return type(arg).then(() => "ok");
  if (verb === "stop") return page.locator(STOP_BUTTON).click().then(() => "ok");
  if (verb === "stopped") return stopped();
  if (verb === "state") return JSON.stringify({ ...(await page.evaluate(pageState)), sent });
  return page.screenshot({ path: arg }).then(() => "ok");
}

console.log("ready");
for await (const line of readline.createInterface({ input: process.stdin })) {
  console.log(await serve(line).catch((e) => `error: ${e.message.split("\n")[0]}`));
}
await browser.close();
