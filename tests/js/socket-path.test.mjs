// The shim's socket path (client/opencode-plugin/src/socket-path.js) against the C rule the daemon
// and the CLI use (proto/paths.c, printed by the tests/socket-path helper), under the same
// environments: the same path, or an error from both. And the trust rule for the socket's directory,
// on real directories of every kind: the same verdict from both.
//
//   OCSTOP_SOCKET_PATH_BIN=build/tests/socket-path node --test tests/js/socket-path.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { socketDir, socketDirRefusal, socketPath } from "../../client/opencode-plugin/src/socket-path.js";
import { tempDir } from "./helpers.mjs";

const BIN = process.env.OCSTOP_SOCKET_PATH_BIN;
const uid = process.getuid();

// The C rule's answer: { path } or { error }.
function cRule(env) {
  const r = spawnSync(BIN, { env, encoding: "utf8" });
  assert.equal(r.error, undefined, `socket-path did not run: ${r.error}`);
  const out = r.stdout.replace(/\n$/, "");
  if (r.status === 0) return { path: out };
  assert.equal(r.status, 1, `socket-path exit ${r.status}: ${r.stderr}`);
  assert.match(out, /^error: /);
  return { error: out.slice("error: ".length) };
}

function jsRule(env) {
  try {
    return { path: socketPath(env, uid) };
  } catch (e) {
    return { error: e.message };
  }
}

const bytes = (s) => Buffer.byteLength(s);
const fill = (prefix, total, suffix = "") => prefix + "a".repeat(total - bytes(prefix) - bytes(suffix)) + suffix;
const TMP = `/tmp/ocstop-${uid}/ocstop.sock`;
const SUB = "/ocstop/ocstop.sock";

// [what, environment, what both must say: a path, or null for an error]
const cases = [
  ["nothing set", {}, TMP],
  ["OCSTOP_SOCKET", { OCSTOP_SOCKET: "/run/ocstop/d.sock" }, "/run/ocstop/d.sock"],
  ["OCSTOP_SOCKET before XDG_RUNTIME_DIR", { OCSTOP_SOCKET: "/srv/o.sock", XDG_RUNTIME_DIR: "/run/user/1000" }, "/srv/o.sock"],
  ["OCSTOP_SOCKET taken as it is", { OCSTOP_SOCKET: "/a//b/../c sock/" }, "/a//b/../c sock/"],
  ["OCSTOP_SOCKET of a single /", { OCSTOP_SOCKET: "/" }, "/"],
  ["OCSTOP_SOCKET empty counts as unset", { OCSTOP_SOCKET: "", XDG_RUNTIME_DIR: "/run/user/1000" }, `/run/user/1000${SUB}`],
  ["OCSTOP_SOCKET empty, nothing else", { OCSTOP_SOCKET: "" }, TMP],
  ["OCSTOP_SOCKET relative", { OCSTOP_SOCKET: "ocstop.sock" }, null],
  ["OCSTOP_SOCKET relative with ./", { OCSTOP_SOCKET: "./ocstop.sock", XDG_RUNTIME_DIR: "/run/user/1000" }, null],
  ["OCSTOP_SOCKET with a tilde", { OCSTOP_SOCKET: "~/ocstop.sock" }, null],
  ["OCSTOP_SOCKET a space then absolute", { OCSTOP_SOCKET: " /tmp/o.sock" }, null],
  ["OCSTOP_SOCKET only a space", { OCSTOP_SOCKET: " " }, null],
  ["XDG_RUNTIME_DIR", { XDG_RUNTIME_DIR: "/run/user/1000" }, `/run/user/1000${SUB}`],
  ["XDG_RUNTIME_DIR with a trailing slash", { XDG_RUNTIME_DIR: "/run/user/1000/" }, `/run/user/1000/${SUB}`],
  ["XDG_RUNTIME_DIR of /", { XDG_RUNTIME_DIR: "/" }, `/${SUB}`],
  ["XDG_RUNTIME_DIR relative is ignored", { XDG_RUNTIME_DIR: "run/user/1000" }, TMP],
  ["XDG_RUNTIME_DIR . is ignored", { XDG_RUNTIME_DIR: "." }, TMP],
  ["XDG_RUNTIME_DIR empty is ignored", { XDG_RUNTIME_DIR: "" }, TMP],
  ["both empty", { OCSTOP_SOCKET: "", XDG_RUNTIME_DIR: "" }, TMP],
  ["OCSTOP_SOCKET of 107 bytes", { OCSTOP_SOCKET: fill("/", 107) }, fill("/", 107)],
  ["OCSTOP_SOCKET of 108 bytes", { OCSTOP_SOCKET: fill("/", 108) }, null],
  ["OCSTOP_SOCKET of 4000 bytes", { OCSTOP_SOCKET: fill("/", 4000) }, null],
  ["XDG_RUNTIME_DIR making 107 bytes", { XDG_RUNTIME_DIR: fill("/", 107 - SUB.length) }, fill("/", 107 - SUB.length) + SUB],
  ["XDG_RUNTIME_DIR making 108 bytes", { XDG_RUNTIME_DIR: fill("/", 108 - SUB.length) }, null],
  ["a too long XDG_RUNTIME_DIR is not passed over for /tmp", { XDG_RUNTIME_DIR: fill("/", 300) }, null],
  ["a too long relative XDG_RUNTIME_DIR is ignored", { XDG_RUNTIME_DIR: fill("r", 300) }, TMP],
  ["a too long relative OCSTOP_SOCKET is still relative", { OCSTOP_SOCKET: fill("r", 300) }, null],
  // Bytes, not characters: 1 + 53 * 2 = 107 bytes in 54 characters; one more é is 109 bytes in 55.
  ["OCSTOP_SOCKET of 107 bytes in fewer characters", { OCSTOP_SOCKET: "/" + "é".repeat(53) }, "/" + "é".repeat(53)],
  ["OCSTOP_SOCKET of 109 bytes in 55 characters", { OCSTOP_SOCKET: "/" + "é".repeat(54) }, null],
  ["OCSTOP_SOCKET of 107 bytes with 4-byte characters", { OCSTOP_SOCKET: "/ab" + "😀".repeat(26) }, "/ab" + "😀".repeat(26)],
  ["OCSTOP_SOCKET of 108 bytes with 4-byte characters", { OCSTOP_SOCKET: "/abc" + "😀".repeat(26) }, null],
  ["XDG_RUNTIME_DIR of 88 bytes in 45 characters", { XDG_RUNTIME_DIR: "/" + "é".repeat(43) + "a" }, "/" + "é".repeat(43) + "a" + SUB],
  ["XDG_RUNTIME_DIR of 89 bytes in 45 characters", { XDG_RUNTIME_DIR: "/" + "é".repeat(44) }, null],
];

