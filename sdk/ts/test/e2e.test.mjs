// End to end against a real `sotto serve` on loopback (embedded
// stories260K): both suites with both device kinds, the same text as the Go
// client, the conversation cache, a cancel that frees the server's slot, a
// tampered chunk, an unshaped reply (SOTTO_STREAM_SHAPE=off) and
// requireShape, the clock learned from GET /api/pubkey, and the held key
// configuration surviving a restart of the client.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  AbortedError, Conversation, DeviceProblem, ResponseError, SottoClient, StreamCorruptError, StreamTruncatedError, WebCryptoDevice, formatStats,
} from "../dist/index.js";
import { FileStore, readDeviceKeyFile } from "../dist/node.js";
import { breakFreesSlot, requireSotto, sotto, sottoBin, startServe } from "./server.mjs";

const PROMPT = [{ role: "user", content: "Once upon a time" }];
let srv, ed, p256;

before(async (t) => {
  if (!requireSotto(t)) return;
  ed = await WebCryptoDevice.generate("ed25519");
  p256 = await WebCryptoDevice.generate("p256");
  srv = await startServe({
    devices: [ed.device, p256.device],
    env: { SOTTO_SLOTS: "1", SOTTO_CONTEXT: "2048", SOTTO_PREFIX_CACHE_BYTES: String(64 << 20) },
  });
});
after(() => srv?.stop());

const client = (device, extra = {}) => new SottoClient({ baseURL: srv.url, pin: srv.pin, device, ...extra });

// goReply is what `sotto chat -p` (the Go client) answers, greedy.
function goReply(prompt, maxTokens) {
  return execFileSync(sottoBin, ["chat", "--server", srv.url, "--pin", srv.pin, "--device-key", srv.deviceKey,
    "--temperature", "0", "--max-tokens", String(maxTokens), "--quiet", "-p", prompt],
  { encoding: "utf8", env: { ...process.env, XDG_CONFIG_HOME: srv.dir } });
}

test("both suites, both device kinds: the Go client's text", async (t) => {
  if (!srv) return t.skip("no server");
  const want = goReply(PROMPT[0].content, 24).replace(/\n$/, "");
  assert.ok(want.length > 0);
  for (const suite of ["x25519", "xwing"]) {
    for (const [kind, device] of [["ed25519", ed], ["p256", p256]]) {
      const stream = client(device, { suite }).chat.stream({ messages: PROMPT, max_tokens: 24, temperature: 0 });
      let text = "";
      for await (const delta of stream) text += delta;
      const r = await stream.finalResult();
      assert.equal(text, want, `${suite}/${kind}`);
      assert.equal(r.text, want);
      assert.equal(r.finishReason, "length", `${suite}/${kind}`);
      assert.equal(r.completionTokens, 24);
      assert.match(formatStats(r), /^\[24 tokens, first token \d+ ms, [0-9.]+ tokens\/s\]$/);
    }
  }
});

test("a server with SOTTO_STREAM_SHAPE=off: the reply is unshaped; requireShape refuses it", async (t) => {
  if (!srv) return t.skip("no server");
  // p256: the ed25519 device's chats are near the per-device rate limit.
  const r = await client(p256).chat.create({ messages: PROMPT, max_tokens: 4, temperature: 0 });
  assert.equal(r.shaped, false);
  assert.equal(r.completionTokens, 4);
  await assert.rejects(client(p256, { requireShape: true }).chat.create({ messages: PROMPT, max_tokens: 4 }),
    (e) => e instanceof ResponseError && /not shaped/.test(e.message));
});

test("an unenrolled device is a DeviceProblem", async (t) => {
  if (!srv) return t.skip("no server");
  const stranger = await WebCryptoDevice.generate("ed25519");
  await assert.rejects(client(stranger).chat.create({ messages: PROMPT, max_tokens: 4 }), (e) => e instanceof DeviceProblem && e.status === 401);
});

test("conversation cache: the second turn reuses the first's prompt", async (t) => {
  if (!srv) return t.skip("no server");
  const c = client(ed);
  const conv = new Conversation(60);
  const messages = [{ role: "user", content: "Once upon a time there was a cat." }];
  const r1 = await c.chat.create({ messages, max_tokens: 16, temperature: 0, conversation: conv });
  const cachedBefore = (await srv.metrics()).sotto_prompt_tokens_cached_total ?? 0;
  messages.push({ role: "assistant", content: r1.text }, { role: "user", content: "What did the cat do?" });
  const r2 = await c.chat.create({ messages, max_tokens: 16, temperature: 0, conversation: conv });
  const cachedAfter = (await srv.metrics()).sotto_prompt_tokens_cached_total;
  assert.ok(r2.promptTokens > r1.promptTokens);
  assert.ok(cachedAfter > cachedBefore, `no prompt tokens reused: ${cachedBefore} -> ${cachedAfter}`);
});

test("breaking out of the stream frees the server's slot", async (t) => {
  if (!srv) return t.skip("no server");
  await breakFreesSlot(t, srv, client(ed), PROMPT);
});

test("abort() mid-stream throws AbortedError and frees the slot", async (t) => {
  if (!srv) return t.skip("no server");
  const ac = new AbortController();
  const stream = client(p256, { suite: "xwing" }).chat.stream({ messages: PROMPT, max_tokens: 1900 }, { signal: ac.signal });
  await assert.rejects(async () => {
    for await (const _ of stream) ac.abort();
  }, AbortedError);
  await srv.slotFreed();
});

