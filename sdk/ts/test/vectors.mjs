// Checks of the protocol vectors through the SDK, as functions that throw
// on the first mismatch, so the suite can run them on the real files and
// on corrupted copies (which must fail).

import assert from "node:assert/strict";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";
import { CipherSuite } from "@hpke/core";
import { DhkemX25519HkdfSha256, HkdfSha256 } from "@hpke/dhkem-x25519";
import { XWing } from "@hpke/hybridkem-x-wing";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  FRAME_CIPHERTEXT_SIZE, FRAME_PLAINTEXT_SIZE, SUITE_X25519, SUITE_XWING, StreamOpener, StreamCorruptError, StreamTruncatedError, WebCryptoDevice, acceptKeyConfig,
  b64uDecode, b64uEncode, chunkNonce, deviceMessage, openStream, paddedLength, parseKeyConfig, responseKeys, seal,
  shapeFrames, signingKeyId, solvePoW, tbs,
} from "../dist/index.js";
import { marshalRequest } from "../dist/request.js";
import { fromHex, toHex } from "../dist/bytes.js";
import { compress } from "../dist/device.js";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

const te = new TextEncoder();
const suiteOf = (c) => (c.suite.name === "xwing" ? SUITE_XWING : SUITE_X25519);

function recipientSuite(c) {
  const kem = c.suite.name === "xwing" ? new XWing() : new DhkemX25519HkdfSha256();
  return new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Chacha20Poly1305() });
}

/** Opens a request body with the vector's private key: the padded inner request. */
export async function openBody(c, body) {
  const s = suiteOf(c);
  const cs = recipientSuite(c);
  const hdr = body.subarray(0, 32);
  const enc = body.subarray(32, 32 + s.nenc);
  const ct = body.subarray(32 + s.nenc);
  const skR = await cs.kem.deserializePrivateKey(fromHex(c.sk_r));
  const ctx = await cs.createRecipientContext({
    recipientKey: skR, enc: enc.slice(), info: new Uint8Array([...te.encode("sotto/v1 request\0"), ...hdr]),
  });
  return new Uint8Array(await ctx.open(ct.slice(), new Uint8Array(0)));
}

function finalOf(json) {
  const f = JSON.parse(json);
  const out = { finishReason: f.finish_reason, promptTokens: f.usage.prompt_tokens, completionTokens: f.usage.completion_tokens };
  if (f.error) out.errorCode = f.error.code;
  return out;
}

/** Feeds sse one byte at a time and returns the text and final, or throws. */
export function openBytewise(enc, secret, sse, acceptShaped = false) {
  const o = new StreamOpener(enc, secret, acceptShaped);
  let text = "";
  let final;
  for (const b of sse) {
    o.feed(Uint8Array.of(b));
    for (let c = o.next(); c; c = o.next()) c.final ? (final = c.final) : (text += c.delta);
  }
  o.end();
  return { text, final };
}

function expectOutcome(enc, secret, sse, outcome, what, acceptShaped = false) {
  for (const open of [(x) => openStream(enc, secret, x, acceptShaped), (x) => openBytewise(enc, secret, x, acceptShaped)]) {
    if (outcome === "ok") {
      open(sse);
      continue;
    }
    const kind = { truncated: StreamTruncatedError, corrupt: StreamCorruptError }[outcome];
    assert.throws(() => open(sse), (e) => (kind ? e instanceof kind : e instanceof StreamTruncatedError || e instanceof StreamCorruptError), `${what}: expected ${outcome}`);
  }
}

/** Request side: seal rebuilds the body byte for byte; the body opens to the padded inner request. */
async function checkRequest(c, ekm) {
  const s = suiteOf(c);
  const inner = te.encode(c.inner_request_json);
  const sealed = await seal(s, c.key_id, fromHex(c.pk_r), inner, c.ts, fromHex(c.rid), fromHex(ekm));
  assert.equal(toHex(sealed.body.subarray(0, 32)), c.hdr, `${c.name}: hdr`);
  assert.equal(toHex(sealed.enc), c.enc, `${c.name}: enc`);
  assert.equal(toHex(sealed.body), c.body, `${c.name}: body`);
  assert.equal(toHex(sealed.secret), c.response.secret, `${c.name}: exporter secret`);
  assert.equal(paddedLength(inner.length), fromHex(c.inner_request_padded).length, `${c.name}: padded length`);
  assert.equal(toHex(await openBody(c, fromHex(c.body))), c.inner_request_padded, `${c.name}: opened inner`);
  for (const n of c.negative_requests) {
    // Refused as the server does (4, step 9): no decryption, or not the exact padding bucket (D1).
    const pt = await openBody(c, fromHex(n.body)).catch(() => undefined);
    let len = pt?.length ?? 0;
    while (len > 0 && pt[len - 1] === 0) len--;
    assert.ok(!pt || paddedLength(len) !== pt.length, `${c.name}/${n.name}: a negative request opened`);
  }
}

