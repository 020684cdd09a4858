// A fake server for the client's retry rules: signed key configurations
// made here, and a fetch that answers each request from a script.

import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { b64uEncode, parseKeyConfig, tbs } from "../dist/index.js";

export const PROBLEM_BASE = "https://sotto.invalid/problems/v1#";
const iso = (s) => new Date(s * 1000).toISOString().replace(".000Z", "Z");

/** An Ed25519 signing key: pin string and a sign(bytes) function. */
export async function signer() {
  const kp = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", kp.publicKey));
  return { pin: "ed25519:" + b64uEncode(pub), pub, sign: async (b) => new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, kp.privateKey, b)) };
}

/** An X25519 public key (32 bytes). */
export async function hpkeKey() {
  const kem = new DhkemX25519HkdfSha256();
  const kp = await kem.generateKeyPair();
  return new Uint8Array(await kem.serializePublicKey(kp.publicKey));
}

/** A signed key configuration (JSON text): issuedAt and expires in Unix seconds, keys [{id, pk, notBefore, notAfter, state}]. */
export async function signedDoc(s, { issuedAt, expires, keys }) {
  const doc = {
    issued_at: iso(issuedAt), expires: iso(expires),
    keys: keys.map((k) => ({ key_id: k.id, kem_id: 32, kdf_id: 1, aead_id: 3, public_key: b64uEncode(k.pk),
      not_before: iso(k.notBefore), not_after: iso(k.notAfter), state: k.state ?? "current" })),
    signature: { alg: "ed25519", signing_key_id: "", sig: "AA" },
  };
  const { signingKeyId } = await import("../dist/index.js");
  doc.signature.signing_key_id = signingKeyId(s.pub);
  doc.signature.sig = b64uEncode(await s.sign(tbs(parseKeyConfig(JSON.stringify(doc)))));
  return JSON.stringify(doc);
}

/** A problem response. */
export function problem(status, name, { members = {}, headers = {} } = {}) {
  return new Response(JSON.stringify({ type: PROBLEM_BASE + name, title: name, status, ...members }), {
    status, headers: { "Content-Type": "application/problem+json", Date: new Date().toUTCString(), ...headers },
  });
}

/**
 * A fetch answering from handlers: pubkey(req) and chat(req, n), where req
 * is { url, headers, body (Uint8Array) } and n counts chats from 0. Every
 * request is recorded in calls.
 */
export function fakeFetch({ pubkey, chat }) {
  const calls = [];
  const f = async (url, init = {}) => {
    init.signal?.throwIfAborted();
    const req = { url, headers: new Headers(init.headers), body: init.body ? new Uint8Array(init.body) : undefined };
    calls.push(req);
    if (url.endsWith("/api/pubkey")) return pubkey(req);
    return chat(req, calls.filter((c) => c.url.endsWith("/api/chat")).length - 1);
  };
  f.calls = calls;
  f.chats = () => calls.filter((c) => c.url.endsWith("/api/chat"));
  f.pubkeys = () => calls.filter((c) => c.url.endsWith("/api/pubkey")).length;
  return f;
}

export const keyIdOf = (body) => body[1];
export const tsOf = (body) => Number(new DataView(body.buffer, body.byteOffset).getBigUint64(8));
