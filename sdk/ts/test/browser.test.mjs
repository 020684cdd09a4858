// The browser chat in Debian's chromium (playwright-core, no downloaded
// browser), opened from a file URL against a real `sotto serve` with
// SOTTO_CORS_ORIGINS=null: enrol the page's device key, chat twice (the
// second turn reuses the conversation), stop a reply (the server frees
// the slot), and check that the device key cannot be exported.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { requireSotto, sottoBin, startServe } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const page_ = join(here, "..", "dist", "web", "sotto-chat.html");
const artifacts = join(here, "..", "test-artifacts");
const chromiumPath = process.env.SOTTO_CHROMIUM || "/usr/bin/chromium";
let srv, context, profile;

before(async (t) => {
  if (!requireSotto(t)) return;
  if (!existsSync(chromiumPath)) {
    if (process.env.CI === "true") assert.fail(`missing ${chromiumPath}: install the Debian package chromium`);
    return t.skip(`missing ${chromiumPath}: install the Debian package chromium`);
  }
  srv = await startServe({ env: { SOTTO_CORS_ORIGINS: "null", SOTTO_SLOTS: "1", SOTTO_CONTEXT: "2048", SOTTO_PREFIX_CACHE_BYTES: String(64 << 20) } });
  profile = mkdtempSync(join(tmpdir(), "sotto-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 900, height: 1100 },
  });
});

after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await srv?.stop();
});

function goReply(prompt, maxTokens) {
  return execFileSync(sottoBin, ["chat", "--server", srv.url, "--pin", srv.pin, "--device-key", srv.deviceKey,
    "--temperature", "0", "--max-tokens", String(maxTokens), "--quiet", "-p", prompt],
  { encoding: "utf8", env: { ...process.env, XDG_CONFIG_HOME: srv.dir } }).replace(/\n$/, "");
}

async function sendAndWait(page, text, want = "done") {
  await page.fill("#input", text);
  await page.click("#send");
  await page.waitForSelector(`#state[data-state="${want}"], #state[data-state="error"]`, { state: "attached", timeout: 60_000 });
  const problem = await page.textContent("#problem");
  assert.equal(problem, "", `the page shows a problem: ${problem}`);
}

