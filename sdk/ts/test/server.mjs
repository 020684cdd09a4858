// Starts a real `sotto serve` (bin/sotto, the embedded stories260K model)
// on an ephemeral loopback port, with fresh keys and a device allow-list,
// for the end-to-end and browser tests.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = join(here, "..", "..", "..");
export const sottoBin = process.env.SOTTO_BIN || join(repo, "bin", "sotto");

/** Skips t (outside CI) or fails (CI=true) when bin/sotto is missing. */
export function requireSotto(t) {
  if (existsSync(sottoBin)) return true;
  if (process.env.CI === "true") assert.fail(`missing ${sottoBin}: run make build first`);
  t.skip(`missing ${sottoBin}: run make build in the repository root first`);
  return false;
}

export function sotto(...args) {
  return execFileSync(sottoBin, args, { encoding: "utf8" }).trim();
}

// A port below the kernel's ephemeral range (32768-60999), free a moment
// ago: a port the kernel chose and we closed again can be taken by another
// test file's ephemeral bind (node --test runs files in parallel) before
// sotto binds it. (The Go tests' testenv.FreePort does the same.)
async function freePort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12768);
    const ok = await new Promise((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error("no free loopback port below the ephemeral range");
}

/**
 * A running server: url, pin, the allow-list path, enrol(device) (allow-list
 * + SIGHUP), metrics(), stop(). devices are Sotto-Device values enrolled
 * before it starts.
 */
export async function startServe({ devices = [], env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sotto-ts-"));
  const keyDir = join(dir, "keys");
  const allow = join(dir, "allow-list");
  sotto("keys", "init", "--dir", keyDir);
  const pin = sotto("keys", "show", "--dir", keyDir, "--pin");
  const deviceKey = join(dir, "device.key");
  const goDevice = sotto("device", "init", "--out", deviceKey);
  writeFileSync(allow, "", { mode: 0o600 });
  for (const d of [goDevice, ...devices]) sotto("device", "allow", d, "--allow-list", allow);
  const addr = `127.0.0.1:${await freePort()}`;
  const logs = [];
  const proc = spawn(sottoBin, ["serve", "--env-file", ""], {
    env: {
      ...process.env, ENVIRONMENT: "development", SOTTO_MODEL: "", SOTTO_KEY_DIR: keyDir,
      SOTTO_DEVICE_POLICY: "allowlist", SOTTO_ALLOW_LIST: allow, SOTTO_LISTEN: addr,
      SOTTO_SLOTS: "2", SOTTO_CONTEXT: "512", SOTTO_THREADS: "1", LOG_FORMAT: "text", ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.on("data", (b) => logs.push(b));
  proc.stderr.on("data", (b) => logs.push(b));
  const url = `http://${addr}`;
  const s = {
    url, pin, dir, keyDir, deviceKey, goDevice, proc,
    logs: () => Buffer.concat(logs).toString(),
    async enrol(device) {
      sotto("device", "allow", device, "--allow-list", allow);
      await s.reload();
    },
    /** SIGHUP: the server re-reads its allow-list and key directory. */
    async reload() {
      const before = s.logs().split("msg=reloaded").length;
      proc.kill("SIGHUP");
      await waitFor("the allow-list reload", () => s.logs().split("msg=reloaded").length > before);
    },
    async metrics() {
      const text = await (await fetch(url + "/metrics")).text();
      const m = {};
      for (const [, k, v] of text.matchAll(/^(sotto_[a-z_]+) ([0-9.e+-]+)$/gm)) m[k] = Number(v);
      return m;
    },
    /** Waits until no slot generates and no stream is open (the server let go of a stopped reply). */
    async slotFreed() {
      await waitFor("the slot freed", async () => {
        const m = await s.metrics();
        return m.sotto_busy_slots === 0 && m.sotto_active_streams === 0;
      });
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill("SIGINT");
        await new Promise((r) => { const t = setTimeout(() => { proc.kill("SIGKILL"); r(); }, 10000); proc.on("exit", () => { clearTimeout(t); r(); }); });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url + "/health/ready")).status === 200) return s;
    } catch { /* not listening yet */ }
    if (i > 1200 || proc.exitCode !== null) {
      await s.stop();
      assert.fail(`sotto serve not ready; logs:\n${s.logs()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls cond for up to 30 s (a deadline, not a timing assertion). */
export async function waitFor(what, cond) {
  for (let i = 0; i < 1500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}


/**
 * Breaks out of a 1900-token greedy reply after its first text and checks
 * that the server frees the slot long before it would have finished.
 */
export async function breakFreesSlot(t, srv, client, messages) {
  const before = (await srv.metrics()).sotto_generated_tokens_total ?? 0;
  const stream = client.chat.stream({ messages, max_tokens: 1900, temperature: 0 });
  for await (const delta of stream) {
    assert.ok(delta.length > 0);
    break;
  }
  await srv.slotFreed();
  const generated = (await srv.metrics()).sotto_generated_tokens_total - before;
  t.diagnostic(`the server generated ${generated} of 1900 tokens before the stop reached it`);
  assert.ok(generated < 950, `the server generated ${generated} tokens: the stop did not reach it`);
  assert.equal(stream.result, undefined);
}
