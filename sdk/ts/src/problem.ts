// Problems (protocol section 6): a refusal before the stream, as an
// application/problem+json document. Every problem name has its own
// class, so callers can use instanceof.

import { SottoError } from "./errors.js";
import { members, parseJSON, str, type JValue } from "./json.js";

/** The prefix of every problem type; the fragment is the problem's name. */
export const PROBLEM_TYPE_BASE = "https://sotto.invalid/problems/v1#";

const MAX_PROBLEM_BYTES = 256 << 10;
/** A hostile Retry-After cannot park the client for longer than this. */
const MAX_RETRY_AFTER_MS = 10 * 60 * 1000;

/** A refusal the server sent before the stream started. */
export class ProblemError extends SottoError {
  override name = "ProblemError";
  /** Problem name: "envelope", "request", "date", ...; "" when the server sent no problem document. */
  readonly problem: string;
  /** #request code (section 6), when the server sent one that looks like a code. */
  readonly code?: string;
  /** Retry-After in milliseconds; 0 when absent. */
  readonly retryAfterMs: number;
  /** Server time (ms) from the Date header (+Age); undefined when absent. */
  readonly serverTime?: number;
  /** #key: the signed key configuration member, as JSON text. */
  readonly keyConfig?: string;
  /** #pow: the challenge (member, else header). */
  readonly challenge?: string;

  constructor(readonly status: number, init: ProblemInit = {}) {
    const name = init.problem ?? "";
    let msg = `sotto: server refused the request: ${status} ${name || "no problem document"}`;
    if (init.code) msg += ` (code ${init.code})`;
    if (init.retryAfterMs) msg += ` (retry after ${Math.ceil(init.retryAfterMs / 1000)} s)`;
    super(msg);
    this.problem = name;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs ?? 0;
    this.serverTime = init.serverTime;
    this.keyConfig = init.keyConfig;
    this.challenge = init.challenge;
  }
}

export interface ProblemInit {
  problem?: string;
  code?: string;
  retryAfterMs?: number;
  serverTime?: number;
  keyConfig?: string;
  challenge?: string;
}

/** A subclass of ProblemError named name, one per problem of section 6. */
function problemClass(name: string) {
  return class extends ProblemError {
    override name = name;
  };
}

/** 400 #envelope: malformed envelope or failed decryption (one answer for all). */
export const EnvelopeProblem = problemClass("EnvelopeProblem");
export type EnvelopeProblem = InstanceType<typeof EnvelopeProblem>;
/** 400 #request: the inner request decrypted but was refused; see code. */
export const RequestProblem = problemClass("RequestProblem");
export type RequestProblem = InstanceType<typeof RequestProblem>;
/** 400 #date: ts outside the server's window (the client retries once with the server's clock). */
export const DateProblem = problemClass("DateProblem");
export type DateProblem = InstanceType<typeof DateProblem>;
/** 400 #replay: the rid was already registered. */
export const ReplayProblem = problemClass("ReplayProblem");
export type ReplayProblem = InstanceType<typeof ReplayProblem>;
/** 401 #device: missing or invalid signature, or a device the server does not trust (enrol it). */
export const DeviceProblem = problemClass("DeviceProblem");
export type DeviceProblem = InstanceType<typeof DeviceProblem>;
/** 413 #too-large. */
export const TooLargeProblem = problemClass("TooLargeProblem");
export type TooLargeProblem = InstanceType<typeof TooLargeProblem>;
/** 415 #media-type. */
export const MediaTypeProblem = problemClass("MediaTypeProblem");
export type MediaTypeProblem = InstanceType<typeof MediaTypeProblem>;
/** 422 #key: unknown or expired key (the client refreshes its key configuration and retries once). */
export const KeyProblem = problemClass("KeyProblem");
export type KeyProblem = InstanceType<typeof KeyProblem>;
/** 429 #rate-limited: see retryAfterMs. */
export const RateLimitedProblem = problemClass("RateLimitedProblem");
export type RateLimitedProblem = InstanceType<typeof RateLimitedProblem>;
/** 429 #pow: proof of work required (the client solves it and retries). */
export const PoWProblem = problemClass("PoWProblem");
export type PoWProblem = InstanceType<typeof PoWProblem>;
/** 503 #overloaded: see retryAfterMs. */
export const OverloadedProblem = problemClass("OverloadedProblem");
export type OverloadedProblem = InstanceType<typeof OverloadedProblem>;
/** 500 #internal: a server fault; says nothing more. */
export const InternalProblem = problemClass("InternalProblem");
export type InternalProblem = InstanceType<typeof InternalProblem>;