test("chat from a file URL: enrol, two turns, stop, unexportable key", async (t) => {
  if (!srv) return t.skip("no server or chromium");
  const page = await context.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const hash = new URLSearchParams({ url: srv.url, pin: srv.pin, max_tokens: "24", temperature: "0" });
  await page.goto(`${pathToFileURL(page_).href}#${hash}`);
  await page.waitForSelector('body[data-ready="true"]');

  // Enrol the page's device key as an operator would, from the line it shows.
  const line = await page.textContent("#device");
  const m = /^Sotto-Device: (ed25519:[A-Za-z0-9_-]{43})$/.exec(line);
  assert.ok(m, `device line: ${line}`);
  await srv.enrol(m[1]);

  // Turn 1: the decrypted text on the page is the Go client's greedy reply.
  const prompt = "Once upon a time";
  await sendAndWait(page, prompt);
  const replies = () => page.$$eval(".msg.assistant", (els) => els.map((e) => e.textContent));
  assert.deepEqual(await replies(), [goReply(prompt, 24)]);
  const stats1 = await page.$$eval(".stats", (els) => els.map((e) => [e.textContent, e.dataset.promptTokens]));
  assert.match(stats1[0][0], /^\[24 tokens, first token \d+ ms, [0-9.]+ tokens\/s\]$/);

  // Turn 2 reuses the conversation's prompt state on the server.
  const cached = (await srv.metrics()).sotto_prompt_tokens_cached_total ?? 0;
  await sendAndWait(page, "What happened next?");
  assert.equal((await replies()).length, 2);
  assert.ok((await replies())[1].length > 0);
  const stats2 = await page.$$eval(".stats", (els) => els.map((e) => Number(e.dataset.promptTokens)));
  assert.ok(stats2[1] > stats2[0], `turn 2 prompt ${stats2[1]} tokens, turn 1 ${stats2[0]}`);
  assert.ok((await srv.metrics()).sotto_prompt_tokens_cached_total > cached, "turn 2 reused no cached prompt tokens");

  // Stop a long reply after its first text: the server frees the slot.
  // Greedy stories260K writes all 1900 tokens unless stopped (about a
  // second; the Go client's TestE2EChatCtrlC relies on the same).
  const generated = (await srv.metrics()).sotto_generated_tokens_total;
  await page.fill("#maxTokens", "1900");
  await page.fill("#input", "Tell me a long story");
  await page.click("#send");
  await page.waitForFunction(() => (document.querySelectorAll(".msg.assistant")[2]?.textContent ?? "").length > 0 ||
    document.getElementById("state").dataset.state !== "streaming");
  assert.equal(await page.textContent("#problem"), "");
  await page.click("#stop");
  await page.waitForSelector(`#state[data-state="stopped"]`, { state: "attached" });
  assert.equal(await page.textContent(".stats:last-of-type"), "[stopped]");
  await srv.slotFreed();
  const n = (await srv.metrics()).sotto_generated_tokens_total - generated;
  t.diagnostic(`the server generated ${n} of 1900 tokens before the stop reached it`);
  assert.ok(n < 1900, `the server generated ${n} tokens: the stop did not reach it`);

  // The device key in IndexedDB is a non-extractable CryptoKey: the page can sign, not read it.
  const exported = await page.evaluate(async () => {
    const db = await new Promise((res, rej) => { const r = indexedDB.open("sotto", 1); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const stored = await new Promise((res, rej) => { const r = db.transaction("kv").objectStore("kv").get("device:ed25519"); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const keys = await new Promise((res, rej) => { const r = db.transaction("kv").objectStore("kv").getAllKeys(); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const out = { extractable: stored.keyPair.privateKey.extractable, errors: [], keys };
    for (const fmt of ["pkcs8", "jwk", "raw"]) {
      try {
        await crypto.subtle.exportKey(fmt, stored.keyPair.privateKey);
        out.errors.push(`${fmt}: exported`);
      } catch (e) {
        out.errors.push(`${fmt}: ${e.name}`);
      }
    }
    return out;
  });
  assert.equal(exported.extractable, false);
  // The verified key configuration is held in IndexedDB too (the rollback floor across reloads).
  assert.deepEqual(exported.keys.sort(), ["device:ed25519", `keyconfig:${srv.url} ${srv.pin}`]);
  assert.deepEqual(exported.errors, ["pkcs8: InvalidAccessError", "jwk: InvalidAccessError", "raw: InvalidAccessError"]);

  // Nothing but the page itself and the configured server was requested.
  const foreign = requests.filter((u) => !u.startsWith("file://") && !u.startsWith(srv.url + "/api/"));
  assert.deepEqual(foreign, []);

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, "browser-chat.png"), fullPage: true });
});

test("the page with X-Wing and a P-256 device key", async (t) => {
  if (!srv) return t.skip("no server or chromium");
  const page = await context.newPage();
  const posts = [];
  page.on("request", (r) => r.method() === "POST" && posts.push({ size: r.postDataBuffer()?.length, device: r.headers()["sotto-device"] }));
  const hash = new URLSearchParams({ url: srv.url, pin: srv.pin, max_tokens: "16", temperature: "0", suite: "xwing", alg: "p256" });
  await page.goto(`${pathToFileURL(page_).href}#${hash}`);
  await page.waitForSelector('body[data-ready="true"]');
  const m = /^Sotto-Device: (p256:[A-Za-z0-9_-]{44})$/.exec(await page.textContent("#device"));
  assert.ok(m, "a p256 device line");
  await srv.enrol(m[1]);
  await sendAndWait(page, "The dog");
  assert.deepEqual(await page.$$eval(".msg.assistant", (els) => els.map((e) => e.textContent)), [goReply("The dog", 16)]);
  // hdr 32 + X-Wing enc 1120 + the 256-byte bucket + tag 16, signed by the P-256 key.
  assert.deepEqual(posts, [{ size: 1424, device: m[1] }]);
  const extractable = await page.evaluate(async () => {
    const db = await new Promise((res) => { const r = indexedDB.open("sotto", 1); r.onsuccess = () => res(r.result); });
    const d = await new Promise((res) => { const r = db.transaction("kv").objectStore("kv").get("device:p256"); r.onsuccess = () => res(r.result); });
    return d.keyPair.privateKey.extractable;
  });
  assert.equal(extractable, false);
});
