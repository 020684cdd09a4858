// The inner request (protocol section 3.2), built in the member order of
// the Go client, refused before sending when the protocol cannot carry it.

import { utf8, wellFormed } from "./bytes.js";
import type { Conversation } from "./conversation.js";
import { MAX_REQUEST_PADDED } from "./envelope.js";
import { InvalidRequestError } from "./errors.js";
import { SHAPE_CONSTANT } from "./shape.js";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
}

/** One chat request. Unset parameters are left to the server's defaults. */
export interface ChatRequest {
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** 0 .. 2^64-1; a bigint for seeds beyond 2^53. */
  seed?: number | bigint;
  stop?: string[];
  /** Lets the server keep this conversation's prompt state between turns (3.2.1). */
  conversation?: Conversation;
}

function bad(why: string): never {
  throw new InvalidRequestError(`sotto: invalid request: ${why}`);
}

function checkMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) bad("no messages");
  messages.forEach((m, i) => {
    if (m.role !== "system" && m.role !== "user" && m.role !== "assistant") bad(`message ${i}: unknown role`);
    if (typeof m.content !== "string" || !wellFormed(m.content)) bad(`message ${i}: content is not a well-formed string`);
  });
}

function num(name: string, v: number | undefined, integer: boolean): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v))) {
    bad(`${name} is not a finite ${integer ? "integer" : "number"}`);
  }
  return JSON.stringify(v);
}

function seed(v: number | bigint | undefined): string | undefined {
  if (v === undefined) return undefined;
  const ok = typeof v === "bigint" ? v >= 0n && v < 2n ** 64n : Number.isSafeInteger(v) && v >= 0;
  if (!ok) bad("seed is not an integer in 0 .. 2^64-1");
  return v.toString();
}

/**
 * The inner request JSON as UTF-8 bytes; with shape, it asks for a shaped
 * stream ("shape":"constant", 5.5). Errors name fields, never content.
 */
export function marshalRequest(r: ChatRequest, shape = false): Uint8Array {
  checkMessages(r.messages);
  if (r.stop !== undefined && (!Array.isArray(r.stop) || r.stop.some((s) => typeof s !== "string" || !wellFormed(s)))) {
    bad("stop is not a list of well-formed strings");
  }
  const parts: string[] = [`"messages":${JSON.stringify(r.messages.map((m) => ({ role: m.role, content: m.content })))}`];
  const add = (name: string, v: string | undefined) => v !== undefined && parts.push(`"${name}":${v}`);
  if (r.max_tokens !== undefined && (!Number.isSafeInteger(r.max_tokens) || r.max_tokens < 1)) bad("max_tokens is not an integer >= 1");
  add("max_tokens", num("max_tokens", r.max_tokens, true));
  add("temperature", num("temperature", r.temperature, false));
  add("top_p", num("top_p", r.top_p, false));
  add("top_k", num("top_k", r.top_k, true));
  add("seed", seed(r.seed));
  if (r.stop?.length) add("stop", JSON.stringify(r.stop));
  const cache = r.conversation?.wire();
  if (cache) add("cache", JSON.stringify(cache));
  if (shape) add("shape", JSON.stringify(SHAPE_CONSTANT));
  const inner = utf8(`{${parts.join(",")}}`);
  if (inner.length > MAX_REQUEST_PADDED) bad(`request over ${MAX_REQUEST_PADDED} bytes`);
  return inner;
}
