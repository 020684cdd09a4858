// Incremental Server-Sent Events parsing over bytes (WHATWG HTML,
// "Interpreting an event stream"): lines end in CR, LF or CRLF; a blank
// line dispatches the event; lines starting with ':' are comments; one
// space after the field's colon is dropped; unknown fields are ignored.
// A mirror of crypto/sse.go.

/** One dispatched event, with the fields the protocol uses. */
export interface SSEEvent {
  name: string; // the event field ("" when absent)
  id?: Uint8Array; // the last id line of this event, when present
  data: Uint8Array; // data lines joined (the protocol allows one)
  ndata: number;
}

const CR = 0x0d;
const LF = 0x0a;
const latin1 = new TextDecoder("latin1");

export class SSEParser {
  private buf = new Uint8Array(0);
  private skipLF = false;
  private ev = SSEParser.empty();
  private fields = false;

  private static empty(): SSEEvent {
    return { name: "", data: new Uint8Array(0), ndata: 0 };
  }

  /** Appends stream bytes. */
  feed(b: Uint8Array): void {
    if (b.length === 0) return;
    const n = new Uint8Array(this.buf.length + b.length);
    n.set(this.buf);
    n.set(b, this.buf.length);
    this.buf = n;
  }

  /** Bytes buffered without a line end. */
  get buffered(): number {
    return this.buf.length;
  }

  /** The next complete event, or undefined when the buffer holds none. */
  next(): SSEEvent | undefined {
    for (;;) {
      if (this.skipLF && this.buf.length > 0) {
        if (this.buf[0] === LF) this.buf = this.buf.subarray(1);
        this.skipLF = false;
      }
      let i = 0;
      while (i < this.buf.length && this.buf[i] !== CR && this.buf[i] !== LF) i++;
      if (i === this.buf.length) return undefined;
      const line = this.buf.subarray(0, i);
      let rest = i + 1;
      if (this.buf[i] === CR) {
        if (i + 1 === this.buf.length) this.skipLF = true;
        else if (this.buf[i + 1] === LF) rest = i + 2;
      }
      this.buf = this.buf.subarray(rest);
      if (line.length === 0) {
        if (this.fields) {
          const ev = this.ev;
          this.ev = SSEParser.empty();
          this.fields = false;
          return ev;
        }
        continue;
      }
      this.field(line);
    }
  }

  private field(line: Uint8Array): void {
    if (line[0] === 0x3a) return; // comment
    const c = line.indexOf(0x3a);
    let name: Uint8Array;
    let value: Uint8Array;
    if (c < 0) {
      name = line;
      value = new Uint8Array(0);
    } else {
      name = line.subarray(0, c);
      value = line.subarray(c + 1);
      if (value[0] === 0x20) value = value.subarray(1);
    }
    switch (latin1.decode(name)) {
      case "event":
        this.ev.name = latin1.decode(value);
        break;
      case "data": {
        const d = new Uint8Array(this.ev.data.length + value.length);
        d.set(this.ev.data);
        d.set(value, this.ev.data.length);
        this.ev.data = d;
        this.ev.ndata++;
        break;
      }
      case "id":
        this.ev.id = value.slice();
        break;
      default:
        return;
    }
    this.fields = true;
  }

  /** Whether a started but undispatched event, or a partial line other than a comment, remains. */
  pending(): boolean {
    const b = this.buf;
    return this.fields || (b.length > 0 && b[0] !== 0x3a && b[0] !== CR && b[0] !== LF);
  }
}
