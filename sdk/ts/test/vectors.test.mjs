// The project's vectors and the independent reference vectors pass through
// the SDK, and corrupted copies of them fail (so the checks check).

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkProjectVectors, checkReferenceVectors } from "./vectors.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..", "..");
const projectPath = join(repo, "testdata", "protocol-vectors.json");
const referencePath = process.env.SOTTO_REFERENCE_VECTORS || join(repo, "..", "shared", "spec", "vectors-v1.json");

function load(path, t) {
  if (!existsSync(path)) {
    if (process.env.CI === "true") assert.fail(`missing ${path}`);
    t.skip(`missing ${path} (set SOTTO_REFERENCE_VECTORS)`);
    return undefined;
  }
  return JSON.parse(readFileSync(path, "utf8"));
}

// corrupt flips one hex digit (or one base64url character) of the value at path.
function corrupt(v, path) {
  const copy = structuredClone(v);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  const k = path.at(-1);
  const s = o[k];
  const i = Math.floor(s.length / 2);
  const c = s[i];
  o[k] = s.slice(0, i) + (c === "0" ? "1" : c === "A" ? "B" : "0") + s.slice(i + 1);
  return copy;
}

test("project vectors (testdata/protocol-vectors.json)", async (t) => {
  const v = load(projectPath, t);
  if (v) await checkProjectVectors(v);
});

test("reference vectors (../shared/spec/vectors-v1.json)", async (t) => {
  const v = load(referencePath, t);
  if (v) await checkReferenceVectors(v);
});

test("corrupted project vectors fail", async (t) => {
  const v = load(projectPath, t);
  if (!v) return;
  for (const path of [
    ["cases", 0, "body"], ["cases", 1, "enc"], ["cases", 0, "response", "sse"], ["cases", 1, "response", "key"],
    ["cases", 0, "response", "chunks", 1, "ct"], ["cases", 2, "response", "secret"], ["pow", "sotto_pow_header"],
    ["cases", 0, "stream_edge_cases", 0, "sse"],
    ["cases", 0, "shaped_stream", "sse"], ["cases", 0, "shaped_stream", "key"], ["cases", 0, "shaped_stream", "frames", 3, "ct"],
    ["cases", 0, "shaped_stream", "frames", 6, "plaintext_padded"], ["cases", 0, "shaped_stream", "negative_streams", 1, "sse"],
  ]) {
    await assert.rejects(checkProjectVectors(corrupt(v, path)), `corrupting ${path.join(".")} went unnoticed`);
  }
});

test("corrupted reference vectors fail", async (t) => {
  const v = load(referencePath, t);
  if (!v) return;
  for (const path of [
    ["key_config", "tbs"], ["key_config", "document", "keys", 0, "public_key"], ["device_signatures", 0, "sotto_signature"],
    ["device_signatures", 1, "signature"], ["cases", 0, "body"], ["cases", 1, "response", "sse"], ["cases", 1, "eseed"],
  ]) {
    await assert.rejects(checkReferenceVectors(corrupt(v, path)), `corrupting ${path.join(".")} went unnoticed`);
  }
});
