// codec.js: the msgpack subset the protocol uses (proto/PROTOCOL.md).
//
// The encoder always picks the shortest form, as msgpack-c does, so both sides produce identical
// bytes for the same value (tests/js/codec.test.mjs checks this against msgpack-c).

// Same bound as the daemon (PROTOCOL.md): a frame over 1 MiB closes the connection.
export const MAX_FRAME = 1 << 20;
const MAX_DEPTH = 32;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
    this.len = 0;
  }

  room(n) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const buf = new Uint8Array(size);
    buf.set(this.buf.subarray(0, this.len));
    this.buf = buf;
    this.view = new DataView(buf.buffer);
  }

  // A type byte followed by x as a big-endian number of `width` bytes.
  head(type, width, x, signed = false) {
    this.room(1 + width);
    const v = this.view;
    const at = this.len + 1;
    v.setUint8(this.len, type);
    if (width === 1) signed ? v.setInt8(at, Number(x)) : v.setUint8(at, Number(x));
    else if (width === 2) signed ? v.setInt16(at, Number(x)) : v.setUint16(at, Number(x));
    else if (width === 4) signed ? v.setInt32(at, Number(x)) : v.setUint32(at, Number(x));
    else if (width === 8) signed ? v.setBigInt64(at, BigInt(x)) : v.setBigUint64(at, BigInt(x));
    this.len += 1 + width;
  }

  // A length prefix: the fix form when it fits, else the 8 (str/bin only), 16 or 32-bit form.
  size(n, fix, fixMax, t8, t16, t32) {
    if (n <= fixMax && fix !== null) this.head(fix | n, 0, 0);
    else if (n < 0x100 && t8 !== null) this.head(t8, 1, n);
    else if (n < 0x10000) this.head(t16, 2, n);
    else if (n <= 0xffffffff) this.head(t32, 4, n);
    else throw new RangeError("msgpack: too long");
  }

  int(n) {
    if (n >= 0) {
      if (n < 0x80) this.head(Number(n), 0, 0);
      else if (n < 0x100) this.head(0xcc, 1, n);
      else if (n < 0x10000) this.head(0xcd, 2, n);
      else if (n < 0x100000000) this.head(0xce, 4, n);
      else if (n < 2n ** 64n) this.head(0xcf, 8, n);
      else throw new RangeError("msgpack: integer out of range");
    } else if (n >= -0x20) this.head(Number(n) & 0xff, 0, 0);
    else if (n >= -0x80) this.head(0xd0, 1, n, true);
    else if (n >= -0x8000) this.head(0xd1, 2, n, true);
    else if (n >= -0x80000000) this.head(0xd2, 4, n, true);
    else if (n >= -(2n ** 63n)) this.head(0xd3, 8, n, true);
    else throw new RangeError("msgpack: integer out of range");
  }

  value(x, depth) {
    if (depth > MAX_DEPTH) throw new RangeError("msgpack: nesting too deep");
    if (x === null || x === undefined) this.head(0xc0, 0, 0);
    else if (x === false) this.head(0xc2, 0, 0);
    else if (x === true) this.head(0xc3, 0, 0);
    else if (typeof x === "bigint") this.int(x);
    else if (typeof x === "number") {
      // Integers beyond 2^53 are still exact as numbers; BigInt() keeps them exact on the wire.
      if (Number.isInteger(x) && x >= -(2 ** 63) && x < 2 ** 64) this.int(Number.isSafeInteger(x) ? x : BigInt(x));
      else {
        this.room(9);
        this.view.setUint8(this.len, 0xcb);
        this.view.setFloat64(this.len + 1, x);
        this.len += 9;
      }
    } else if (typeof x === "string") {
      const bytes = utf8Encoder.encode(x);
      this.size(bytes.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
      this.bytes(bytes);
    } else if (x instanceof Uint8Array) {
      this.size(x.length, null, -1, 0xc4, 0xc5, 0xc6);
      this.bytes(x);
    } else if (Array.isArray(x)) {
      this.size(x.length, 0x90, 15, null, 0xdc, 0xdd);
      for (const item of x) this.value(item, depth + 1);
    } else if (typeof x === "object") {
      // Absent optional fields are left out rather than sent as nil.
      const keys = Object.keys(x).filter((k) => x[k] !== undefined);
      this.size(keys.length, 0x80, 15, null, 0xde, 0xdf);
      for (const k of keys) {
        this.value(k, depth + 1);
        this.value(x[k], depth + 1);
      }
    } else throw new TypeError(`msgpack: cannot encode ${typeof x}`);
  }

  bytes(b) {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

export function encode(value) {
  const w = new Writer();
  w.value(value, 0);
  return w.buf.slice(0, w.len);
}

// Thrown by Reader when the frame is not complete yet; Decoder waits for more bytes.
const MORE = Symbol("more");

// Decodes one value from the start of buf. Lengths are checked against MAX_FRAME before waiting for
// the bytes they announce, so a bad length fails at once instead of buffering up to it.
class Reader {
  constructor(buf) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = 0;
  }

  need(n) {
    if (this.pos + n > MAX_FRAME) throw new RangeError("msgpack: frame over 1 MiB");
    if (this.pos + n > this.buf.length) throw MORE;
  }

  uint(width) {
    this.need(width);
    const v = this.view;
    const at = this.pos;
    this.pos += width;
    if (width === 1) return v.getUint8(at);
    if (width === 2) return v.getUint16(at);
    if (width === 4) return v.getUint32(at);
    const big = v.getBigUint64(at);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  int(width) {
    this.need(width);
    const v = this.view;
    const at = this.pos;
    this.pos += width;
    if (width === 1) return v.getInt8(at);
    if (width === 2) return v.getInt16(at);
    if (width === 4) return v.getInt32(at);
    const big = v.getBigInt64(at);
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  raw(n) {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  array(n, depth) {
    this.need(n); // every element takes at least one byte
    const a = new Array(n);
    for (let i = 0; i < n; i++) a[i] = this.value(depth + 1);
    return a;
  }

  map(n, depth) {
    this.need(2 * n);
    const m = {};
    for (let i = 0; i < n; i++) {
      const k = String(this.value(depth + 1));
      const v = this.value(depth + 1);
      // A plain assignment of "__proto__" would replace the prototype instead of adding a key.
      if (k === "__proto__") Object.defineProperty(m, k, { value: v, enumerable: true, writable: true, configurable: true });
      else m[k] = v;
    }
    return m;
  }

  value(depth) {
    if (depth > MAX_DEPTH) throw new RangeError("msgpack: nesting too deep");
    this.need(1);
    const b = this.buf[this.pos++];
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b < 0x90) return this.map(b & 0x0f, depth);
    if (b < 0xa0) return this.array(b & 0x0f, depth);
    if (b < 0xc0) return utf8Decoder.decode(this.raw(b & 0x1f));
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return new Uint8Array(this.raw(this.uint(1)));
      case 0xc5: return new Uint8Array(this.raw(this.uint(2)));
      case 0xc6: return new Uint8Array(this.raw(this.uint(4)));
      case 0xca: this.need(4); this.pos += 4; return this.view.getFloat32(this.pos - 4);
      case 0xcb: this.need(8); this.pos += 8; return this.view.getFloat64(this.pos - 8);
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: return this.uint(8);
      case 0xd0: return this.int(1);
      case 0xd1: return this.int(2);
      case 0xd2: return this.int(4);
      case 0xd3: return this.int(8);
      case 0xd9: return utf8Decoder.decode(this.raw(this.uint(1)));
      case 0xda: return utf8Decoder.decode(this.raw(this.uint(2)));
      case 0xdb: return utf8Decoder.decode(this.raw(this.uint(4)));
      case 0xdc: return this.array(this.uint(2), depth);
      case 0xdd: return this.array(this.uint(4), depth);
      case 0xde: return this.map(this.uint(2), depth);
      case 0xdf: return this.map(this.uint(4), depth);
    }
    // 0xc1 (never used) and the ext types, which the protocol does not use.
    throw new TypeError(`msgpack: unsupported type byte 0x${b.toString(16)}`);
  }
}

// Splits a byte stream into values. feed() throws on bytes that are not msgpack or on a frame over
// MAX_FRAME; the caller then drops the connection, so the decoder need not recover.
export class Decoder {
  constructor() {
    this.rest = null;
  }

  feed(chunk) {
    let buf = chunk;
    if (this.rest) {
      buf = new Uint8Array(this.rest.length + chunk.length);
      buf.set(this.rest);
      buf.set(chunk, this.rest.length);
    }
    const out = [];
    let pos = 0;
    while (pos < buf.length) {
      const r = new Reader(buf.subarray(pos));
      try {
        out.push(r.value(0));
      } catch (e) {
        if (e !== MORE) throw e;
        break;
      }
      pos += r.pos;
    }
    // Copied: the runtime may reuse the chunk's memory after the data callback returns.
    this.rest = pos < buf.length ? new Uint8Array(buf.subarray(pos)) : null;
    return out;
  }
}
