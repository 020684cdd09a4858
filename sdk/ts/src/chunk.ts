// Chunk plaintext (protocol section 5.2), parsed strictly: a delta is
// exactly {"delta":"<non-empty text>"}; a final chunk has finish_reason,
// usage {prompt_tokens, completion_tokens} and, exactly when the reason is
// "error", error {code}. Unknown, duplicate and missing members refuse the
// chunk. A mirror of crypto/chunkjson.go.

import { utf8Decode } from "./bytes.js";
import { members, parseJSON, str, uint, type JValue } from "./json.js";

/** The content of the final chunk. */
export interface Final {
  finishReason: "stop" | "length" | "cancelled" | "error";
  promptTokens: number;
  completionTokens: number;
  /** Set exactly when finishReason is "error"; [a-z0-9_]{1,64}, never content. */
  errorCode?: string;
}

const REASONS = ["stop", "length", "cancelled", "error"] as const;
const MAX_COUNT = 2 ** 31 - 1;

/** pt without its trailing 0x00 padding. */
export function stripZeros(pt: Uint8Array): Uint8Array {
  let n = pt.length;
  while (n > 0 && pt[n - 1] === 0) n--;
  return pt.subarray(0, n);
}

function parse(pt: Uint8Array): JValue | undefined {
  const text = utf8Decode(stripZeros(pt));
  return text === undefined ? undefined : parseJSON(text);
}

/** The text of a delta chunk, or undefined when pt is not exactly a non-empty delta. */
export function parseDelta(pt: Uint8Array): string | undefined {
  const m = members(parse(pt));
  if (!m || m.size !== 1) return undefined;
  const d = str(m.get("delta"));
  return d ? d : undefined;
}

/** The final chunk, or undefined when pt is not exactly one. */
export function parseFinal(pt: Uint8Array): Final | undefined {
  const m = members(parse(pt));
  if (!m) return undefined;
  const reason = REASONS.find((r) => r === str(m.get("finish_reason")));
  const usage = members(m.get("usage"));
  if (!reason || !usage || usage.size !== 2) return undefined;
  const promptTokens = uint(usage.get("prompt_tokens"), MAX_COUNT);
  const completionTokens = uint(usage.get("completion_tokens"), MAX_COUNT);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  const f: Final = { finishReason: reason, promptTokens, completionTokens };
  if (reason !== "error") return m.size === 2 ? f : undefined;
  const err = members(m.get("error"));
  const code = str(err?.get("code"));
  if (m.size !== 3 || err?.size !== 1 || code === undefined || !/^[a-z0-9_]{1,64}$/.test(code)) return undefined;
  f.errorCode = code;
  return f;
}