const CLASSES: Record<string, typeof ProblemError> = {
  envelope: EnvelopeProblem,
  request: RequestProblem,
  date: DateProblem,
  replay: ReplayProblem,
  device: DeviceProblem,
  "too-large": TooLargeProblem,
  "media-type": MediaTypeProblem,
  key: KeyProblem,
  "rate-limited": RateLimitedProblem,
  pow: PoWProblem,
  overloaded: OverloadedProblem,
  internal: InternalProblem,
};

/** The problem names of the protocol. */
export const PROBLEM_NAMES = Object.keys(CLASSES);

/** Builds the typed error for a problem name ("" or unknown: a plain ProblemError). */
export function makeProblem(status: number, init: ProblemInit): ProblemError {
  const C = (init.problem && CLASSES[init.problem]) || ProblemError;
  return new C(status, init);
}

/** The server's time (ms) a response shows: Date plus Age (section 2.1); undefined without Date. */
export function serverTime(h: Headers): number | undefined {
  const date = h.get("Date");
  if (!date) return undefined;
  const t = Date.parse(date);
  if (Number.isNaN(t)) return undefined;
  const age = h.get("Age");
  const a = age && /^[0-9]{1,10}$/.test(age) ? Math.min(Number(age), 86400) : 0;
  return t + a * 1000;
}

/** Retry-After as delta-seconds or an HTTP date, capped; 0 when absent or malformed. */
export function parseRetryAfter(v: string | null, now: number): number {
  if (!v) return 0;
  let ms = 0;
  if (/^[0-9]{1,10}$/.test(v)) ms = Number(v) * 1000;
  else if (!Number.isNaN(Date.parse(v))) ms = Date.parse(v) - now;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

// cleanCode keeps a server's code only when it looks like one, so that
// error messages never carry arbitrary server text.
function cleanCode(code: string | undefined): string | undefined {
  return code !== undefined && /^[a-z0-9_:.-]{1,64}$/.test(code) ? code : undefined;
}

/** Turns a non-200 response into a typed ProblemError; reads at most 256 KiB of it. */
export async function readProblem(resp: Response, now: number): Promise<ProblemError> {
  const base: ProblemInit = {
    retryAfterMs: parseRetryAfter(resp.headers.get("Retry-After"), now),
    serverTime: serverTime(resp.headers),
  };
  const ct = (resp.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (ct !== "application/problem+json") {
    await resp.body?.cancel().catch(() => {});
    return makeProblem(resp.status, base);
  }
  const text = await readLimited(resp, MAX_PROBLEM_BYTES);
  const m = members(text === undefined ? undefined : parseJSON(text));
  const type = str(m?.get("type"));
  const name = type?.startsWith(PROBLEM_TYPE_BASE) ? type.slice(PROBLEM_TYPE_BASE.length) : undefined;
  if (!m || !name || !(name in CLASSES)) return makeProblem(resp.status, base);
  const kc = m.get("key_config");
  return makeProblem(resp.status, {
    ...base,
    problem: name,
    code: cleanCode(str(m.get("code"))),
    keyConfig: kc?.t === "obj" ? rawObject(text!, kc) : undefined,
    challenge: str(m.get("challenge")) || resp.headers.get("Sotto-PoW-Challenge") || undefined,
  });
}

// rawObject re-serializes a parsed object member. The key configuration
// is judged by its signed values, not its spelling, so a faithful
// re-encoding is enough (numbers keep their written token).
function rawObject(_text: string, v: JValue): string {
  const enc = (x: JValue): string => {
    switch (x.t) {
      case "obj": return "{" + x.members.map(([k, y]) => JSON.stringify(k) + ":" + enc(y)).join(",") + "}";
      case "arr": return "[" + x.items.map(enc).join(",") + "]";
      case "str": return JSON.stringify(x.v);
      case "num": return x.raw;
      case "bool": return String(x.v);
      case "null": return "null";
    }
  };
  return enc(v);
}

/** Reads a response body as UTF-8 text, at most max bytes; undefined when longer or invalid. */
export async function readLimited(resp: Response, max: number): Promise<string | undefined> {
  if (!resp.body) return "";
  const reader = resp.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  const all = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    return undefined;
  }
}
