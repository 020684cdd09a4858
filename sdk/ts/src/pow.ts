// Proof of work (protocol section 6a): find a nonce such that
// SHA-256("sotto/v1 pow" || 0x00 || challenge || 0x00 || nonce || SHA-256(body))
// starts with `bits` zero bits. An 8-byte big-endian counter from 0, as
// the Go client's solver, so the vectors' answer is found again.

import { sha256 } from "@noble/hashes/sha2.js";
import { b64uEncode, concat, utf8 } from "./bytes.js";
import { AbortedError, PoWTooHardError, SottoError } from "./errors.js";

/** The hardest challenge a client solves by default (about 2^24 hashes). */
export const DEFAULT_MAX_POW_BITS = 24;
const CHALLENGE = /^v1;bits=([1-9][0-9]?);exp=[1-9][0-9]*;salt=[A-Za-z0-9_-]+;mac=[A-Za-z0-9_-]+$/;

/** The bits of a challenge, or undefined when it is malformed. */
export function challengeBits(challenge: string): number | undefined {
  const m = CHALLENGE.exec(challenge);
  const bits = m ? Number(m[1]) : 0;
  return bits >= 1 && bits <= 32 ? bits : undefined;
}

function leadingZeroBits(h: Uint8Array): number {
  let n = 0;
  for (const b of h) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

/**
 * Solves challenge for the body whose SHA-256 is bodySha256 and returns the
 * Sotto-PoW header value. It yields to the event loop every few thousand
 * hashes, so a page stays responsive and signal can stop it.
 */
export async function solvePoW(challenge: string, bodySha256: Uint8Array, maxBits = DEFAULT_MAX_POW_BITS, signal?: AbortSignal): Promise<string> {
  const bits = challengeBits(challenge);
  if (bits === undefined) throw new SottoError("sotto: proof of work: malformed challenge");
  if (bits > maxBits) throw new PoWTooHardError(`sotto: proof of work too hard: ${bits} bits asked, at most ${maxBits} solved`);
  const input = concat(utf8("sotto/v1 pow\0"), utf8(challenge), Uint8Array.of(0), new Uint8Array(8), bodySha256);
  const at = input.length - 32 - 8;
  const view = new DataView(input.buffer, input.byteOffset + at, 8);
  for (let n = 0; ; n++) {
    view.setUint32(0, Math.floor(n / 2 ** 32));
    view.setUint32(4, n >>> 0);
    if (leadingZeroBits(sha256(input)) >= bits) {
      return `${challenge};nonce=${b64uEncode(input.subarray(at, at + 8))}`;
    }
    if (n % 4096 === 4095) {
      await new Promise((r) => setTimeout(r, 0));
      if (signal?.aborted) throw new AbortedError();
    }
  }
}
