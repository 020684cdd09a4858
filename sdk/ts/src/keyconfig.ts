// The signed key configuration (protocol section 2): strict parsing, the
// signed bytes (tbs), Ed25519 verification against the pinned key, the
// client's acceptance rules (including the rollback rule) and the choice
// of key. A mirror of crypto/keyconfig and client/keystate.go.

import { sha256 } from "@noble/hashes/sha2.js";
import { b64uDecode, b64uEncode, concat, equalBytes, i2osp, own, utf8 } from "./bytes.js";
import { KeyConfigError } from "./errors.js";
import { members, parseJSON, str, uint, type JValue } from "./json.js";
import { suiteByIds, type Suite } from "./suite.js";

/** How far in the future issued_at may lie (rule 4). */
export const MAX_CLOCK_SKEW_MS = 60_000;

/** One published key; times in Unix seconds, not_after exclusive. */
export interface Key {
  keyId: number;
  kem: number;
  kdf: number;
  aead: number;
  suite?: Suite; // undefined for a suite this client does not know
  publicKey: Uint8Array;
  notBefore: number;
  notAfter: number;
  state: "current" | "next";
}

/** A parsed (not yet verified) key configuration document. */
export interface KeyConfig {
  issuedAt: number;
  expires: number;
  keys: Key[];
  signature: { alg: string; signingKeyId: string; sig: Uint8Array };
}

const TIME = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;

/** Parses a time spelled exactly YYYY-MM-DDTHH:MM:SSZ to Unix seconds. */
export function parseTime(s: string | undefined): number {
  const m = s === undefined ? null : TIME.exec(s);
  if (!m) throw new KeyConfigError("time-format");
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, se, 0);
  // Date normalizes out-of-range fields (Feb 30, 24:00); a round trip refuses them.
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d ||
      t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== se) {
    throw new KeyConfigError("time-format");
  }
  return t.getTime() / 1000;
}

/** signing_key_id = b64u(SHA-256(pinned key)[0:8]). */
export function signingKeyId(pinned: Uint8Array): string {
  return b64uEncode(sha256(pinned).subarray(0, 8));
}

/** Reads a pin "ed25519:<b64u 32 bytes>" (sotto keys show --pin) or raw 32 bytes. */
export function parsePin(pin: string | Uint8Array): Uint8Array {
  const raw = typeof pin === "string" ? (pin.startsWith("ed25519:") ? b64uDecode(pin.slice(8)) : undefined) : pin;
  if (!raw || raw.length !== 32) throw new KeyConfigError("unpinned", "the pin must be ed25519:<base64url of 32 bytes>");
  return raw;
}

function malformed(why: string): never {
  throw new KeyConfigError("malformed", why);
}

function parseKey(v: JValue): Key {
  const m = members(v) ?? malformed("key is not an object or has a duplicate member");
  const keyId = uint(m.get("key_id"), 255);
  const kem = uint(m.get("kem_id"), 0xffff);
  const kdf = uint(m.get("kdf_id"), 0xffff);
  const aead = uint(m.get("aead_id"), 0xffff);
  if (keyId === undefined || kem === undefined || kdf === undefined || aead === undefined) {
    malformed("key without key_id, kem_id, kdf_id or aead_id as digits in range");
  }
  const publicKey = b64uDecode(str(m.get("public_key")) ?? "");
  if (!publicKey || publicKey.length === 0 || publicKey.length > 0xffff) malformed("bad public_key");
  const suite = suiteByIds(kem, kdf, aead);
  if (suite && publicKey.length !== suite.npk) malformed("public_key length does not match its suite");
  const state = str(m.get("state"));
  if (state !== "current" && state !== "next") malformed("unknown key state");
  return {
    keyId, kem, kdf, aead, suite, publicKey, state,
    notBefore: parseTime(str(m.get("not_before"))),
    notAfter: parseTime(str(m.get("not_after"))),
  };
}

/**
 * Parses a document and checks its form (every member present, times
 * spelled exactly, ids as digits, strict base64url, unique key ids).
 * Members the protocol does not define are ignored; a duplicate member is
 * refused (the protocol allows either).
 */
