// The shipped plugin file, client/opencode-plugin/ocstop.js, is exactly what build.mjs makes of src/,
// exports OcStop and nothing else, and reads like its modules; and the bundling itself: scopes kept
// apart, imports and exports rewritten, what it does not understand refused.
//
//   node --test tests/js/bundle.test.mjs
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { build, bundle, OUT_FILE, SRC_DIR, PUBLIC } from "../../client/opencode-plugin/build.mjs";
import { tempDir } from "./helpers.mjs";

const REBUILD = "node client/opencode-plugin/build.mjs";
const tmp = tempDir();
after(() => tmp.cleanup());

test("ocstop.js is what build.mjs makes of src/", () => {
  const want = build();
  const have = readFileSync(OUT_FILE, "utf8");
  assert.ok(have === want, `client/opencode-plugin/ocstop.js is out of date with src/ (or was edited by hand): run \`${REBUILD}\` and commit the result`);
});

test("build.mjs --check agrees", () => {
  const r = spawnSync(process.execPath, [join(SRC_DIR, "..", "build.mjs"), "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("the build is the same whatever order the files are read in", () => {
  const modules = Object.fromEntries(readdirSync(SRC_DIR).filter((f) => f.endsWith(".js")).map((f) => [f, readFileSync(join(SRC_DIR, f), "utf8")]));
  const reversed = Object.fromEntries(Object.entries(modules).reverse());
  assert.equal(bundle(reversed), bundle(modules));
  assert.equal(bundle(modules), build());
});

test("ocstop.js exports OcStop, a plugin function, and nothing else: no test hooks", async () => {
  assert.deepStrictEqual(PUBLIC, ["OcStop"]);
  const mod = await import("../../client/opencode-plugin/ocstop.js");
  assert.deepStrictEqual(Object.keys(mod), ["OcStop"]);
  assert.equal(typeof mod.OcStop, "function");
  assert.equal(mod.OcStop.name, "OcStop");
  assert.deepStrictEqual(Object.getOwnPropertyNames(mod.OcStop).sort(), ["length", "name"]);
  const text = readFileSync(OUT_FILE, "utf8");
  assert.deepStrictEqual(text.match(/^export\b.*$/gm), ["export const OcStop = __main.OcStop;"]);
  assert.equal(/^\s*import\b/m.test(text), false, "self-contained: imports nothing");
});

test("ocstop.js says it is generated and how to rebuild it, then what it is", () => {
  const text = readFileSync(OUT_FILE, "utf8");
  const [first, second] = text.split("\n");
  assert.match(first, /^\/\/ ocstop\.js is GENERATED from the modules in client\/opencode-plugin\/src\//);
  assert.ok(second.includes(REBUILD), second);
  const main = readFileSync(join(SRC_DIR, "main.js"), "utf8");
  const opening = /^(?:\/\/.*\n)+/.exec(main)[0];
  assert.ok(text.startsWith(`${first}\n${second}\n//\n${opening}`), "main.js's opening comment follows");
  assert.equal(text.split(opening).length, 2, "and is not repeated");
});

test("every line of every module stands in ocstop.js, in order, but for imports and `export `", () => {
  const text = readFileSync(OUT_FILE, "utf8").split("\n");
  for (const file of readdirSync(SRC_DIR).filter((f) => f.endsWith(".js"))) {
    const start = text.indexOf(`const __${file.replace(/\.js$/, "").replace(/-/g, "_")} = (() => {`);
    assert.ok(start > 0, `${file} has its section`);
    let at = start;
    const opening = file === "main.js" ? /^(?:\/\/.*\n)+/.exec(readFileSync(join(SRC_DIR, file), "utf8"))[0] : "";
    for (const line of readFileSync(join(SRC_DIR, file), "utf8").slice(opening.length).split("\n")) {
      if (line.trim() === "" || line.startsWith("import ")) continue;
      const want = line.replace(/^export /, "");
      const found = text.indexOf(want, at + 1);
      assert.ok(found > at, `${file}: "${line}" is in ocstop.js after the line before it`);
      at = found;
    }
  }
});

// Bundles modules (file -> text) into a file and imports it.
let n = 0;
async function load(modules, options) {
  const file = join(tmp.dir, `bundle${++n}.mjs`);
  writeFileSync(file, bundle(modules, options));
  return import(file);
}

test("modules keep their own scopes: the same names in two modules do not clash", async () => {
  const mod = await load({
    "a.js": `// a.js: one\nconst secret = "a";\nfunction helper() { return secret; }\nclass Thing { get v() { return helper(); } }\nexport const fromA = () => new Thing().v;\n`,
    "b.js": `// b.js: two\nconst secret = "b";\nfunction helper() { return secret; }\nclass Thing { get v() { return helper(); } }\nlet count = 0;\nexport function fromB() { return helper() + ++count; }\n`,
    "main.js": `// main\nimport { fromA } from "./a.js";\nimport { fromB as b } from "./b.js";\nconst secret = "main";\nexport const OcStop = async () => [fromA(), b(), b(), secret];\n`,
  });
  assert.deepStrictEqual(await mod.OcStop(), ["a", "b1", "b2", "main"]);
  assert.deepStrictEqual(Object.keys(mod), ["OcStop"]);
});

test("a module imported by several runs once, before them; export lists and renames work", async () => {
  const mod = await load({
    "log.js": `// log.js: a shared log\nexport const log = [];\n`,
    "x.js": `// x.js: x\nimport { log } from "./log.js";\nlog.push("x");\nconst one = 1;\nconst two = 2;\nexport { one, two as deux };\n`,
    "y.js": `// y.js: y\nimport { log } from "./log.js";\nimport { one, deux } from "./x.js";\nlog.push("y");\nexport async function* gen() { yield one + deux; }\nexport class Y {}\n`,
    "main.js": `// main\nimport { log } from "./log.js";\nimport { gen, Y } from "./y.js";\nimport { one } from "./x.js";\nlog.push("main");\nexport const OcStop = async () => { const out = []; for await (const v of gen()) out.push(v); return [log, out, one, typeof Y]; };\nexport const alsoHere = 1;\n`,
  });
  assert.deepStrictEqual(await mod.OcStop(), [["x", "y", "main"], [3], 1, "function"]);
  assert.deepStrictEqual(Object.keys(mod), ["OcStop"], "only the public names leave the bundle");
});

test("what the bundler does not understand, or would get wrong, is refused", () => {
  const main = `// main\nexport const OcStop = async () => ({});\n`;
  const refused = [
    [{ "main.js": `// main\nimport { a } from "./a.js";\nexport const OcStop = a;\n`, "a.js": `// a.js: a\nimport { OcStop } from "./main.js";\nexport const a = 1;\n` }, /circle: main\.js -> a\.js -> main\.js/],
    [{ "main.js": `// main\nimport { a } from "./gone.js";\nexport const OcStop = a;\n` }, /gone\.js, which is not in src/],
    [{ "main.js": `// main\nimport { b } from "./a.js";\nexport const OcStop = b;\n`, "a.js": "// a.js: a\nexport const a = 1;\n" }, /a\.js does not export b/],
    [{ "main.js": `// main\nimport { a } from "node:fs";\nexport const OcStop = a;\n` }, /only "\.\/name\.js" can be imported/],
    [{ "main.js": `// main\nimport fs from "./a.js";\n${main}`, "a.js": "// a.js: a\n" }, /an import this build does not understand/],
    [{ "main.js": `// main\nimport * as a from "./a.js";\n${main}`, "a.js": "// a.js: a\n" }, /an import this build does not understand/],
    [{ "main.js": `// main\nconst early = 1;\nimport { a } from "./a.js";\n${main}`, "a.js": "// a.js: a\nexport const a = 1;\n" }, /imports must come before any other code/],
    [{ "main.js": `${main}export default 1;\n` }, /an export this build does not understand: export default 1;/],
    [{ "main.js": `${main}export let n = 1;\n` }, /an export this build does not understand: export let/],
    [{ "main.js": `${main}export * from "./a.js";\n`, "a.js": "// a.js: a\n" }, /an export this build does not understand/],
    [{ "main.js": `${main}export { OcStop };\n` }, /OcStop is exported twice/],
    [{ "main.js": main, "stray.js": "// stray.js: unused\n" }, /src\/stray\.js is not imported by main\.js/],
    [{ "main.js": `// main\nimport { a } from "./a.js";\n${main}`, "a.js": "// a.js: a\nconst __main = 1;\nexport const a = __main;\n" }, /a\.js: the name __main is the bundle's own/],
    [{ "main.js": `// main\nexport const Other = 1;\n` }, /main\.js does not export OcStop/],
    [{ "main.js": `// main\nimport { a } from "./a.js";\n${main}`, "a.js": "// something else\nexport const a = 1;\n" }, /a\.js: the first line must say "\/\/ a\.js: what it holds"/],
    [{ "a.js": "// a.js: a\n" }, /no entry module main\.js/],
  ];
  for (const [modules, error] of refused) assert.throws(() => bundle(modules), error, JSON.stringify(modules));
});

test("imports may follow the opening comments and span lines", async () => {
  const mod = await load({
    "a.js": "// a.js: a\nexport const a = 1;\nexport const b = 2;\n",
    "main.js": `// main\n/* a block comment */\n\nimport {\n  a,\n  b as c,\n} from "./a.js";\n\nexport const OcStop = async () => a + c;\n`,
  });
  assert.equal(await mod.OcStop(), 3);
});
