// The shim's module tests again, in the runtime the shim runs in: the Bun that OpenCode 1.18.33
// embeds, reached through the opencode binary with BUN_BE_BUN=1 and run by `bun test`. There the
// link uses the real Bun.connect (node has only a stand-in) and main.test.mjs loads the built
// ocstop.js itself. Skipped when OpenCode is not installed (tests/setup.sh installs it).
//
//   node --test tests/js/bun.test.mjs        (OPENCODE_BIN=... to name the binary)
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OC_VERSION = "1.18.33";
const BUN_VERSION = "1.3.14";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

// Where tests/setup.sh puts it (tests/lib/oc.sh looks in the same places).
function opencodeBinary() {
  if (process.env.OPENCODE_BIN) return process.env.OPENCODE_BIN;
  const dir = join(process.env.OCSTOP_CACHE || join(homedir(), ".cache", "ocstop"), `opencode-${OC_VERSION}`, "node_modules");
  return [join(dir, "opencode-linux-x64", "bin", "opencode"), join(dir, "opencode-linux-x64-baseline", "bin", "opencode")].find(existsSync);
}

const OC = opencodeBinary();
const skip = !OC && `OpenCode ${OC_VERSION} is not installed (tests/setup.sh)`;
const bun = (args) => spawnSync(OC, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, BUN_BE_BUN: "1" }, timeout: 120000 });

test(`the opencode binary is Bun ${BUN_VERSION} with BUN_BE_BUN=1`, { skip }, () => {
  const r = bun(["--version"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), BUN_VERSION);
});

for (const file of ["codec", "socket-path", "stop-word", "link", "relay", "block", "toast", "forget", "fence", "marker", "main", "trust", "bundle"]) {
  test(`${file}.test.mjs passes under OpenCode's Bun`, { skip }, () => {
    const r = bun(["test", "--timeout", "20000", `./tests/js/${file}.test.mjs`]);
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) for (const line of out.split("\n")) console.log(`# ${line}`);
    assert.equal(r.status, 0, `bun test ${file}.test.mjs failed`);
    const pass = Number(/^\s*(\d+) pass$/m.exec(out)?.[1] ?? 0);
    assert.ok(pass > 0, "tests ran");
    assert.match(out, /^\s*0 fail$/m);
    assert.doesNotMatch(out, /^\(skip\)/m, "nothing skipped");
  });
}
