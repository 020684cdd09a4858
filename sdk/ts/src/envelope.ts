// The sealed request (protocol section 3): header, HPKE base mode to the
// server's key, padding of the inner request (3.1), and the exporter
// secret the reply is keyed with (5.1).

import { concat, i2osp, own, utf8 } from "./bytes.js";
import { InvalidRequestError, KeyConfigError } from "./errors.js";
import { cipherSuite, xwingKeyValid, type Suite } from "./suite.js";

/** Largest padded inner request (256 KiB). */
export const MAX_REQUEST_PADDED = 262144;
const MIN_REQUEST_PADDED = 256;
const INFO_LABEL = utf8("sotto/v1 request\0");
const EXPORT_LABEL = utf8("sotto/v1 response");

/** P = max(256, the smallest power of two >= n) for 1 <= n <= 262144; undefined otherwise. */
export function paddedLength(n: number): number | undefined {
  if (!Number.isInteger(n) || n < 1 || n > MAX_REQUEST_PADDED) return undefined;
  let p = MIN_REQUEST_PADDED;
  while (p < n) p *= 2;
  return p;
}

/** inner || 0x00 * (P - len(inner)). */
export function pad(inner: Uint8Array): Uint8Array {
  const p = paddedLength(inner.length);
  if (p === undefined) throw new InvalidRequestError(`sotto: inner request of ${inner.length} bytes (1..${MAX_REQUEST_PADDED})`);
  if (inner[inner.length - 1] === 0) throw new InvalidRequestError("sotto: inner request ends in 0x00");
  const out = new Uint8Array(p);
  out.set(inner);
  return out;
}

/** hdr = 0x01 || key_id || kem_id || kdf_id || aead_id || ts(8, ms) || rid(16). */
export function header(suite: Suite, keyId: number, ts: number, rid: Uint8Array): Uint8Array {
  if (rid.length !== 16) throw new Error("sotto: rid must be 16 bytes");
  return concat(Uint8Array.of(1, keyId), i2osp(suite.kem, 2), i2osp(suite.kdf, 2), i2osp(suite.aead, 2), i2osp(BigInt(ts), 8), rid);
}

/** What a sealed request leaves the client to read its reply with. */
export interface Sealed {
  /** hdr || enc || ct: the POST body. */
  body: Uint8Array;
  enc: Uint8Array;
  /** Export(ctx, "sotto/v1 response", 32). */
  secret: Uint8Array;
}

/**
 * Seals inner (the inner request JSON) to the public key pk. ekm fixes the
 * ephemeral input (vectors only: the DeriveKeyPair ikm for X25519, the
 * 64-byte encapsulation seed for X-Wing); leave it out otherwise.
 */
export async function seal(
  suite: Suite, keyId: number, pk: Uint8Array, inner: Uint8Array, ts: number, rid: Uint8Array, ekm?: Uint8Array,
): Promise<Sealed> {
  if (pk.length !== suite.npk || (suite.name === "xwing" && !xwingKeyValid(pk))) {
    throw new KeyConfigError("no-key", `unusable ${suite.name} public key`);
  }
  const padded = pad(inner);
  const hdr = header(suite, keyId, ts, rid);
  const cs = cipherSuite(suite);
  const recipientPublicKey = await cs.kem.deserializePublicKey(own(pk));
  const ctx = await cs.createSenderContext({
    recipientPublicKey,
    info: own(concat(INFO_LABEL, hdr)),
    ...(ekm ? { ekm: own(ekm) } : {}),
  });
  const ct = new Uint8Array(await ctx.seal(own(padded), new Uint8Array(0)));
  const secret = new Uint8Array(await ctx.export(own(EXPORT_LABEL), 32));
  const enc = new Uint8Array(ctx.enc);
  return { body: concat(hdr, enc, ct), enc, secret };
}
