// The shim's stop-word rule (client/opencode-plugin/src/stop-word.js) against the daemon's own
// matcher (daemon/core/config.c, run through the tests/stop-word helper), so the two cannot drift:
// every character the daemon knows folds into the same classes on both sides, a table of words and
// messages gets the same answers, and no message the daemon would match is longer than the max_len
// it gives the shim, which asks about nothing longer.
//
//   OCSTOP_STOP_WORD_BIN=build/tests/stop-word node --test tests/js/stop-word.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { isStopWord, stopKey, trimSpace, trimWithin } from "../../client/opencode-plugin/src/stop-word.js";

const BIN = process.env.OCSTOP_STOP_WORD_BIN;
const skip = !BIN && "OCSTOP_STOP_WORD_BIN unset";

const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const show = (s) => [...s].map((c) => `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}`).join(" ");

// The daemon's answers for messages against words: { maxLen, matches: [bool] }.
function daemon(words, messages) {
  const r = spawnSync(BIN, ["match", ...words], { input: messages.map((m) => `${hex(m)}\n`).join(""), encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.error, undefined, `stop-word did not run: ${r.error}`);
  assert.equal(r.status, 0, `stop-word ${words.join(" ")}: ${r.stdout}${r.stderr}`);
  const [head, ...lines] = r.stdout.trim().split("\n");
  return { maxLen: Number(/^max_len (\d+)$/.exec(head)[1]), matches: lines.map((l) => l === "1") };
}

// [stop words, message, whether it matches]: the cases of tests/test-config.c and more.
const cases = [
  [["стоп"], "СТОП", true],
  [["стоп"], "Стоп", true],
  [["стоп"], " стоп\n", true],
  [["стоп"], "\u00a0стоп\u3000", true],
  [["стоп"], "\u2028стоп\u0085", true],
  [["стоп"], "\ufeffстоп", false],
  [["стоп"], "стоп!", false],
  [["стоп"], "cтоп", false],
  [["ёж"], "е\u0308ж", true],
  [["ёж"], "ЁЖ", true],
  [["ΣΤΟΠ"], "στοπ", true],
  [["σας"], "ΣΑΣ", true],
  [["σας"], "σασ", true],
  [["ΣΑΣ"], "σας", true],
  [["σσ"], "ςς", true],
  [["άλτ"], "ΆΛΤ", true],
  [["άλτ"], "αλτ", false],
  [["café"], "CAFÉ", true],
  [["café"], "cafe\u0301", true],
  [["cafe\u0301"], "CAFÉ", true],
  [["café"], "cafe", false],
  [["ǖ"], "u\u0308\u0304", true],
  [["ǖ"], "U\u0308\u0304", true],
  [["ǖ"], "Ǖ", true],
  [["ệ"], "e\u0302\u0323", true],
  [["ệ"], "e\u0323\u0302", true],
  [["straße"], "STRASSE", true],
  [["straße"], "STRAẞE", true],
  [["STRASSE"], "Straße", true],
  [["ss"], "ß", true],
  [["ss"], "ẞ", true],
  [["straße"], "strase", false],
  [["i"], "I", true],
  [["i"], "ı", false],
  [["i"], "İ", false],
  [["ı"], "ı", true],
  [["ı"], "I", false],
  [["İ"], "i\u0307", true],
  [["İ"], "I\u0307", true],
  [["İ"], "i", false],
  [["ա"], "Ա", true],
  [["և"], "ԵՒ", true],
  [["ⴀ"], "Ⴀ", true],
  [["ﬃ"], "FFI", true],
  [["k"], "\u212a", true],
  [["Ω"], "\u2126", true],
  [["µ"], "Μ", true],
  [["Ꭰ"], "ꭰ", true],
  [["𐐀"], "𐐨", true],
  [["停"], "停", true],
  [["停"], "停止", false],
  [["x"], "\u{1d465}", false],
  [["x"], "X", true],
  [["x"], " x ", true],
  [["x"], "xx", false],
  [["x"], "", false],
  [["stop", "x"], "STOP", true],
  [["стоп", "x"], "X", true],
  [["x"], `${" \u3000".repeat(150)}x${"\n\u0085".repeat(150)}`, true],
  [["x"], `x${"\u00a0".repeat(500)}x`, false],
];

test("a table of words and messages: the shim, the daemon and the expected answer agree", { skip }, () => {
  for (const [words, text, want] of cases) {
    const d = daemon(words, [text]);
    const what = `${JSON.stringify(words)} ${JSON.stringify(text)} (${show(text)})`;
    assert.equal(d.matches[0], want, `daemon: ${what}`);
    assert.equal(isStopWord(text, words), want, `shim: ${what}`);
    if (want) assert.ok(trimSpace(text).length <= d.maxLen, `${what}: ${trimSpace(text).length} code units > max_len ${d.maxLen}`);
  }
});

test("the words as the daemon sends them (its keys) are the same words to the shim", { skip }, () => {
  for (const [words, text, want] of cases) {
    const keys = words.map((w) => stopKey(w));
    assert.equal(isStopWord(text, keys), want, `${JSON.stringify(keys)} ${JSON.stringify(text)}`);
  }
});

test("the shim trims exactly the runtime's White_Space, whose characters are all in the BMP", () => {
  const space = /^\p{White_Space}$/u;
  const bad = [];
  for (let c = 0; c <= 0x10ffff; c++) {
    const s = String.fromCodePoint(c);
    const want = space.test(s) ? "" : s;
    if (trimSpace(s) !== want || trimSpace(`${s}x${s}`) !== `${want}x${want}`) bad.push(show(s));
  }
  assert.deepStrictEqual(bad, []);
});

// A text that counts which of its code units are read: 1 MiB, its first and last `pad` code units
// spaces, the rest "a". Only length, charCodeAt and slice are there: anything else throws.
function countingText(pad) {
  const length = 1 << 20;
  const read = new Set();
  return {
    read,
    length,
    charCodeAt: (i) => (read.add(i), i < pad || i >= length - pad ? 0x20 : 0x61),
    slice: () => assert.fail("sliced"),
  };
}

test("a text longer than max_len is turned down from its ends: nothing between them is read", () => {
  for (const pad of [0, 3]) {
    const text = countingText(pad);
    assert.equal(trimWithin([text], 8), null);
    const ends = [...Array(pad + 1).keys()];
    assert.deepStrictEqual([...text.read].sort((a, b) => a - b), [...ends, ...ends.map((k) => text.length - pad - 1 + k)]);
  }
  // In parts, as OpenCode gives a message: those in between are not read either.
  const parts = [countingText(2), countingText(0), countingText(1)];
  assert.equal(trimWithin(parts, 8), null);
  assert.deepStrictEqual(parts.map((t) => t.read.size), [3, 0, 2]);
});

test("a message in parts is trimmed as its parts joined, and bounded as that", () => {
  const pieces = ["", " ", "\u3000\n", "x", "ab", " x ", "\u00a0y\u0085"];
  let n = 0;
  for (const a of pieces)
    for (const b of pieces)
      for (const c of pieces)
        for (const d of ["", " ", "z "]) {
          const parts = [a, b, c, d];
          const whole = trimSpace(parts.join(""));
          for (const max of [0, 1, 3, 8, Infinity]) {
            assert.equal(trimWithin(parts, max), whole.length > max ? null : whole, `${JSON.stringify(parts)} within ${max}`);
            n++;
          }
        }
  assert.equal(trimWithin([], 1), "");
  assert.ok(n > 1000);
});

// Every character the daemon's Unicode version assigns, with its key there.
function daemonKeys() {
  const r = spawnSync(BIN, ["keys"], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const cp = (h) => String.fromCodePoint(parseInt(h, 16));
  return r.stdout
    .trim()
    .split("\n")
    .map((line) => {
      const [c, ...key] = line.split(" ");
      return [cp(c), key[0] === "-" ? null : key.length > 0 ? key.map(cp).join("") : cp(c)];
    });
}

test("every character: the shim folds it into the daemon's class, and max_len bounds it", { skip }, () => {
  const rows = daemonKeys();
  assert.ok(rows.length > 100000, `${rows.length} characters`);
  // The classes must be the same: each daemon key has one shim key and the reverse.
  const toShim = new Map();
  const toDaemon = new Map();
  const bad = [];
  let spaces = 0;
  for (const [c, key] of rows) {
    if (key === null) {
      spaces++;
      assert.equal(trimSpace(c), "", `${show(c)}: the daemon calls it whitespace`);
      continue;
    }
    if (trimSpace(c) !== c) bad.push(`${show(c)}: the shim trims it, the daemon does not`);
    for (const s of [c, key]) {
      const mine = stopKey(s);
      if ((toShim.get(key) ?? mine) !== mine) bad.push(`${show(s)}: the shim splits the daemon's class of ${show(key)}`);
      if ((toDaemon.get(mine) ?? key) !== key) bad.push(`${show(s)}: the shim joins ${show(key)} and ${show(toDaemon.get(mine))}`);
      toShim.set(key, mine);
      toDaemon.set(mine, key);
    }
    // What the shim counts of a message that matches this character alone, against the bound the
    // daemon gives (its key decomposed, in bytes).
    if (c.length > Buffer.byteLength(key.normalize("NFD"))) bad.push(`${show(c)} is longer than max_len`);
  }
  assert.deepStrictEqual(bad.slice(0, 20), []);
  assert.ok(spaces >= 20 && spaces < 40, `${spaces} whitespace characters`);
});

test("max_len is what the daemon says it is", { skip }, () => {
  assert.equal(daemon(["ǖ"], []).maxLen, 5);
  assert.equal(daemon(["x", "стоп"], []).maxLen, 8);
});
