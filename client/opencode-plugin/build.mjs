// build.mjs: makes ocstop.js, the one file users install, from the modules in src/.
//
//   node client/opencode-plugin/build.mjs          write ocstop.js
//   node client/opencode-plugin/build.mjs --check  exit 1 if ocstop.js is not what src/ makes
//
// Why one file: users and installers handle a single self-contained file, copied or linked into
// OpenCode's flat plugins folder (OpenCode loads plugins/*.js, not subfolders). Nothing can be half
// installed, and nothing depends on how Bun resolves the imports of a linked file.
//
// How: each module's text becomes, unchanged but for its import and export lines, the body of an
// arrow function that runs once, in the order of the imports, so each keeps its own scope and two
// modules may use the same names. `import { a, b as c } from "./x.js"` becomes
// `const { a, b: c } = __x;`, `export` is dropped from declarations, and the module returns an
// object of what it exported. The entry module's opening comment heads the file, and the file
// exports PUBLIC from it and nothing else. No dependencies, dates or randomness: the same src/
// always makes the same bytes (tests/js/bundle.test.mjs checks that ocstop.js is up to date).
//
// The module subset this understands, anything else being an error: imports of named bindings from
// "./name.js", all before any other code; `export` before a function, class or single const
// declaration, or `export { a, b as c };`. An import is a copy taken once the imported module has
// run, so exported bindings must not be reassigned (hence no `export let`); imports must not cycle.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
export const SRC_DIR = join(HERE, "src");
export const OUT_FILE = join(HERE, "ocstop.js");
export const ENTRY = "main.js";
export const PUBLIC = ["OcStop"];
const REBUILD = "node client/opencode-plugin/build.mjs";

const IDENT = "[A-Za-z_$][\\w$]*";
const IMPORT_RE = /^import[ \t]*\{([^}]*)\}[ \t]*from[ \t]*"([^"]*)";?[ \t]*(?:\n|$)/gm;
const EXPORT_DECL_RE = new RegExp(`^export[ \\t]+((?:async[ \\t]+)?function\\*?[ \\t]*(${IDENT})|class[ \\t]+(${IDENT})|const[ \\t]+(${IDENT})[ \\t]*=)`, "gm");
const EXPORT_LIST_RE = /^export[ \t]*\{([^}]*)\};?[ \t]*(?:\n|$)/gm;

class BuildError extends Error {}

// "a, b as c" -> [["a", "a"], ["b", "c"]]: [name in the other module, name here].
function bindings(list, where) {
  return list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const m = new RegExp(`^(${IDENT})(?:\\s+as\\s+(${IDENT}))?$`).exec(s);
      if (!m) throw new BuildError(`${where}: cannot read the binding "${s}"`);
      return [m[1], m[2] ?? m[1]];
    });
}

// What is left of text once comments and white space are gone (a rough cut: enough to tell that
// nothing but comments stands before an import).
function codeIn(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "").trim();
}

// The name of the constant that holds a module's exports in the bundle.
function namespaceOf(file) {
  return `__${file.replace(/\.js$/, "").replace(/[^\w$]/g, "_")}`;
}

// One module: its imports, its exports, and its body with imports and exports rewritten.
function parse(file, text) {
  const imports = [];
  let body = "";
  let at = 0;
  for (const m of text.matchAll(IMPORT_RE)) {
    if (codeIn(text.slice(0, m.index).replace(IMPORT_RE, "")) !== "") throw new BuildError(`${file}: imports must come before any other code`);
    const spec = m[2];
    if (!/^\.\/[\w.-]+\.js$/.test(spec)) throw new BuildError(`${file}: only "./name.js" can be imported, not "${spec}"`);
    const from = spec.slice(2);
    const names = bindings(m[1], file);
    imports.push({ from, names });
    const pattern = names.map(([theirs, ours]) => (theirs === ours ? ours : `${theirs}: ${ours}`)).join(", ");
    body += `${text.slice(at, m.index)}const { ${pattern} } = ${namespaceOf(from)};\n`;
    at = m.index + m[0].length;
  }
  body += text.slice(at);
  if (/^import\b/m.test(body)) throw new BuildError(`${file}: an import this build does not understand: ${/^import\b.*$/m.exec(body)[0]}`);

  const exports = [];
  body = body.replace(EXPORT_LIST_RE, (_, list) => {
    for (const [ours, theirs] of bindings(list, file)) exports.push([theirs, ours]);
    return "";
  });
  body = body.replace(EXPORT_DECL_RE, (all, decl, fn, cls, cst) => {
    const name = fn ?? cls ?? cst;
    exports.push([name, name]);
    return decl;
  });
  if (/^export\b/m.test(body)) throw new BuildError(`${file}: an export this build does not understand: ${/^export\b.*$/m.exec(body)[0]}`);
  const seen = new Set();
  for (const [name] of exports) {
    if (seen.has(name)) throw new BuildError(`${file}: ${name} is exported twice`);
    seen.add(name);
  }
  return { file, text, imports, exports, body };
}

