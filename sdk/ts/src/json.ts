// A strict JSON reader (RFC 8259) that keeps what JSON.parse throws away:
// number tokens as written (so "1.0" and "1e0" can be refused where the
// protocol wants digits only) and every member of an object in order
// (so duplicates can be refused). Strings refuse raw control characters
// and lone surrogates in \u escapes, as the Go scanner does.

export type JValue =
  | { t: "obj"; members: [string, JValue][] }
  | { t: "arr"; items: JValue[] }
  | { t: "str"; v: string }
  | { t: "num"; raw: string }
  | { t: "bool"; v: boolean }
  | { t: "null" };

const MAX_DEPTH = 64;

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else return;
    }
  }

  eat(ch: string): boolean {
    this.ws();
    if (this.s[this.i] === ch) {
      this.i++;
      return true;
    }
    return false;
  }

  value(depth: number): JValue | undefined {
    if (depth > MAX_DEPTH) return undefined;
    this.ws();
    const c = this.s[this.i];
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') {
      const v = this.str();
      return v === undefined ? undefined : { t: "str", v };
    }
    for (const [word, val] of [["true", { t: "bool", v: true }], ["false", { t: "bool", v: false }], ["null", { t: "null" }]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return val;
      }
    }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) return undefined;
    this.i += m[0].length;
    return { t: "num", raw: m[0] };
  }

  object(depth: number): JValue | undefined {
    this.i++; // {
    const members: [string, JValue][] = [];
    if (this.eat("}")) return { t: "obj", members };
    do {
      this.ws();
      const name = this.str();
      if (name === undefined || !this.eat(":")) return undefined;
      const v = this.value(depth + 1);
      if (v === undefined) return undefined;
      members.push([name, v]);
    } while (this.eat(","));
    return this.eat("}") ? { t: "obj", members } : undefined;
  }

  array(depth: number): JValue | undefined {
    this.i++; // [
    const items: JValue[] = [];
    if (this.eat("]")) return { t: "arr", items };
    do {
      const v = this.value(depth + 1);
      if (v === undefined) return undefined;
      items.push(v);
    } while (this.eat(","));
    return this.eat("]") ? { t: "arr", items } : undefined;
  }

  str(): string | undefined {
    if (this.s[this.i] !== '"') return undefined;
    let out = "";
    let i = this.i + 1;
    for (;;) {
      const start = i;
      while (i < this.s.length) {
        const c = this.s.charCodeAt(i);
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        i++;
      }
      out += this.s.slice(start, i);
      if (i >= this.s.length) return undefined;
      const c = this.s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) return undefined;
      const esc = unescape(this.s, i);
      if (!esc) return undefined;
      out += esc[0];
      i = esc[1];
    }
  }
}

const SHORT: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

function hex4(s: string, i: number): number {
  const h = s.slice(i, i + 4);
  return /^[0-9a-fA-F]{4}$/.test(h) ? parseInt(h, 16) : -1;
}

// unescape decodes the escape at s[i] (a backslash): the text and the
// index after it, or undefined (syntax error, lone surrogate).
function unescape(s: string, i: number): [string, number] | undefined {
  const e = s[i + 1];
  if (e !== "u") return e !== undefined && e in SHORT ? [SHORT[e], i + 2] : undefined;
  const hi = hex4(s, i + 2);
  if (hi < 0 || (hi >= 0xdc00 && hi <= 0xdfff)) return undefined;
  if (hi < 0xd800 || hi > 0xdbff) return [String.fromCharCode(hi), i + 6];
  if (s[i + 6] !== "\\" || s[i + 7] !== "u") return undefined;
  const lo = hex4(s, i + 8);
  if (lo < 0xdc00 || lo > 0xdfff) return undefined;
  return [String.fromCharCode(hi, lo), i + 12];
}

/** Parses one JSON value filling all of text (whitespace around it allowed). */
export function parseJSON(text: string): JValue | undefined {
  const r = new Reader(text);
  const v = r.value(0);
  if (v === undefined) return undefined;
  r.ws();
  return r.i === text.length ? v : undefined;
}

/**
 * The members of an object as a map, or undefined when v is not an object
 * or a member appears twice.
 */
export function members(v: JValue | undefined): Map<string, JValue> | undefined {
  if (v?.t !== "obj") return undefined;
  const m = new Map<string, JValue>();
  for (const [k, x] of v.members) {
    if (m.has(k)) return undefined;
    m.set(k, x);
  }
  return m;
}

/** A number token written as digits only (no sign, fraction, exponent) within [0, max]. */
export function uint(v: JValue | undefined, max: number): number | undefined {
  if (v?.t !== "num" || !/^(0|[1-9][0-9]*)$/.test(v.raw) || v.raw.length > 16) return undefined;
  const n = Number(v.raw);
  return n <= max ? n : undefined;
}

/** The string value of v, or undefined. */
export function str(v: JValue | undefined): string | undefined {
  return v?.t === "str" ? v.v : undefined;
}
