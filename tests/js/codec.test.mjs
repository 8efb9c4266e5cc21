// The plugin shim's msgpack codec (client/opencode-plugin/src/codec.js) against msgpack-c.
//
//   OCSTOP_MSGPACK_ECHO=build/tests/msgpack-echo node --test --test-reporter=tap tests/js/codec.test.mjs
//
// msgpack-echo unpacks what it reads and packs it again with msgpack_pack_object, which always uses
// the shortest form. So "msgpack-c re-emits our bytes unchanged" means both encoders agree byte for
// byte, and decoding msgpack-c's output checks the decoder on the same bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { encode, Decoder } from "../../client/opencode-plugin/src/codec.js";

const ECHO = process.env.OCSTOP_MSGPACK_ECHO;

function echo(bytes) {
  const r = spawnSync(ECHO, { input: bytes, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, `msgpack-echo failed: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

function decodeAll(bytes) {
  const d = new Decoder();
  const out = d.feed(bytes);
  assert.equal(d.rest, null, "bytes left over");
  return out;
}

const hex = (b) => Buffer.from(b).toString("hex");
const range = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const mapOf = (n) => Object.fromEntries(range(n, (i) => [`k${i}`, i]));

const ints = [
  0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1,
  -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53) + 1,
  2n ** 64n - 1n, -(2n ** 63n),
];
const strings = [0, 1, 31, 32, 255, 256, 65535, 65536].map((n) => "a".repeat(n));
strings.push("é", "€uro ✓", "日本語".repeat(40), "😀".repeat(70), "x", "X", " x ");

const cases = {
  nil: [null],
  bool: [true, false],
  ints,
  floats: [0.5, -1.25, 3.141592653589793, 1e300, -1e-300, Infinity, -Infinity],
  strings,
  bin: [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(256).fill(7), new Uint8Array(65536).fill(9)],
  arrays: [[], range(15, (i) => i), range(16, (i) => i), range(65535, (i) => i & 0x7f), range(65536, (i) => i & 0x7f)],
  maps: [{}, mapOf(15), mapOf(16), mapOf(65536)],
  nested: [
    [0, 1, "register", [{ server_url: "http://127.0.0.1:4096/", directory: "/srv/my proj", worktree: "/", pid: 4242, opencode_version: "1.18.33" }]],
    [1, 1, null, { stop_words: ["x", "stop"], max_len: 4, http: true, relay: false }],
    [1, 7, [2, "unknown method"], null],
    [2, "opencode.event", [{ directory: "/p", event: JSON.stringify({ type: "session.idle", properties: { sessionID: "ses_1" } }) }]],
    [0, 0xffffffff, "message", [{ session: "ses_1", parts: [{ type: "text", text: "x" }, { type: "file" }] }]],
    { a: { b: { c: [[[{ d: [null, true, -1, "é"] }]]] } } },
  ],
};

for (const [name, values] of Object.entries(cases)) {
  test(`msgpack-c re-emits our encoding of ${name} unchanged and we decode it back`, { skip: !ECHO && "OCSTOP_MSGPACK_ECHO unset" }, () => {
    const ours = values.map(encode);
    const joined = Buffer.concat(ours);
    const theirs = echo(joined);
    assert.equal(hex(theirs), hex(joined));
    const back = decodeAll(theirs);
    assert.equal(back.length, values.length);
    values.forEach((v, i) => {
      // 64-bit values that fit a JS number come back as numbers.
      const want = typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      assert.deepStrictEqual(back[i], want);
    });
  });
}

test("shortest forms, byte for byte", () => {
  const want = {
    "00": 0, "7f": 127, cc80: 128, ccff: 255, cd0100: 256, cdffff: 65535, ce00010000: 65536,
    ceffffffff: 2 ** 32 - 1, cf0000000100000000: 2 ** 32, ff: -1, e0: -32, d0df: -33, d080: -128,
    d1ff7f: -129, d18000: -32768, d2ffff7fff: -32769, d280000000: -(2 ** 31), d3ffffffff7fffffff: -(2 ** 31) - 1,
    cfffffffffffffffff: 2n ** 64n - 1n, d38000000000000000: -(2n ** 63n),
    c0: null, c2: false, c3: true, a0: "", a178: "x", cb3ff8000000000000: 1.5, 90: [], 80: {},
  };
  for (const [h, v] of Object.entries(want)) assert.equal(hex(encode(v)), h, String(v));
  assert.equal(hex(encode({ a: 1, b: undefined })), "81a16101", "undefined fields are left out");
  assert.equal(hex(encode("a".repeat(32))).slice(0, 4), "d920");
  assert.equal(hex(encode(range(16, () => 0))).slice(0, 6), "dc0010");
  assert.equal(hex(encode(mapOf(16))).slice(0, 6), "de0010");
});

// Forms our encoder never writes (non-shortest ints, float32, str/array/map with wide lengths) still
// decode, to the same values msgpack-c reads from them.
test("decodes every supported form as msgpack-c does", { skip: !ECHO && "OCSTOP_MSGPACK_ECHO unset" }, () => {
  const forms = [
    "cc05", "cd0005", "ce00000005", "cf0000000000000005", "d0fb", "d1fffb", "d2fffffffb", "d3fffffffffffffffb",
    "cf0020000000000001", "d3ffdfffffffffffff", "ca3fc00000", "cb400921fb54442d18",
    "d90178", "da000178", "db0000000178", "c40101", "c5000101", "c600000000",
    "dc0002c0c3", "dd00000001a0", "de0001a161c2", "df00000001a16193c0c2c3",
  ];
  const bytes = Buffer.from(forms.join(""), "hex");
  const ours = decodeAll(bytes);
  assert.deepStrictEqual(decodeAll(echo(bytes)), ours);
  assert.deepStrictEqual(ours.slice(0, 8), [5, 5, 5, 5, -5, -5, -5, -5]);
  assert.deepStrictEqual(ours.slice(8, 12), [2n ** 53n + 1n, -(2n ** 53n) - 1n, 1.5, Math.PI]);
  assert.deepStrictEqual(ours.slice(12, 15), ["x", "x", "x"]);
  assert.deepStrictEqual(ours.slice(18), [[null, true], [""], { a: false }, { a: [null, false, true] }]);
});

test("a stream split at every offset yields the same values", () => {
  const values = [[0, 1, "register", [{ directory: "/é", pid: 1 }]], "a".repeat(300), 2 ** 40, [1, 2, null, { verdict: "abort", aborted: false }]];
  const bytes = Buffer.concat(values.map(encode));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new Decoder();
    const got = [...d.feed(bytes.subarray(0, cut)), ...d.feed(bytes.subarray(cut))];
    assert.deepStrictEqual(got, values, `cut at ${cut}`);
    assert.equal(d.rest, null);
  }
  const d = new Decoder();
  const got = [];
  for (const b of bytes) got.push(...d.feed(Uint8Array.of(b)));
  assert.deepStrictEqual(got, values, "one byte at a time");
});

test("the decoder keeps no reference to a chunk it was fed", () => {
  const d = new Decoder();
  const chunk = Buffer.from(encode(["abc", "def"]));
  assert.deepStrictEqual(d.feed(chunk.subarray(0, 6)), []);
  chunk.fill(0); // a runtime reusing its read buffer
  assert.deepStrictEqual(d.feed(Buffer.from(encode(["abc", "def"])).subarray(6)), [["abc", "def"]]);
});

test("frames over 1 MiB and bytes that are not msgpack are refused", () => {
  // The length alone is enough: no need to wait for 2 MiB.
  assert.throws(() => new Decoder().feed(Buffer.from("db00200000", "hex")), /1 MiB/);
  assert.throws(() => new Decoder().feed(Buffer.from("dd00200000", "hex")), /1 MiB/);
  // Exactly 1 MiB is accepted.
  const s = "a".repeat((1 << 20) - 5);
  assert.deepStrictEqual(new Decoder().feed(encode(s)), [s]);
  // An array whose elements keep coming past 1 MiB: refused once the buffered frame crosses it.
  const d = new Decoder();
  const elements = Buffer.concat(range(3000, () => encode("a".repeat(20))));
  let fed = 3;
  assert.throws(() => {
    d.feed(Buffer.from("dcffff", "hex"));
    for (;;) {
      d.feed(elements);
      fed += elements.length;
    }
  }, /1 MiB/);
  assert.ok(fed > (1 << 20) - elements.length && fed <= 1 << 20, `refused after ${fed} bytes`);
  for (const h of ["c1", "c7", "d4", "d8", "c8"]) assert.throws(() => new Decoder().feed(Buffer.from(h + "00000000", "hex")), /unsupported/, h);
  let deep = Buffer.from("c0", "hex");
  for (let i = 0; i < 100; i++) deep = Buffer.concat([Buffer.from("91", "hex"), deep]);
  assert.throws(() => new Decoder().feed(deep), /too deep/);
});

test("map keys stay keys", () => {
  const [m] = new Decoder().feed(Buffer.from("82a95f5f70726f746f5f5f01a16102", "hex"));
  assert.equal(Object.getPrototypeOf(m), Object.prototype);
  assert.deepStrictEqual(Object.keys(m), ["__proto__", "a"]);
  assert.equal(m.a, 2);
});
