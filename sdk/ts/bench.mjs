// node bench.mjs: the SDK's client-side costs on this machine (sealing per
// suite, opening a stream, a 16-bit proof of work). Run after npm run build.

import { readFileSync } from "node:fs";
import { SUITE_X25519, SUITE_XWING, openStream, seal, solvePoW } from "./dist/index.js";
import { fromHex } from "./dist/bytes.js";

const v = JSON.parse(readFileSync(new URL("../../testdata/protocol-vectors.json", import.meta.url), "utf8"));
const inner = new TextEncoder().encode(JSON.stringify({ messages: [{ role: "user", content: "x".repeat(900) }] }));

async function time(name, n, fn) {
  for (let i = 0; i < Math.min(n, 5); i++) await fn(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  console.log(`${name}: ${((performance.now() - t0) / n).toFixed(2)} ms`);
}

const rid = new Uint8Array(16);
await time("seal x25519 (1 KiB inner)", 200, () => seal(SUITE_X25519, 1, fromHex(v.cases[0].pk_r), inner, Date.now(), rid));
await time("seal x-wing (1 KiB inner)", 100, () => seal(SUITE_XWING, 2, fromHex(v.cases[1].pk_r), inner, Date.now(), rid));
const c = v.cases[0];
const sse = new TextEncoder().encode(c.response.sse);
await time(`open the vector stream (${c.response.chunks.length} chunks)`, 2000, () => openStream(fromHex(c.enc), fromHex(c.response.secret), sse));
const challenge = "v1;bits=16;exp=1767225660;salt=3-5k2YWhHyqjY5T8qfwyOw;mac=ItNrqizEbhQZwmTo0H_-cw";
await time("proof of work, 16 bits", 10, (i) => solvePoW(challenge, new Uint8Array(32).fill(i), 16));
