// The two HPKE suites of protocol v1 (section 1) and their hpke-js
// cipher suites.

import { CipherSuite } from "@hpke/core";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";

/** A suite of section 1. */
export interface Suite {
  readonly name: "x25519" | "xwing";
  readonly kem: number;
  readonly kdf: number;
  readonly aead: number;
  /** Public key and enc sizes. */
  readonly npk: number;
  readonly nenc: number;
}

/** X25519 / HKDF-SHA256 / ChaCha20-Poly1305: the default. */
export const SUITE_X25519: Suite = { name: "x25519", kem: 0x0020, kdf: 0x0001, aead: 0x0003, npk: 32, nenc: 32 };
/** X-Wing (ML-KEM-768 + X25519) / HKDF-SHA256 / ChaCha20-Poly1305: post-quantum. */
export const SUITE_XWING: Suite = { name: "xwing", kem: 0x647a, kdf: 0x0001, aead: 0x0003, npk: 1216, nenc: 1120 };

export const SUITES: readonly Suite[] = [SUITE_X25519, SUITE_XWING];

/** The suite with these ids, or undefined (a suite the client does not know). */
export function suiteByIds(kem: number, kdf: number, aead: number): Suite | undefined {
  return SUITES.find((s) => s.kem === kem && s.kdf === kdf && s.aead === aead);
}

/** The suite called name ("x25519" or "xwing"). */
export function suiteByName(name: string): Suite | undefined {
  return SUITES.find((s) => s.name === name);
}

const cache = new Map<string, CipherSuite>();

/** The hpke-js cipher suite (pure JavaScript KEMs, so it runs where WebCrypto lacks X25519). */
export function cipherSuite(s: Suite): CipherSuite {
  let cs = cache.get(s.name);
  if (!cs) {
    const kem = s.name === "xwing" ? new XWing() : new DhkemX25519HkdfSha256();
    cs = new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
    cache.set(s.name, cs);
  }
  return cs;
}

/**
 * FIPS 203 section 7.2 encapsulation key check for an X-Wing public key:
 * every 12-bit coefficient of the ML-KEM-768 key (its first 1152 bytes)
 * is below q = 3329. A key that fails is unusable (section 1).
 */
export function xwingKeyValid(pk: Uint8Array): boolean {
  if (pk.length !== SUITE_XWING.npk) return false;
  for (let i = 0; i < 1152; i += 3) {
    const a = pk[i] | ((pk[i + 1] & 0x0f) << 8);
    const b = (pk[i + 1] >> 4) | (pk[i + 2] << 4);
    if (a >= 3329 || b >= 3329) return false;
  }
  return true;
}
