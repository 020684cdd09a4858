// The client's rules against a scripted server: #key refresh (from the
// problem's key_config, else GET /api/pubkey once), one #date retry with
// the server's clock, proof of work bound to the new body, Retry-After,
// rollback and conflict refusals across a restart, a typed error for every
// problem of section 6, and aborts while waiting.

import assert from "node:assert/strict";
import { test } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  AbortedError, DateProblem, KeyConfigError, KeyProblem, MemoryStore, PoWProblem, PoWTooHardError, ProblemError,
  PROBLEM_NAMES, RateLimitedProblem, RequestProblem, SottoClient, WebCryptoDevice, EnvelopeProblem, ReplayProblem,
  DeviceProblem, TooLargeProblem, MediaTypeProblem, OverloadedProblem, InternalProblem, b64uDecode, acceptKeyConfig,
} from "../dist/index.js";
import { fakeFetch, hpkeKey, keyIdOf, problem, signedDoc, signer, tsOf } from "./fake.mjs";

const now = Math.floor(Date.now() / 1000);
const device = await WebCryptoDevice.generate("ed25519");
const s = await signer();
const pk1 = await hpkeKey();
const pk2 = await hpkeKey();
const doc = (issuedAt, keys) => signedDoc(s, { issuedAt, expires: now + 86400, keys });
const key = (id, pk, extra = {}) => ({ id, pk, notBefore: now - 3600, notAfter: now + 7200, ...extra });
const doc1 = await doc(now - 600, [key(1, pk1)]);
const doc2 = await doc(now - 60, [key(2, pk2)]);
const pubkey = (text) => () => new Response(text, { headers: { "Content-Type": "application/json", Date: new Date().toUTCString() } });
const req = { messages: [{ role: "user", content: "hi" }] };
const client = (f, extra = {}) => new SottoClient({ baseURL: "http://sotto.test", pin: s.pin, device, fetch: f, ...extra });

test("#key with a newer key_config: retried at once with the new key", async () => {
  const f = fakeFetch({
    pubkey: pubkey(doc1),
    chat: (r, n) => (n === 0 ? problem(422, "key", { members: { key_config: JSON.parse(doc2) } }) : problem(400, "request", { members: { code: "json" } })),
  });
  await assert.rejects(client(f).chat.create(req), (e) => e instanceof RequestProblem && e.code === "json");
  assert.deepEqual(f.chats().map((c) => keyIdOf(c.body)), [1, 2]);
  assert.equal(f.pubkeys(), 1);
});

test("#key with a stale key_config: GET /api/pubkey once, then the newer document", async () => {
  let served = doc1;
  const f = fakeFetch({
    pubkey: () => pubkey(served)(),
    chat: (r, n) => {
      served = doc2; // rotated meanwhile
      return n === 0 ? problem(422, "key", { members: { key_config: JSON.parse(doc1) } }) : problem(400, "request", { members: { code: "json" } });
    },
  });
  await assert.rejects(client(f).chat.create(req), RequestProblem);
  assert.deepEqual(f.chats().map((c) => keyIdOf(c.body)), [1, 2]);
  assert.equal(f.pubkeys(), 2);
});

test("#key with nothing newer anywhere is a KeyProblem, not a loop", async () => {
  const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => problem(422, "key", { members: { key_config: JSON.parse(doc1) } }) });
  await assert.rejects(client(f).chat.create(req), KeyProblem);
  assert.equal(f.chats().length, 1);
  assert.equal(f.pubkeys(), 2);
});

test("#key again after a refresh is a KeyProblem", async () => {
  const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => problem(422, "key", { members: { key_config: JSON.parse(doc2) } }) });
  await assert.rejects(client(f).chat.create(req), KeyProblem);
  assert.deepEqual(f.chats().map((c) => keyIdOf(c.body)), [1, 2]);
});

test("#date: one retry with the server's clock, then a DateProblem", async () => {
  const ahead = Date.now() + 10 * 60_000;
  const f = fakeFetch({
    pubkey: pubkey(doc1),
    chat: () => problem(400, "date", { headers: { Date: new Date(ahead).toUTCString() } }),
  });
  await assert.rejects(client(f).chat.create(req), DateProblem);
  const ts = f.chats().map((c) => tsOf(c.body));
  assert.equal(ts.length, 2);
  assert.ok(Math.abs(ts[0] - Date.now()) < 5 * 60_000, "first ts at the local clock");
  assert.ok(Math.abs(ts[1] - ahead) < 5 * 60_000, "second ts at the server's clock");
  assert.notDeepEqual(f.chats()[0].body.subarray(16, 32), f.chats()[1].body.subarray(16, 32), "a fresh rid");
});

test("#pow: the answer is solved for the new body and sent in Sotto-PoW", async () => {
  const challenge = `v1;bits=8;exp=${now + 120};salt=AAAAAAAAAAAAAAAAAAAAAA;mac=AAAAAAAAAAAAAAAAAAAAAA`;
  const f = fakeFetch({
    pubkey: pubkey(doc1),
    chat: (r, n) => (n === 0 ? problem(429, "pow", { members: { challenge } }) : problem(400, "request", { members: { code: "json" } })),
  });
  await assert.rejects(client(f).chat.create(req), RequestProblem);
  const [first, second] = f.chats();
  assert.equal(first.headers.get("Sotto-PoW"), null);
  const answer = second.headers.get("Sotto-PoW");
  assert.ok(answer.startsWith(challenge + ";nonce="));
  const nonce = b64uDecode(answer.slice(challenge.length + 7));
  const te = new TextEncoder();
  const work = sha256(new Uint8Array([...te.encode("sotto/v1 pow\0" + challenge + "\0"), ...nonce, ...sha256(second.body)]));
  assert.equal(work[0], 0, "8 leading zero bits over this body");
});

