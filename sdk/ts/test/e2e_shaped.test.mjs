// End to end against a real `sotto serve` with SOTTO_STREAM_SHAPE=constant
// (protocol 5.5; 10 ms frames to keep it short): the SDK asks for the shape
// by default, reads the shaped stream to the end of its bucket, and gets the
// same greedy text as an unshaped reply and as the Go client; a bucket cut
// short after the final frame is truncation; a stop still frees the slot.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { FRAME_CIPHERTEXT_SIZE, SottoClient, StreamTruncatedError, WebCryptoDevice, shapeFrames } from "../dist/index.js";
import { breakFreesSlot, requireSotto, sottoBin, startServe } from "./server.mjs";

const PROMPT = [{ role: "user", content: "Once upon a time" }];
let srv, ed;

before(async (t) => {
  if (!requireSotto(t)) return;
  ed = await WebCryptoDevice.generate("ed25519");
  srv = await startServe({
    devices: [ed.device],
    env: { SOTTO_SLOTS: "1", SOTTO_CONTEXT: "2048", SOTTO_STREAM_SHAPE: "constant", SOTTO_STREAM_FRAME_MS: "10" },
  });
});
after(() => srv?.stop());

const client = (extra = {}) => new SottoClient({ baseURL: srv.url, pin: srv.pin, device: ed, ...extra });

/** A fetch that records each chat reply's bytes as the SDK reads them, and whether it read them to the end. */
function recordingFetch() {
  const replies = [];
  const f = async (url, init) => {
    const resp = await fetch(url, init);
    if (!url.endsWith("/api/chat") || resp.status !== 200) return resp;
    const rec = { text: "", ended: false };
    replies.push(rec);
    const dec = new TextDecoder();
    const tap = new TransformStream({
      transform(chunk, ctl) { rec.text += dec.decode(chunk, { stream: true }); ctl.enqueue(chunk); },
      flush() { rec.ended = true; },
    });
    return new Response(resp.body.pipeThrough(tap), { status: 200, headers: resp.headers });
  };
  f.replies = replies;
  return f;
}

/** The frames of a shaped stream's SSE text (every event after the nonce event). */
function frames(sse) {
  const events = sse.split("\n\n").filter((e) => e !== "");
  assert.match(events[0], /^event: nonce-shaped\ndata: /);
  return events.slice(1);
}

test("a shaped reply: the unshaped reply's text and the Go client's, read to the end of its bucket", async (t) => {
  if (!srv) return t.skip("no server");
  const req = { messages: PROMPT, max_tokens: 24, temperature: 0 };
  const plain = await client({ unshaped: true }).chat.create(req);
  assert.equal(plain.shaped, false, "unshaped: the stream of 5.3");
  const rec = recordingFetch();
  const stream = client({ fetch: rec, requireShape: true }).chat.stream(req);
  let text = "";
  for await (const d of stream) text += d;
  const r = await stream.finalResult();
  assert.equal(r.shaped, true);
  assert.equal(text, plain.text);
  assert.equal(r.text, plain.text);
  assert.equal(r.completionTokens, plain.completionTokens);
  assert.equal(r.finishReason, "length");
  const goText = execFileSync(sottoBin, ["chat", "--server", srv.url, "--pin", srv.pin, "--device-key", srv.deviceKey,
    "--temperature", "0", "--max-tokens", "24", "--quiet", "-p", PROMPT[0].content],
  { encoding: "utf8", env: { ...process.env, XDG_CONFIG_HOME: srv.dir } }).replace(/\n$/, "");
  assert.equal(r.text, goText, "the Go client's text");
  // Drained: the loop ended only after the response's last byte, and the
  // stream holds a whole bucket of equal frames.
  assert.equal(rec.replies.length, 1);
  assert.ok(rec.replies[0].ended, "the SDK read the stream to its end");
  const fs = frames(rec.replies[0].text);
  assert.ok(fs.length >= 16 && shapeFrames(fs.length - 1) === fs.length, `${fs.length} frames is not a bucket`);
  const line = `data: ${"x".repeat(Math.ceil((FRAME_CIPHERTEXT_SIZE * 4) / 3))}`.length;
  assert.ok(fs.every((e) => e.length === line), "every frame has one size");
});

test("a shaped stream cut after its final frame, before the end of its bucket, is truncation", async (t) => {
  if (!srv) return t.skip("no server");
  const cutting = async (url, init) => {
    const resp = await fetch(url, init);
    if (!url.endsWith("/api/chat") || resp.status !== 200) return resp;
    const sse = await resp.text();
    return new Response(sse.slice(0, sse.lastIndexOf("data: ")), { status: 200, headers: resp.headers });
  };
  const stream = client({ fetch: cutting }).chat.stream({ messages: PROMPT, max_tokens: 4, temperature: 0 });
  let text = "";
  await assert.rejects(async () => {
    for await (const d of stream) text += d;
  }, (e) => e instanceof StreamTruncatedError && /bucket/.test(e.message));
  assert.ok(text.length > 0, "the reply's frames opened");
  assert.equal(stream.result, undefined, "no result from a shortened bucket");
});

test("breaking out of a shaped stream frees the server's slot", async (t) => {
  if (!srv) return t.skip("no server");
  await breakFreesSlot(t, srv, client(), PROMPT);
});