/** Response side: key schedule, every chunk, the whole SSE (LF, CRLF, CR, whole and bytewise), negatives. */
function checkResponse(c) {
  const r = c.response;
  const enc = fromHex(c.enc);
  const secret = fromHex(r.secret);
  const { key, nonce } = responseKeys(enc, fromHex(r.response_nonce), secret);
  assert.equal(toHex(key), r.key, `${c.name}: response key`);
  assert.equal(toHex(nonce), r.nonce, `${c.name}: response nonce`);
  for (const ch of r.chunks) {
    assert.equal(toHex(chunkNonce(nonce, ch.i)), ch.nonce_i, `${c.name}: nonce_${ch.i}`);
    const pt = chacha20poly1305(key, fromHex(ch.nonce_i), te.encode(ch.final ? "final" : "")).decrypt(fromHex(ch.ct));
    assert.equal(toHex(pt), ch.plaintext_padded, `${c.name}: chunk ${ch.i}`);
  }
  for (const sse of [r.sse, r.sse.replaceAll("\n", "\r\n"), r.sse.replaceAll("\n", "\r")]) {
    for (const got of [openStream(enc, secret, te.encode(sse)), openBytewise(enc, secret, te.encode(sse))]) {
      assert.equal(got.text, r.reply_text, `${c.name}: reply text`);
      assert.deepEqual(got.final, finalOf(r.final_json), `${c.name}: final`);
    }
  }
  for (const n of c.negative_streams) {
    expectOutcome(enc, secret, te.encode(n.sse), n.error === "truncated" ? "truncated" : n.error ?? "refused", `${c.name}/${n.name}`);
  }
  for (const e of c.stream_edge_cases ?? []) {
    expectOutcome(enc, secret, te.encode(e.sse), e.outcome, `${c.name}/${e.name}`);
    if (e.outcome === "ok") {
      const got = openStream(enc, secret, te.encode(e.sse));
      assert.equal(got.text, e.reply_text, `${e.name}: text`);
      assert.deepEqual(got.final, finalOf(e.final_json), `${e.name}: final`);
    }
  }
  if (r.shaped_stream ?? c.shaped_stream) checkShaped(c, enc, secret, r.shaped_stream ?? c.shaped_stream);
}

/**
 * A shaped stream (5.5): the bucket table, every frame rebuilt byte for
 * byte and opened one at a time to what its kind says (padding: nothing),
 * the whole stream (LF, CRLF, CR; whole and bytewise), and every refused
 * variant as corrupt or truncated.
 */
function checkShaped(c, enc, secret, s) {
  assert.equal(s.frame_plaintext_size, FRAME_PLAINTEXT_SIZE, "frame plaintext size");
  assert.equal(s.frame_ciphertext_size, FRAME_CIPHERTEXT_SIZE, "frame ciphertext size");
  for (const [f, n] of s.buckets) assert.equal(shapeFrames(f), n, `bucket of final frame ${f}`);
  const { key, nonce } = responseKeys(enc, fromHex(s.response_nonce), secret);
  assert.equal(toHex(key), s.key, `${c.name}: shaped key`);
  assert.equal(toHex(nonce), s.nonce, `${c.name}: shaped nonce`);
  const o = new StreamOpener(enc, secret, true);
  o.feed(te.encode(`event: nonce-shaped\ndata: ${b64uEncode(fromHex(s.response_nonce))}\n\n`));
  assert.equal(o.next(), undefined, "nonce event yields nothing");
  assert.ok(o.shaped, "nonce-shaped announces a shaped stream");
  for (const f of s.frames) {
    assert.equal(toHex(chunkNonce(nonce, f.i)), f.nonce_i, `shaped nonce_${f.i}`);
    const pt = fromHex(f.plaintext_padded);
    assert.equal(pt.length, FRAME_PLAINTEXT_SIZE, `frame ${f.i}: plaintext size`);
    assert.equal(new TextDecoder().decode(pt).replace(/\0+$/, ""), f.plaintext_json, `frame ${f.i}: plaintext`);
    const ct = chacha20poly1305(key, fromHex(f.nonce_i), fromHex(s.aad)).encrypt(pt);
    assert.equal(toHex(ct), f.ct, `frame ${f.i}: ct`);
    assert.equal(`data: ${b64uEncode(ct)}\n\n`, f.sse_event, `frame ${f.i}: sse event`);
    o.feed(te.encode(f.sse_event));
    const got = o.next();
    const want = { padding: undefined, delta: { delta: JSON.parse(f.plaintext_json || "{}").delta }, final: { final: f.kind === "final" ? finalOf(f.plaintext_json) : undefined } }[f.kind];
    assert.deepEqual(got, want, `frame ${f.i} (${f.kind})`);
    assert.equal(o.next(), undefined, `frame ${f.i}: one chunk at most`);
  }
  o.end();
  const head = `event: nonce-shaped\ndata: ${b64uEncode(fromHex(s.response_nonce))}\n\n`;
  assert.equal(s.sse, head + s.frames.map((f) => f.sse_event).join(""), "shaped sse is its frames");
  for (const sse of [s.sse, s.sse.replaceAll("\n", "\r\n"), s.sse.replaceAll("\n", "\r")]) {
    for (const got of [openStream(enc, secret, te.encode(sse), true), openBytewise(enc, secret, te.encode(sse), true)]) {
      assert.equal(got.text, s.reply_text, `${c.name}: shaped reply text`);
      assert.deepEqual(got.final, finalOf(s.final_json), `${c.name}: shaped final`);
    }
  }
  expectOutcome(enc, secret, te.encode(s.sse), "corrupt", "shaped stream without asking");
  for (const n of s.negative_streams) expectOutcome(enc, secret, te.encode(n.sse), n.error, `shaped/${n.name}`, true);
}

