// Small rules of the protocol the vectors do not spell: the X-Wing key
// check, strict base64url, time spelling, and requests refused before
// sending (naming fields, never content).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { Conversation, InvalidRequestError, KeyConfigError, SUITE_XWING, b64uDecode, seal, xwingKeyValid } from "../dist/index.js";
import { fromHex } from "../dist/bytes.js";
import { parseTime } from "../dist/keyconfig.js";
import { marshalRequest } from "../dist/request.js";

const here = dirname(fileURLToPath(import.meta.url));
const vectors = JSON.parse(readFileSync(join(here, "..", "..", "..", "testdata", "protocol-vectors.json"), "utf8"));

test("X-Wing: a key with an ML-KEM coefficient >= q is unusable (FIPS 203 7.2)", async () => {
  const pk = fromHex(vectors.cases[1].pk_r);
  assert.ok(xwingKeyValid(pk));
  // The first coefficient is bytes 0 and 1 (low nibble); the last, bytes 1150 (high nibble) and 1151.
  const withFirst = (c) => { const k = pk.slice(); k[0] = c & 0xff; k[1] = (k[1] & 0xf0) | (c >> 8); return k; };
  const withLast = (c) => { const k = pk.slice(); k[1150] = (k[1150] & 0x0f) | ((c & 0x0f) << 4); k[1151] = c >> 4; return k; };
  assert.ok(xwingKeyValid(withFirst(3328)) && xwingKeyValid(withLast(3328)), "3328 = q-1 is valid");
  for (const [name, bad] of [["first 3329", withFirst(3329)], ["first 4095", withFirst(4095)], ["last 3329", withLast(3329)], ["last 4095", withLast(4095)]]) {
    assert.equal(xwingKeyValid(bad), false, name);
    await assert.rejects(seal(SUITE_XWING, 2, bad, new TextEncoder().encode("{}"), 0, new Uint8Array(16)), (e) => e instanceof KeyConfigError && e.reason === "no-key");
  }
  const x25519Tail = pk.slice();
  x25519Tail[1215] ^= 0xff; // the X25519 half is not range-checked
  assert.ok(xwingKeyValid(x25519Tail));
});

test("base64url is strict: alphabet, no padding, canonical last character", () => {
  assert.deepEqual(b64uDecode("AQ"), Uint8Array.of(1));
  for (const bad of ["AR", "AQ==", "A", "AQ\n", "A+", "A/", "AQ=", "AQ A"]) assert.equal(b64uDecode(bad), undefined, bad);
});

test("times are exactly YYYY-MM-DDTHH:MM:SSZ and real dates", () => {
  assert.equal(parseTime("2026-01-01T00:00:00Z"), 1767225600);
  assert.equal(parseTime("1969-12-31T23:59:59Z"), -1);
  for (const bad of ["2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.0Z", "2026-01-01T00:00:00+00:00", "2026-1-01T00:00:00Z", "2026-01-01t00:00:00z"]) {
    assert.throws(() => parseTime(bad), (e) => e.reason === "time-format", bad);
  }
});

test("requests the protocol cannot carry are refused before sending, naming fields only", () => {
  const msg = [{ role: "user", content: "secret words" }];
  const ok = new TextDecoder().decode(marshalRequest({ messages: msg, max_tokens: 5, temperature: 0, seed: 2n ** 64n - 1n, stop: ["</s>"], top_k: 3, top_p: 1 }));
  assert.equal(ok, '{"messages":[{"role":"user","content":"secret words"}],"max_tokens":5,"temperature":0,"top_p":1,"top_k":3,"seed":18446744073709551615,"stop":["</s>"]}');
  const conv = new Conversation(30);
  const withCache = JSON.parse(new TextDecoder().decode(marshalRequest({ messages: msg, conversation: conv })));
  assert.equal(withCache.cache.ttl, 30);
  assert.equal(b64uDecode(withCache.cache.secret).length, 16);
  // "shape" last, after "cache", as the Go client writes it (protocol 5.5).
  const shaped = new TextDecoder().decode(marshalRequest({ messages: msg, max_tokens: 5, conversation: conv }, true));
  assert.deepEqual(Object.keys(JSON.parse(shaped)), ["messages", "max_tokens", "cache", "shape"]);
  assert.ok(shaped.endsWith(',"shape":"constant"}'));
  conv.forget();
  assert.equal(JSON.parse(new TextDecoder().decode(marshalRequest({ messages: msg, conversation: conv }))).cache, undefined);
  for (const [i, bad] of [
    { messages: [] }, { messages: [{ role: "tool", content: "secret words" }] }, { messages: [{ role: "user", content: "secret \ud800 words" }] },
    { messages: msg, temperature: NaN }, { messages: msg, max_tokens: 0 }, { messages: msg, max_tokens: 1.5 }, { messages: msg, seed: -1 },
    { messages: msg, seed: 2n ** 64n }, { messages: msg, stop: ["\udc00"] }, { messages: [{ role: "user", content: "x".repeat(262145) }] },
  ].entries()) {
    assert.throws(() => marshalRequest(bad), (e) => e instanceof InvalidRequestError && !e.message.includes("secret"), `case ${i}`);
  }
});
