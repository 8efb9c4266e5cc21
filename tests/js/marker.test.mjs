// The shim's marker (client/opencode-plugin/src/marker.js): the environment of every shell a tool
// starts names its session (and call), so ocstopd can find the processes a stopped tree left; a
// shell of no session (OpenCode's terminal) and ids OpenCode never makes get nothing.
//
//   node --test tests/js/marker.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { shellEnvHook, MARKER_SESSION, MARKER_CALL } from "../../client/opencode-plugin/src/marker.js";

// As OpenCode 1.18.33 calls it: the hook fills output.env, which is laid over process.env.
async function envOf(input) {
  const output = { env: {} };
  await shellEnvHook(input, output);
  return output.env;
}

test("a tool's shell carries its session and call", async () => {
  assert.deepStrictEqual(await envOf({ cwd: "/p", sessionID: "ses_1a2B", callID: "call_9-x" }), {
    [MARKER_SESSION]: "ses_1a2B",
    [MARKER_CALL]: "call_9-x",
  });
  assert.deepStrictEqual(await envOf({ cwd: "/p", sessionID: "ses_1" }), { [MARKER_SESSION]: "ses_1" });
});

test("a terminal of no session, and ids that are not OpenCode's, get no marker", async () => {
  assert.deepStrictEqual(await envOf({ cwd: "/p" }), {});
  assert.deepStrictEqual(await envOf({ cwd: "/p", sessionID: "ses 1; rm -rf" }), {});
  assert.deepStrictEqual(await envOf({ cwd: "/p", sessionID: "s".repeat(129) }), {});
  assert.deepStrictEqual(await envOf({ cwd: "/p", sessionID: "ses_1", callID: "a\nb" }), { [MARKER_SESSION]: "ses_1" });
  const output = {};
  await shellEnvHook({ sessionID: "ses_1" }, output);
  assert.deepStrictEqual(output, {}, "no env object: nothing is made up");
});

test("what another plugin set stays, and the marker reaches a detached grandchild", async () => {
  const output = { env: { OTHER: "kept" } };
  await shellEnvHook({ cwd: "/", sessionID: "ses_2", callID: "call_2" }, output);
  assert.equal(output.env.OTHER, "kept");
  const r = spawnSync("sh", ["-c", 'setsid sh -c "cat /proc/\\$\\$/environ" | tr "\\0" "\\n"'], { env: { ...process.env, ...output.env }, encoding: "utf8" });
  assert.ok(r.stdout.split("\n").includes("OCSTOP_SESSION=ses_2"), r.stdout);
  assert.ok(r.stdout.split("\n").includes("OCSTOP_CALL=call_2"));
});