/** The inner requests the SDK writes: the vectors' valid ones with a shape member, byte for byte. */
function checkInnerRequests(list) {
  let shaped = 0;
  for (const r of list) {
    if (!r.shape || r.error) continue;
    const j = JSON.parse(r.json);
    assert.equal(new TextDecoder().decode(marshalRequest({ messages: j.messages }, true)), r.json, "inner request with shape");
    shaped++;
  }
  assert.ok(shaped > 0, "no inner request vector with a shape member");
}

/** testdata/protocol-vectors.json. */
export async function checkProjectVectors(v) {
  for (const p of v.padding) assert.equal(paddedLength(p.length) ?? 0, p.padded_length, `padding ${p.length}`);
  for (const r of v.inner_requests) {
    if (r.cache_secret === undefined) continue;
    const secret = b64uDecode(JSON.parse(r.json).cache.secret);
    assert.equal(secret && toHex(secret), r.cache_secret, "cache secret");
  }
  checkInnerRequests(v.inner_requests);
  for (const c of v.cases) {
    await checkRequest(c, c.ephemeral_input);
    checkResponse(c);
  }
  const p = v.pow;
  assert.equal(toHex(sha256(fromHex(p.work_input))), p.work_sha256, "pow work hash");
  assert.equal(await solvePoW(p.challenge, fromHex(p.body_sha256), 32), p.sotto_pow_header, "pow answer");
}

async function checkKeyConfig(kc) {
  const pin = fromHex(kc.signing_public_key);
  const docText = JSON.stringify(kc.document);
  const d = parseKeyConfig(docText);
  assert.equal(toHex(tbs(d)), kc.tbs, "key config tbs");
  assert.equal(toHex(d.signature.sig), kc.signature, "key config signature");
  assert.equal(signingKeyId(pin), kc.signing_key_id, "signing key id");
  for (const ch of kc.client_checks) {
    const held = ch.holding_document ? parseKeyConfig(docText) : undefined;
    const p = acceptKeyConfig(held, JSON.stringify(ch.document), pin, Date.parse(ch.now));
    if (ch.expect === "accept") await p;
    else await assert.rejects(p, `key config check ${ch.name} accepted`);
  }
}

function derToRaw(der) {
  // SEQUENCE { INTEGER r, INTEGER s }, each left-padded or stripped to 32 bytes.
  let i = 2;
  const int = () => {
    assert.equal(der[i], 2);
    const n = der[i + 1];
    let v = der.subarray(i + 2, i + 2 + n);
    i += 2 + n;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    const out = new Uint8Array(32);
    out.set(v, 32 - v.length);
    return out;
  };
  return new Uint8Array([...int(), ...int()]);
}

async function checkDeviceSignatures(list) {
  for (const s of list) {
    const body = fromHex(s.body);
    assert.equal(toHex(sha256(body)), s.body_sha256, "device body hash");
    assert.equal(toHex(deviceMessage(body)), s.message, "device message");
    if (s.alg === "ed25519") {
      const d = await WebCryptoDevice.fromEd25519Seed(fromHex(s.private_key));
      assert.equal(d.device, s.sotto_device, "ed25519 Sotto-Device");
      assert.equal(await d.sign(body), s.sotto_signature, "ed25519 signature");
      continue;
    }
    const pkcs8 = fromHex("308141020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420" + s.private_key);
    const priv = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", priv);
    const pub = await crypto.subtle.importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y }, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
    const dev = await WebCryptoDevice.fromKeyPair("p256", { privateKey: priv, publicKey: pub });
    assert.equal(dev.device, s.sotto_device, "p256 Sotto-Device");
    assert.equal(toHex(compress(new Uint8Array(await crypto.subtle.exportKey("raw", pub)))), s.public_key, "p256 public key");
    const sig = fromHex(s.signature);
    const raw = s.encoding === "der" ? derToRaw(sig) : sig;
    assert.equal(b64uEncode(sig), s.sotto_signature, "p256 Sotto-Signature spelling");
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, raw, fromHex(s.message)), `p256 ${s.encoding} signature`);
    const ours = b64uDecode(await dev.sign(body));
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, ours, fromHex(s.message)), "p256 SDK signature");
  }
}

/** ../shared/spec/vectors-v1.json (independent reference vectors). */
export async function checkReferenceVectors(v) {
  await checkKeyConfig(v.key_config);
  await checkDeviceSignatures(v.device_signatures);
  for (const c of v.cases) {
    await checkRequest(c, c.suite.name === "xwing" ? c.eseed : c.ikm_e);
    checkResponse(c);
  }
}
