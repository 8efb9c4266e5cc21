// compat.js: what OpenCode versions older than the one the shim is written against need from it
// (tests/compat.sh runs them; README.md lists the versions).

// OpenCode 1.0's client URL-encodes the directory it sends, and the server makes a plugin instance
// for that string as it is ("%2Ftmp%2Fproj"). The daemon and its users are told the directory it
// names.
export function shownDirectory(dir) {
  if (typeof dir !== "string" || dir.includes("/") || !/%2f/i.test(dir)) return dir;
  try {
    const decoded = decodeURIComponent(dir);
    return decoded.startsWith("/") ? decoded : dir;
  } catch {
    return dir;
  }
}

// The instance of directory dir among instances (directory -> instance), also where OpenCode
// named it URL-encoded.
export function instanceFor(instances, dir) {
  const inst = instances.get(dir);
  if (inst !== undefined) return inst;
  for (const [key, other] of instances) if (shownDirectory(key) === dir) return other;
  return undefined;
}

// The version of the OpenCode binary at execPath, where /global/health does not tell it (before
// 1.1): that of the npm package it came in (.../opencode-linux-x64/bin/opencode beside
// .../opencode-linux-x64/package.json); asking the binary itself takes seconds on 1.0. read(path):
// a promise of the file's text. "" for any other program (the shim's tests run under node), any
// other install, any failure.
export async function binaryVersion(execPath, read) {
  const m = /^(.*\/)bin\/opencode[^/]*$/.exec(execPath ?? "");
  if (!m) return "";
  try {
    const pkg = JSON.parse(await read(`${m[1]}package.json`));
    const ok = typeof pkg?.name === "string" && pkg.name.startsWith("opencode") && /^\d+\.\d+\.\d+\S*$/.test(pkg.version);
    return ok ? pkg.version : "";
  } catch {
    return "";
  }
}

// Before 1.15 the TUI also prints what chat.message throws on its terminal, over its screen, the
// way Bun inspects an error: the source lines where it was made, its message and every enumerable
// field (the forged response's). Unknown versions ("") are taken for current ones.
export function printsThrownErrors(version) {
  const m = /^(\d+)\.(\d+)\./.exec(version ?? "");
  return m !== null && (Number(m[1]) < 1 || (Number(m[1]) === 1 && Number(m[2]) < 15));
}

// err as such a version should print it: one line, the sentence itself ("ocstop: stopped (x)", where
// Bun would print "error: <sentence>" for an Error named Error). What gets printed is an error made
// without frames, named by the sentence's head, with no field of its own; every read and `in` test
// goes to err, so OpenCode handles it exactly as it would err.
export function quietError(err) {
  const text = String(err?.message ?? err);
  const [, head, rest] = /^([^\s:]+): (.+)$/s.exec(text) ?? [];
  const limit = Error.stackTraceLimit;
  let shown;
  Error.stackTraceLimit = 0;
  try {
    shown = new Error(head ? rest : text);
  } finally {
    Error.stackTraceLimit = limit;
  }
  // Configurable: a proxy may answer reads of a configurable property with another value.
  if (head) Object.defineProperty(shown, "name", { value: head, configurable: true, writable: true });
  Object.defineProperty(shown, "stack", { value: head ? text : `Error: ${text}`, configurable: true, writable: true });
  return new Proxy(shown, {
    has: (_, key) => Reflect.has(err, key),
    get: (_, key) => Reflect.get(err, key),
  });
}