// The opening run of comment lines.
function openingComment(text) {
  const m = /^(?:\/\/.*\n)+/.exec(text);
  return m ? m[0] : "";
}

// modules: file name -> source text. Returns the bundle's text.
export function bundle(modules, { entry = ENTRY, publicNames = PUBLIC, srcName = "src" } = {}) {
  const parsed = new Map();
  for (const file of Object.keys(modules).sort()) parsed.set(file, parse(file, modules[file]));
  if (!parsed.has(entry)) throw new BuildError(`no entry module ${entry}`);

  // Dependencies first, in the order the imports name them.
  const order = [];
  const state = new Map(); // file -> "visiting" | "done"
  const visit = (file, chain) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "visiting") throw new BuildError(`imports go round in a circle: ${[...chain, file].join(" -> ")}`);
    state.set(file, "visiting");
    const mod = parsed.get(file);
    for (const { from, names } of mod.imports) {
      const dep = parsed.get(from);
      if (!dep) throw new BuildError(`${file}: imports ${from}, which is not in ${srcName}/`);
      for (const [name] of names) if (!dep.exports.some(([n]) => n === name)) throw new BuildError(`${file}: ${from} does not export ${name}`);
      visit(from, [...chain, file]);
    }
    state.set(file, "done");
    order.push(mod);
  };
  visit(entry, []);
  for (const file of parsed.keys()) if (!state.has(file)) throw new BuildError(`${srcName}/${file} is not imported by ${entry}, directly or not`);

  // A module must not use the names that hold the modules' exports: its own would hide them.
  for (const mod of order)
    for (const name of order.map((m) => namespaceOf(m.file)))
      if (new RegExp(`(?<![\\w$])${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(mod.text)) throw new BuildError(`${mod.file}: the name ${name} is the bundle's own`);
  const main = parsed.get(entry);
  for (const name of publicNames) if (!main.exports.some(([n]) => n === name)) throw new BuildError(`${entry} does not export ${name}`);

  const heading = openingComment(main.text);
  const rule = (title) => `// ${"=".repeat(Math.max(3, 96 - title.length))} ${title}`;
  const summary = (mod) => {
    if (mod === main) return `${srcName}/${mod.file}: the plugin function, OcStop (its opening comment heads this file)`;
    const m = new RegExp(`^// ${mod.file.replace(/\./g, "\\.")}: (.*)$`, "m").exec(mod.text);
    if (!m) throw new BuildError(`${mod.file}: the first line must say "// ${mod.file}: what it holds"`);
    return `${srcName}/${mod.file}: ${m[1]}`;
  };
  let out = "";
  out += `// ocstop.js is GENERATED from the modules in client/opencode-plugin/${srcName}/: do not edit it, edit them\n`;
  out += `// and rebuild with \`${REBUILD}\` (a unit test fails while the two disagree).\n`;
  out += "//\n";
  out += heading;
  out += "//\n";
  out += "// The modules, each in its own function scope, in the order they run:\n";
  for (const mod of order) out += `//   ${summary(mod)}\n`;
  for (const mod of order) {
    let body = mod === main ? mod.body.slice(heading.length) : mod.body;
    body = body.replace(/^\n+/, "").replace(/\s+$/, "");
    const returned = mod.exports.map(([name, local]) => (name === local ? name : `${name}: ${local}`)).join(", ");
    out += `\n${rule(`${srcName}/${mod.file}`)}\n\n`;
    out += `const ${namespaceOf(mod.file)} = (() => {\n${body}\n\nreturn { ${returned} };\n})();\n`;
  }
  out += `\n${rule("the plugin")}\n\n`;
  for (const name of publicNames) out += `export const ${name} = ${namespaceOf(entry)}.${name};\n`;
  return out;
}

// The bundle of the modules in srcDir.
export function build(srcDir = SRC_DIR) {
  const modules = {};
  for (const file of readdirSync(srcDir).sort()) if (file.endsWith(".js")) modules[file] = readFileSync(join(srcDir, file), "utf8");
  return bundle(modules);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  try {
    const text = build();
    if (args.length === 1 && args[0] === "--check") {
      let current = null;
      try {
        current = readFileSync(OUT_FILE, "utf8");
      } catch {}
      if (current !== text) {
        console.error(`build.mjs: ${OUT_FILE} is not what src/ makes; run: ${REBUILD}`);
        process.exit(1);
      }
    } else if (args.length === 0) {
      writeFileSync(OUT_FILE, text);
    } else {
      console.error("usage: build.mjs [--check]");
      process.exit(2);
    }
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`build.mjs: ${e.message}`);
    process.exit(1);
  }
}
