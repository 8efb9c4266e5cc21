// stop-word.js: what counts as a stop word, by the daemon's rule (daemon/core/config.h): the
// message, trimmed of Unicode White_Space, equals a stop word under Unicode full case folding and
// canonical equivalence. tests/js/stop-word.test.mjs holds this to the daemon's own matcher, for
// every character and a table of words.

const EDGE_SPACE = /^\p{White_Space}+|\p{White_Space}+$/gu;

// String.prototype.trim() also strips U+FEFF, which is no White_Space, and keeps U+0085, which is.
export function trimSpace(text) {
  return text.replace(EDGE_SPACE, "");
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
