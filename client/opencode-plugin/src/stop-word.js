// stop-word.js: what counts as a stop word, by the daemon's rule (daemon/core/config.h): the
// message, trimmed of Unicode White_Space, equals a stop word under Unicode full case folding and
// canonical equivalence. tests/js/stop-word.test.mjs holds this to the daemon's own matcher, for
// every character and a table of words.

// Unicode's White_Space (String.prototype.trim() also strips U+FEFF, which is none, and keeps
// U+0085, which is one). Each is one UTF-16 code unit, none being past U+FFFF, so a text's edges are
// found code unit by code unit; tests/js/stop-word.test.mjs holds this to the runtime's
// \p{White_Space} and to the daemon's.
function isSpace(c) {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return c === 0x85 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000;
}

// The texts, joined, without their leading and trailing White_Space; null when that is longer than
// maxLen code units. Only the spaces at the two ends are read and only the lengths of the texts in
// between, so a long message costs what a short one does: neither a regular expression over the
// whole (3 ms a MiB) nor a join, which the runtime copies into one string on the first read.
export function trimWithin(texts, maxLen) {
  let first = 0;
  let start = 0;
  for (; first < texts.length; first++, start = 0) {
    const t = texts[first];
    while (start < t.length && isSpace(t.charCodeAt(start))) start++;
    if (start < t.length) break;
  }
  if (first === texts.length) return "";
  // Some text from `first` on has a code unit that is no space: this stops there at the latest.
  let last = texts.length - 1;
  let end;
  for (; ; last--) {
    const t = texts[last];
    end = t.length;
    while (end > 0 && isSpace(t.charCodeAt(end - 1))) end--;
    if (end > 0) break;
  }
  if (first === last) return end - start > maxLen ? null : texts[first].slice(start, end);
  let length = texts[first].length - start + end;
  for (let k = first + 1; k < last && length <= maxLen; k++) length += texts[k].length;
  if (length > maxLen) return null;
  return texts[first].slice(start) + texts.slice(first + 1, last).join("") + texts[last].slice(0, end);
}

export function trimSpace(text) {
  return trimWithin([text], Infinity);
}

// JavaScript has no case folding. Lower, upper, lower again joins what Unicode's full folding
// joins (ß, ẞ and "ss" meet in "ss", ligatures come apart, ϐ meets β, σ and ς meet in what the
// last lowercasing makes of Σ) but for the dotless ı, which folds to itself and would become i.
// The keys differ from the daemon's (its are folded, Cherokee to capitals); what is equal is not.
export function stopKey(text) {
  return text
    .normalize("NFD")
    .split("ı")
    .map((s) => s.toLowerCase().toUpperCase().toLowerCase())
    .join("ı")
    .normalize("NFC");
}

export function isStopWord(text, words) {
  const key = stopKey(trimSpace(text));
  return key !== "" && words.some((w) => stopKey(w) === key);
}