test("the cases are what they say", () => {
  assert.equal(bytes(fill("/", 107)), 107);
  assert.equal(bytes("/" + "é".repeat(53)), 107);
  assert.equal(bytes("/ab" + "😀".repeat(26)), 107);
  assert.equal(bytes("/" + "é".repeat(43) + "a" + SUB), 107);
});

for (const [what, env, want] of cases) {
  test(`${what}: the shim and proto/paths.c agree`, { skip: !BIN && "OCSTOP_SOCKET_PATH_BIN unset" }, () => {
    const c = cRule(env);
    const js = jsRule(env);
    assert.equal("error" in js, "error" in c, `C says ${JSON.stringify(c)}, the shim ${JSON.stringify(js)}`);
    assert.equal(js.path, c.path);
    assert.deepStrictEqual(js.path ?? null, want, "and both say what the rule says");
  });
}

test("the shim alone: the rule without the C side", () => {
  for (const [what, env, want] of cases) {
    const js = jsRule(env);
    if (want === null) assert.ok(js.error, `${what}: an error`);
    else assert.equal(js.path, want, what);
  }
  assert.equal(jsRule({ OCSTOP_SOCKET: "rel" }).error, "OCSTOP_SOCKET must be an absolute path");
  assert.match(jsRule({ OCSTOP_SOCKET: fill("/", 108) }).error, /too long/);
  // Unrelated variables play no part; nor does a non-string value (process.env holds only strings).
  assert.equal(socketPath({ HOME: "/root", OCSTOP_SOCKET_X: "/x" }, 7), "/tmp/ocstop-7/ocstop.sock");
});

// The trust rule. [what, make(base): the socket path to judge, made under base; root-only?]
const tmp = tempDir();
after(() => tmp.cleanup());
let made = 0;
const madeDir = (mode) => {
  const dir = `${tmp.dir}/d${++made}`;
  mkdirSync(dir);
  chmodSync(dir, mode);
  return `${dir}/ocstop.sock`;
};
const dirCases = [
  ["a private directory (0700)", () => madeDir(0o700)],
  ["a private read-only directory (0500)", () => madeDir(0o500)],
  ["a directory others may enter (0711)", () => madeDir(0o711)],
  ["a directory others may read (0755)", () => madeDir(0o755)],
  ["a directory the group may write (0770)", () => madeDir(0o770)],
  ["a directory only others may enter (0701)", () => madeDir(0o701)],
  ["a sticky directory anyone may write (1777)", () => madeDir(0o1777)],
  ["a link to a private directory", () => {
    const target = madeDir(0o700).replace(/\/ocstop\.sock$/, "");
    symlinkSync(target, `${target}-link`);
    return `${target}-link/ocstop.sock`;
  }],
  ["a file where the directory should be", () => {
    writeFileSync(`${tmp.dir}/file${++made}`, "");
    return `${tmp.dir}/file${made}/ocstop.sock`;
  }],
  ["the root directory", () => "/ocstop.sock"],
  ["a private directory of another user", () => {
    const sock = madeDir(0o700);
    chownSync(sock.replace(/\/ocstop\.sock$/, ""), 65534, 65534);
    return sock;
  }, true],
];

for (const [what, make, needsRoot] of dirCases) {
  const skip = (!BIN && "OCSTOP_SOCKET_PATH_BIN unset") || (needsRoot && process.geteuid() !== 0 && "needs root");
  test(`socket directory: ${what}: the shim and proto/paths.c agree`, { skip }, () => {
    const sock = make();
    const r = spawnSync(BIN, [sock], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const dir = socketDir(sock);
    const js = `${dir} ${socketDirRefusal(lstatSync(dir), process.geteuid()) ?? "ok"}`;
    assert.equal(js, r.stdout.replace(/\n$/, ""));
  });
}

test("the directory part of a socket path", () => {
  assert.equal(socketDir("/tmp/ocstop-0/ocstop.sock"), "/tmp/ocstop-0");
  assert.equal(socketDir("/x.sock"), "/");
  assert.equal(socketDir("x.sock"), ".");
  assert.equal(socketDir("a/b"), "a");
});