// tamper flips one base64url character in the second chunk's data line.
function tamperingFetch() {
  return async (url, init) => {
    const resp = await fetch(url, init);
    if (!url.endsWith("/api/chat") || resp.status !== 200) return resp;
    const text = await resp.text();
    const at = text.indexOf("data: ", text.indexOf("id: 1")) + 12;
    const flipped = text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    return new Response(flipped, { status: 200, headers: resp.headers });
  };
}

test("a tampered chunk is refused", async (t) => {
  if (!srv) return t.skip("no server");
  const stream = client(ed, { fetch: tamperingFetch() }).chat.stream({ messages: PROMPT, max_tokens: 12, temperature: 0 });
  const seen = [];
  await assert.rejects(async () => {
    for await (const d of stream) seen.push(d);
  }, (e) => e instanceof StreamCorruptError && /does not decrypt/.test(e.message));
  assert.equal(seen.length, 1, "only chunk 0 opened");
  assert.equal(stream.result, undefined);
});

test("a stream cut after its first chunk is truncation, not a reply", async (t) => {
  if (!srv) return t.skip("no server");
  const cutting = async (url, init) => {
    const resp = await fetch(url, init);
    if (!url.endsWith("/api/chat") || resp.status !== 200) return resp;
    const text = await resp.text();
    return new Response(text.slice(0, text.indexOf("id: 1")), { status: 200, headers: resp.headers });
  };
  const stream = client(ed, { fetch: cutting }).chat.stream({ messages: PROMPT, max_tokens: 12, temperature: 0 });
  let text = "";
  await assert.rejects(async () => {
    for await (const d of stream) text += d;
  }, StreamTruncatedError);
  assert.ok(text.length > 0, "chunk 0 opened");
  assert.equal(stream.result, undefined);
});

test("a client clock 50 minutes off learns the server's time from /api/pubkey", async (t) => {
  if (!srv) return t.skip("no server");
  for (const skew of [50 * 60_000, -50 * 60_000]) {
    let chats = 0;
    let pubkeys = 0;
    const counting = (url, init) => {
      if (url.endsWith("/api/chat")) chats++;
      if (url.endsWith("/api/pubkey")) pubkeys++;
      return fetch(url, init);
    };
    const c = client(ed, { now: () => Date.now() + skew, fetch: counting });
    const r = await c.chat.create({ messages: PROMPT, max_tokens: 2 });
    assert.equal(r.completionTokens, 2);
    assert.deepEqual([pubkeys, chats], [1, 1], `skew ${skew}: no #date round trip`);
  }
});

test("the held key configuration survives a restart (FileStore); a Go device key file works", async (t) => {
  if (!srv) return t.skip("no server");
  const store = new FileStore(join(srv.dir, "keyconfig.json"));
  const goDev = await readDeviceKeyFile(srv.deviceKey);
  assert.equal(goDev.device, srv.goDevice);
  const c1 = client(goDev, { store });
  await c1.chat.create({ messages: PROMPT, max_tokens: 2 });
  let pubkeys = 0;
  const c2 = client(goDev, { store, fetch: (u, i) => { if (u.endsWith("/api/pubkey")) pubkeys++; return fetch(u, i); } });
  await c2.chat.create({ messages: PROMPT, max_tokens: 2 });
  assert.equal(pubkeys, 0, "the restarted client used the held document");
  assert.equal(c2.heldIssuedAt, c1.heldIssuedAt);
});

test("CORS is off by default: a page's origin gets no Access-Control-Allow-Origin", async (t) => {
  if (!srv) return t.skip("no server");
  for (const origin of ["null", "https://chat.example"]) {
    const resp = await fetch(srv.url + "/api/pubkey", { headers: { Origin: origin } });
    assert.equal(resp.status, 200);
    assert.equal(resp.headers.get("access-control-allow-origin"), null, origin);
    const pre = await fetch(srv.url + "/api/chat", { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } });
    assert.equal(pre.headers.get("access-control-allow-origin"), null, origin);
  }
});

// Last: it retires the server's keys.
test("a key retired on the server: 422 #key, the client takes the problem's key_config and retries", async (t) => {
  if (!srv) return t.skip("no server");
  let chats = [];
  let pubkeys = 0;
  const watching = async (url, init) => {
    const resp = await fetch(url, init);
    if (url.endsWith("/api/pubkey")) pubkeys++;
    if (url.endsWith("/api/chat")) chats.push([new Uint8Array(init.body)[1], resp.status]);
    return resp;
  };
  const c = client(ed, { fetch: watching });
  await c.chat.create({ messages: PROMPT, max_tokens: 2 });
  const held = c.heldIssuedAt;
  await new Promise((r) => setTimeout(r, 1100)); // the new document's issued_at is a later second
  sotto("keys", "rotate", "--dir", srv.keyDir, "--overlap", "0s");
  await srv.reload();
  chats = [];
  const r = await c.chat.create({ messages: PROMPT, max_tokens: 2 });
  assert.equal(r.completionTokens, 2);
  assert.equal(chats.length, 2);
  assert.equal(chats[0][1], 422);
  assert.equal(chats[1][1], 200);
  assert.notEqual(chats[0][0], chats[1][0], "the retry is sealed to the new key");
  assert.equal(pubkeys, 1, "the problem's key_config was enough");
  assert.ok(c.heldIssuedAt > held);
});
