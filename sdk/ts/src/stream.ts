// Opening the sealed reply stream (protocol sections 5.1-5.3),
// incrementally: feed bytes as they arrive, take chunks as they open. A
// mirror of crypto/stream.go. Every way a stream can be wrong other than
// ending early is StreamCorruptError; ending early is StreamTruncatedError.

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { expand, extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { b64uDecode, concat, utf8 } from "./bytes.js";
import { parseDelta, parseFinal, stripZeros, type Final } from "./chunk.js";
import { StreamCorruptError, StreamTruncatedError } from "./errors.js";
import { AAD_SHAPED, EVENT_NONCE_SHAPED, FRAME_CIPHERTEXT_SIZE, shapeFrames } from "./shape.js";
import { SSEParser, type SSEEvent } from "./sse.js";

/** A line without its end may not grow past this (a hostile stream cannot fill memory). */
export const MAX_LINE = 1 << 20;
const NN = 12;
const NT = 16;
const AAD_FINAL = utf8("final");
const EMPTY = new Uint8Array(0);

/** One opened chunk: a delta's text, or the final chunk. */
export type Chunk = { delta: string; final?: undefined } | { delta?: undefined; final: Final };

/** The response keys (5.1): prk = HKDF-Extract(enc || response_nonce, secret); key, nonce = HKDF-Expand(prk, ...). */
export function responseKeys(enc: Uint8Array, responseNonce: Uint8Array, secret: Uint8Array): { key: Uint8Array; nonce: Uint8Array } {
  const prk = extract(sha256, secret, concat(enc, responseNonce));
  const out = { key: expand(sha256, prk, utf8("key"), 32), nonce: expand(sha256, prk, utf8("nonce"), NN) };
  prk.fill(0);
  return out;
}

/** nonce_i = nonce XOR I2OSP(i, 12). */
export function chunkNonce(base: Uint8Array, i: number): Uint8Array {
  const n = base.slice();
  let x = i;
  for (let j = NN - 1; j >= 0 && x > 0; j--) {
    n[j] ^= x % 256;
    x = Math.floor(x / 256);
  }
  return n;
}

/**
 * A decoder of one reply stream, picked by the response's media type
 * (decoderFor in chatstream.ts); everything above it (the ChatStream API,
 * errors, cancellation) stays the same. Both framings of a reply, 5.3's
 * and the shaped stream of 5.5, are text/event-stream and named by the
 * first event, so StreamOpener reads both.
 */
export interface ReplyDecoder {
  feed(b: Uint8Array): void;
  /** The next opened chunk; undefined when more input is needed or the stream is done. Throws on a bad stream. */
  next(): Chunk | undefined;
  /** End of input: throws StreamTruncatedError without a final chunk, StreamCorruptError for data after it. */
  end(): void;
  /** True once the first event announced a shaped stream (5.5). */
  readonly shaped: boolean;
}

/**
 * Opens a v1 stream for the request whose enc and exporter secret are
 * given. With acceptShaped (the request carried "shape":"constant") it
 * also reads a shaped stream (5.5), to the end of its bucket; without it a
 * shaped stream is corrupt. Errors are sticky.
 */
export class StreamOpener implements ReplyDecoder {
  private sse = new SSEParser();
  private key?: Uint8Array;
  private nonce?: Uint8Array;
  private i = 0;
  // trailer: shaped, after the final frame, padding up to total frames.
  private state: "nonce" | "chunks" | "trailer" | "done" = "nonce";
  private total = 0;
  private err?: Error;
  shaped = false;

  constructor(private readonly enc: Uint8Array, private readonly secret: Uint8Array, private readonly acceptShaped = false) {}

  feed(b: Uint8Array): void {
    if (!this.err) this.sse.feed(b);
  }

  next(): Chunk | undefined {
    while (!this.err) {
      const ev = this.sse.next();
      if (!ev) {
        if (this.sse.buffered > MAX_LINE) this.fail(StreamCorruptError, "line too long");
        else return undefined;
      } else {
        const c = this.dispatch(ev);
        if (c) return c;
      }
    }
    throw this.err;
  }

  end(): void {
    if (this.err) throw this.err;
    for (let ev = this.sse.next(); ev && !this.err; ev = this.sse.next()) {
      if (this.dispatch(ev) && !this.err) this.fail(StreamCorruptError, "chunk left unread at end");
    }
    if (!this.err && this.state === "trailer") this.fail(StreamTruncatedError, "ends before the end of its bucket");
    if (!this.err && this.state !== "done") this.fail(StreamTruncatedError, "no final chunk");
    if (!this.err && this.sse.pending()) this.fail(StreamCorruptError, "data after the final chunk");
    if (this.err) throw this.err;
    this.key?.fill(0);
  }

  private fail(kind: new (m: string) => Error, why: string): void {
    const name = kind === StreamTruncatedError ? "truncated" : "corrupt";
    this.err = new kind(`sotto: reply stream ${name}: ${why}`);
    this.key?.fill(0);
  }

  private dispatch(ev: SSEEvent): Chunk | undefined {
    if (this.state === "nonce") {
      this.nonceEvent(ev);
      return undefined;
    }
    if (this.state === "trailer" || (this.state === "chunks" && this.shaped)) return this.frameEvent(ev);
    if (this.state === "chunks") return this.chunkEvent(ev);
    this.fail(StreamCorruptError, "event after the final chunk");
    return undefined;
  }

  private nonceEvent(ev: SSEEvent): void {
    const shaped = this.acceptShaped && ev.name === EVENT_NONCE_SHAPED;
    const rn = (ev.name === "nonce" || shaped) && !ev.id && ev.ndata === 1 ? b64uDecode(new TextDecoder().decode(ev.data)) : undefined;
    if (!rn || rn.length !== 32) {
      this.fail(StreamCorruptError, "missing or malformed nonce event");
      return;
    }
    ({ key: this.key, nonce: this.nonce } = responseKeys(this.enc, rn, this.secret));
    this.state = "chunks";
    this.shaped = shaped;
  }

  // frameEvent opens shaped frame i: no id, no event type, one data line of
  // exactly FRAME_CIPHERTEXT_SIZE bytes, aad "shaped". A padding frame
  // yields nothing; after the final frame only padding may come, up to the
  // bucket's frame count (then "done": any further event is corrupt).
  private frameEvent(ev: SSEEvent): Chunk | undefined {
    if (ev.name !== "" || ev.id || ev.ndata !== 1) {
      this.fail(StreamCorruptError, "shaped frame with an event type, an id or not one data line");
      return undefined;
    }
    const ct = b64uDecode(new TextDecoder("latin1").decode(ev.data));
    if (!ct || ct.length !== FRAME_CIPHERTEXT_SIZE) {
      this.fail(StreamCorruptError, "shaped frame of the wrong size");
      return undefined;
    }
    let pt: Uint8Array;
    try {
      pt = stripZeros(chacha20poly1305(this.key!, chunkNonce(this.nonce!, this.i), AAD_SHAPED).decrypt(ct));
    } catch {
      this.fail(StreamCorruptError, "frame does not decrypt");
      return undefined;
    }
    const i = this.i++;
    if (pt.length === 0) {
      if (this.state === "trailer" && this.i === this.total) this.done();
      return undefined;
    }
    if (this.state === "trailer") {
      this.fail(StreamCorruptError, "text or final after the final frame");
      return undefined;
    }
    const delta = parseDelta(pt);
    if (delta !== undefined) return { delta };
    const f = parseFinal(pt);
    if (!f) {
      this.fail(StreamCorruptError, "malformed shaped frame");
      return undefined;
    }
    this.total = shapeFrames(i);
    this.state = "trailer";
    if (this.i === this.total) this.done();
    return { final: f };
  }

  private done(): void {
    this.state = "done";
    this.key?.fill(0);
  }

  private chunkEvent(ev: SSEEvent): Chunk | undefined {
    if (ev.name !== "" && ev.name !== "message" && ev.name !== "final") {
      this.fail(StreamCorruptError, "unexpected event type");
      return undefined;
    }
    const final = ev.name === "final";
    if (ev.id && new TextDecoder("latin1").decode(ev.id) !== String(this.i)) {
      this.fail(StreamCorruptError, "id is not the chunk count");
      return undefined;
    }
    const pt = this.open(ev, final);
    if (!pt) return undefined;
    this.i++;
    if (!final) {
      const delta = parseDelta(pt);
      if (delta === undefined) this.fail(StreamCorruptError, "malformed delta chunk");
      return delta === undefined ? undefined : { delta };
    }
    const f = parseFinal(pt);
    if (!f) {
      this.fail(StreamCorruptError, "malformed final chunk");
      return undefined;
    }
    this.state = "done";
    this.key?.fill(0);
    return { final: f };
  }

  private open(ev: SSEEvent, final: boolean): Uint8Array | undefined {
    if (ev.ndata !== 1) {
      this.fail(StreamCorruptError, "chunk event without exactly one data line");
      return undefined;
    }
    const ct = b64uDecode(new TextDecoder("latin1").decode(ev.data));
    if (!ct || ct.length < NT) {
      this.fail(StreamCorruptError, "malformed chunk data");
      return undefined;
    }
    try {
      return chacha20poly1305(this.key!, chunkNonce(this.nonce!, this.i), final ? AAD_FINAL : EMPTY).decrypt(ct);
    } catch {
      this.fail(StreamCorruptError, "chunk does not decrypt");
      return undefined;
    }
  }
}

/**
 * Opens a whole stream held in memory: the reply text and the final chunk.
 * acceptShaped as for StreamOpener. Throws on any error (no partial text).
 */
export function openStream(enc: Uint8Array, secret: Uint8Array, sse: Uint8Array, acceptShaped = false): { text: string; final: Final } {
  const o = new StreamOpener(enc, secret, acceptShaped);
  o.feed(sse);
  let text = "";
  let final: Final | undefined;
  for (let c = o.next(); c; c = o.next()) {
    if (c.final) final = c.final;
    else text += c.delta;
  }
  o.end();
  return { text, final: final! };
}