export function parseKeyConfig(text: string): KeyConfig {
  const m = members(parseJSON(text)) ?? malformed("not a JSON object, or a duplicate member");
  const issuedAt = parseTime(str(m.get("issued_at")));
  const expires = parseTime(str(m.get("expires")));
  const keysV = m.get("keys");
  if (keysV?.t !== "arr" || keysV.items.length === 0 || keysV.items.length > 255) malformed("keys must hold 1 to 255 keys");
  const keys = keysV.items.map(parseKey);
  if (new Set(keys.map((k) => k.keyId)).size !== keys.length) malformed("duplicate key_id");
  const sm = members(m.get("signature")) ?? malformed("bad signature member");
  const alg = str(sm.get("alg"));
  const signingKeyId = str(sm.get("signing_key_id"));
  const sig = b64uDecode(str(sm.get("sig")) ?? "!");
  if (!alg || !signingKeyId || !sig) malformed("bad signature member");
  return { issuedAt, expires, keys, signature: { alg, signingKeyId, sig } };
}

/** The signed bytes (section 2). */
export function tbs(d: KeyConfig): Uint8Array {
  const parts = [utf8("sotto/v1 key config\0"), i2osp(d.issuedAt, 8), i2osp(d.expires, 8), i2osp(d.keys.length, 2)];
  for (const k of d.keys) {
    parts.push(
      Uint8Array.of(k.keyId), i2osp(k.kem, 2), i2osp(k.kdf, 2), i2osp(k.aead, 2), Uint8Array.of(k.state === "current" ? 1 : 2),
      i2osp(k.notBefore, 8), i2osp(k.notAfter, 8), i2osp(k.publicKey.length, 2), k.publicKey,
    );
  }
  return concat(...parts);
}

/** Verifies the document's signature with the pinned Ed25519 key (WebCrypto). */
export async function verifyKeyConfig(d: KeyConfig, pinned: Uint8Array): Promise<void> {
  if (d.signature.alg !== "ed25519" || d.signature.signingKeyId !== signingKeyId(pinned)) {
    throw new KeyConfigError("unpinned");
  }
  let ok = false;
  try {
    const key = await crypto.subtle.importKey("raw", own(pinned), { name: "Ed25519" }, false, ["verify"]);
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key, own(d.signature.sig), own(tbs(d)));
  } catch {
    ok = false;
  }
  if (!ok) throw new KeyConfigError("signature");
}

/**
 * The client's rules (section 2): the document to hold from now on, or a
 * KeyConfigError (the caller keeps held). nowMs is the time to judge at.
 * held must itself have been accepted before.
 */
export async function acceptKeyConfig(held: KeyConfig | undefined, candidate: string, pinned: Uint8Array, nowMs: number): Promise<KeyConfig> {
  const d = parseKeyConfig(candidate);
  await verifyKeyConfig(d, pinned);
  if (nowMs >= d.expires * 1000) throw new KeyConfigError("expired");
  if (d.issuedAt * 1000 > nowMs + MAX_CLOCK_SKEW_MS) throw new KeyConfigError("future");
  if (!held) return d;
  if (d.issuedAt < held.issuedAt) throw new KeyConfigError("rollback");
  if (d.issuedAt === held.issuedAt && !equalBytes(tbs(d), tbs(held))) throw new KeyConfigError("conflict");
  return d;
}

/**
 * The key to seal to (section 2, key choice): among keys of suite whose
 * not_after has not passed at serverNowMs, the current key with the latest
 * not_before, else the next key with the earliest not_before that has
 * passed. A current key's not_before is not checked.
 */
export function pickKey(d: KeyConfig, suite: Suite, serverNowMs: number): Key | undefined {
  const t = serverNowMs / 1000;
  let cur: Key | undefined;
  let next: Key | undefined;
  for (const k of d.keys) {
    if (k.suite !== suite || t >= k.notAfter) continue;
    if (k.state === "current" && (!cur || k.notBefore > cur.notBefore)) cur = k;
    else if (k.state === "next" && t >= k.notBefore && (!next || k.notBefore < next.notBefore)) next = k;
  }
  return cur ?? next;
}
