// Device keys (protocol section 3.3): the Sotto-Device header names the
// device's public key; Sotto-Signature signs
// m = "sotto/v1 device" || 0x00 || SHA-256(body). Keys are WebCrypto
// CryptoKeys, so in a browser the private key can be non-extractable.

import { sha256 } from "@noble/hashes/sha2.js";
import { b64uEncode, concat, fromHex, own, utf8 } from "./bytes.js";

/** A device key: names the device and signs request bodies. Hardware keystores fit here. */
export interface DeviceSigner {
  /** The Sotto-Device value: "ed25519:<b64u 32 bytes>" or "p256:<b64u 33-byte compressed point>". */
  readonly device: string;
  /** The Sotto-Signature value for body. */
  sign(body: Uint8Array): Promise<string>;
}

export type DeviceAlg = "ed25519" | "p256";

/** m = "sotto/v1 device" || 0x00 || SHA-256(body). */
export function deviceMessage(body: Uint8Array): Uint8Array {
  return concat(utf8("sotto/v1 device\0"), sha256(body));
}

function algorithm(alg: DeviceAlg): EcKeyImportParams | Algorithm {
  return alg === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
}

/** A device key held as a WebCrypto key pair. */
export class WebCryptoDevice implements DeviceSigner {
  private constructor(readonly alg: DeviceAlg, readonly keyPair: CryptoKeyPair, readonly device: string) {}

  /** Wraps an existing key pair (for instance one read back from IndexedDB). */
  static async fromKeyPair(alg: DeviceAlg, keyPair: CryptoKeyPair): Promise<WebCryptoDevice> {
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keyPair.publicKey));
    return new WebCryptoDevice(alg, keyPair, `${alg}:${b64uEncode(alg === "p256" ? compress(raw) : raw)}`);
  }

  /** A new key; non-extractable unless asked (the private key then never leaves WebCrypto). */
  static async generate(alg: DeviceAlg = "ed25519", extractable = false): Promise<WebCryptoDevice> {
    const kp = (await crypto.subtle.generateKey(algorithm(alg) as EcKeyGenParams, extractable, ["sign", "verify"])) as CryptoKeyPair;
    return WebCryptoDevice.fromKeyPair(alg, kp);
  }

  /** Imports a 32-byte Ed25519 seed (the private key of `sotto device init` files), non-extractable. */
  static async fromEd25519Seed(seed: Uint8Array): Promise<WebCryptoDevice> {
    if (seed.length !== 32) throw new Error("sotto: an Ed25519 seed is 32 bytes");
    const pkcs8 = concat(fromHex("302e020100300506032b657004220420"), seed);
    const priv = await crypto.subtle.importKey("pkcs8", own(pkcs8), { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", priv);
    const pub = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, true, ["verify"]);
    const privateKey = await crypto.subtle.importKey("pkcs8", own(pkcs8), { name: "Ed25519" }, false, ["sign"]);
    return WebCryptoDevice.fromKeyPair("ed25519", { privateKey, publicKey: pub });
  }

  async sign(body: Uint8Array): Promise<string> {
    const params = this.alg === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    // ECDSA hashes its input: the signature is over SHA-256(m), raw r || s.
    return b64uEncode(new Uint8Array(await crypto.subtle.sign(params, this.keyPair.privateKey, own(deviceMessage(body)))));
  }
}

/** SEC1 compressed form of an uncompressed P-256 point (0x04 || x || y). */
export function compress(raw: Uint8Array): Uint8Array {
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("sotto: not an uncompressed P-256 point");
  return concat(Uint8Array.of(2 | (raw[64] & 1)), raw.subarray(1, 33));
}