test("#pow harder than maxPoWBits is PoWTooHardError", async () => {
  const challenge = `v1;bits=30;exp=${now + 120};salt=AAAAAAAAAAAAAAAAAAAAAA;mac=AAAAAAAAAAAAAAAAAAAAAA`;
  const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => problem(429, "pow", { headers: { "Sotto-PoW-Challenge": challenge } }) });
  await assert.rejects(client(f).chat.create(req), PoWTooHardError);
});

test("Retry-After: thrown at once by default, waited out with maxRetries", async () => {
  const limited = () => problem(429, "rate-limited", { headers: { "Retry-After": "1" } });
  let f = fakeFetch({ pubkey: pubkey(doc1), chat: limited });
  await assert.rejects(client(f).chat.create(req), (e) => e instanceof RateLimitedProblem && e.retryAfterMs === 1000);
  assert.equal(f.chats().length, 1);
  f = fakeFetch({ pubkey: pubkey(doc1), chat: (r, n) => (n === 0 ? limited() : problem(503, "overloaded", { headers: { "Retry-After": "7" } })) });
  await assert.rejects(client(f, { maxRetries: 1 }).chat.create(req), (e) => e instanceof OverloadedProblem && e.retryAfterMs === 7000);
  assert.equal(f.chats().length, 2);
});

test("abort while waiting out Retry-After is AbortedError", async () => {
  const ac = new AbortController();
  const f = fakeFetch({
    pubkey: pubkey(doc1),
    chat: () => {
      setTimeout(() => ac.abort(), 20); // while the client waits
      return problem(503, "overloaded", { headers: { "Retry-After": "600" } });
    },
  });
  const p = client(f, { maxRetries: 3 }).chat.create(req, { signal: ac.signal });
  await assert.rejects(p, AbortedError);
  assert.equal(f.chats().length, 1);
});

test("every problem of section 6 is its own class", async () => {
  const classes = {
    envelope: EnvelopeProblem, request: RequestProblem, date: DateProblem, replay: ReplayProblem, device: DeviceProblem,
    "too-large": TooLargeProblem, "media-type": MediaTypeProblem, key: KeyProblem, "rate-limited": RateLimitedProblem,
    pow: PoWProblem, overloaded: OverloadedProblem, internal: InternalProblem,
  };
  assert.deepEqual([...PROBLEM_NAMES].sort(), Object.keys(classes).sort());
  const status = { envelope: 400, request: 400, date: 400, replay: 400, device: 401, "too-large": 413, "media-type": 415, key: 422, "rate-limited": 429, pow: 429, overloaded: 503, internal: 500 };
  for (const [name, C] of Object.entries(classes)) {
    const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => problem(status[name], name) });
    await assert.rejects(client(f).chat.create(req), (e) => e instanceof C && e.problem === name && e.status === status[name], name);
  }
  const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => new Response("<html>bad gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } }) });
  await assert.rejects(client(f).chat.create(req), (e) => e.constructor === ProblemError && e.problem === "" && e.status === 502 && !/html/.test(e.message));
});

test("a restarted client refuses a rolled-back document (held in its store)", async () => {
  const store = new MemoryStore();
  // Holds doc2 (newer), whose only key has passed its not_after.
  const newerExpiredKey = await doc(now - 60, [key(2, pk2, { notBefore: now - 7200, notAfter: now - 1 })]);
  await client(fakeFetch({ pubkey: pubkey(newerExpiredKey), chat: () => problem(400, "request") }), { store }).chat.create(req).catch(() => {});
  assert.equal(await store.load(), newerExpiredKey);
  const f = fakeFetch({ pubkey: pubkey(doc1), chat: () => problem(400, "request") });
  await assert.rejects(client(f, { store }).chat.create(req), (e) => e instanceof KeyConfigError && e.reason === "rollback");
  assert.equal(f.chats().length, 0, "nothing sealed to the rolled-back key");
});

test("same issued_at, different signed bytes: conflict", async () => {
  const a = await doc(now - 60, [key(1, pk1)]);
  const b = await doc(now - 60, [key(1, pk2)]);
  const held = await acceptKeyConfig(undefined, a, s.pub, Date.now());
  await acceptKeyConfig(held, a, s.pub, Date.now()); // the same document again
  await assert.rejects(acceptKeyConfig(held, b, s.pub, Date.now()), (e) => e.reason === "conflict");
  const spelled = JSON.stringify({ extra: 1, ...JSON.parse(a) }, null, 2); // unsigned members and spelling differ
  await acceptKeyConfig(held, spelled, s.pub, Date.now());
  for (const bad of [a.replace('"key_id":1', '"key_id":1.0'), a.replace('"key_id":1', '"key_id":"1"'), a.replace('"kem_id":32', '"kem_id":3.2e1')]) {
    await assert.rejects(acceptKeyConfig(undefined, bad, s.pub, Date.now()), (e) => e.reason === "malformed");
  }
});
