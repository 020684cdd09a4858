// The conversation cache (protocol section 3.2.1): a fresh 128-bit secret
// per conversation, sent sealed with every turn, lets the server keep the
// conversation's prompt state between turns (locked memory, at most ttl),
// reachable only by this device with this secret. The reply is the same
// with or without it; a turn that hits reaches its first token sooner.

import { b64uEncode } from "./bytes.js";

/** Largest ttl a request may ask for (a day); servers cap it further. */
export const MAX_CACHE_TTL_SECONDS = 86400;

export class Conversation {
  private secret?: Uint8Array = crypto.getRandomValues(new Uint8Array(16));

  /** ttlSeconds: how long the server should keep the state after each turn (undefined: the server's cap). */
  constructor(readonly ttlSeconds?: number) {
    if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds >= 1)) {
      throw new RangeError("sotto: ttlSeconds must be a whole number of seconds >= 1");
    }
  }

  /** Overwrites the secret; later requests naming this conversation carry no cache member. */
  forget(): void {
    this.secret?.fill(0);
    this.secret = undefined;
  }

  /** The inner request's cache member, or undefined once forgotten. */
  wire(): { secret: string; ttl?: number } | undefined {
    if (!this.secret) return undefined;
    const w: { secret: string; ttl?: number } = { secret: b64uEncode(this.secret) };
    if (this.ttlSeconds !== undefined) w.ttl = Math.min(this.ttlSeconds, MAX_CACHE_TTL_SECONDS);
    return w;
  }
}
