// SottoClient: the key configuration it holds (verified against the pinned
// key, kept in a store across restarts), the server's clock, and one
// sealed, signed attempt at a chat. ChatStream (chatstream.ts) drives the
// attempts and the retry rules of protocol section 9.

import { sha256 } from "@noble/hashes/sha2.js";
import { ChatStream, type StreamOptions } from "./chatstream.js";
import { own } from "./bytes.js";
import { seal, type Sealed } from "./envelope.js";
import { AbortedError, KeyConfigError, NetworkError, ResponseError, SottoError, StateError } from "./errors.js";
import type { DeviceSigner } from "./device.js";
import { acceptKeyConfig, parseKeyConfig, parsePin, pickKey, verifyKeyConfig, type Key, type KeyConfig } from "./keyconfig.js";
import { DEFAULT_MAX_POW_BITS, solvePoW } from "./pow.js";
import { readLimited, readProblem, serverTime } from "./problem.js";
import type { ChatRequest } from "./request.js";
import { MemoryStore, type KeyConfigStore } from "./storage.js";
import { suiteByName, type Suite } from "./suite.js";

const MAX_KEY_CONFIG_BYTES = 256 << 10;
/** How far ahead of the local clock a server's Date may move a fresh document's judgment (2.1). */
const MAX_FORWARD_CORRECTION_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_RESPONSE_BYTES = 32 << 20;

export interface ClientOptions {
  /** The server, e.g. "https://sotto.example"; /api/pubkey and /api/chat are appended. */
  baseURL: string;
  /** The pinned signing key (`sotto keys show --pin`: "ed25519:<b64u>"). Nothing else is trusted. */
  pin: string | Uint8Array;
  /** The device key (WebCryptoDevice, or a hardware keystore behind DeviceSigner). */
  device: DeviceSigner;
  /** "x25519" (default) or "xwing" (post-quantum, 1088 more bytes per request). */
  suite?: "x25519" | "xwing";
  /** Keeps the held key configuration across restarts (IndexedDBStore, FileStore); default: memory only. */
  store?: KeyConfigStore;
  fetch?: typeof fetch;
  /** The local clock in ms (default Date.now). */
  now?: () => number;
  /** How many #rate-limited / #overloaded refusals to wait out (Retry-After) before throwing. Default 0. */
  maxRetries?: number;
  /** Bound on the bytes of one reply stream (default 32 MiB). */
  maxResponseBytes?: number;
  /** Hardest proof of work solved (default 24 bits). */
  maxPoWBits?: number;
  /**
   * Stops the client from asking for a shaped stream (protocol 5.5; it asks
   * by default). Set it only for a server older than that section, which
   * refuses the member (#request, code member): an unshaped stream shows an
   * observer the reply's length and timing.
   */
  unshaped?: boolean;
  /** Refuses a reply that is not shaped (a server with SOTTO_STREAM_SHAPE=off) with ResponseError, after reading it. */
  requireShape?: boolean;
}

/** A response with status 200 and what opens its stream. */
export interface Attempt {
  resp: Response;
  sealed: Sealed;
}

export class SottoClient {
  readonly baseURL: string;
  readonly suite: Suite;
  readonly device: DeviceSigner;
  readonly maxRetries: number;
  readonly maxResponseBytes: number;
  readonly maxPoWBits: number;
  /** Asks for a shaped stream ("shape":"constant", 5.5). */
  readonly shape: boolean;
  /** Refuses an unshaped reply. */
  readonly requireShape: boolean;
  readonly now: () => number;
  private readonly pin: Uint8Array;
  private readonly store: KeyConfigStore;
  private readonly fetchFn: typeof fetch;
  private held?: KeyConfig;
  private offsetMs = 0; // server clock - local clock
  private loaded?: Promise<void>;
  private lock: Promise<unknown> = Promise.resolve();

  /** The OpenAI/Anthropic-style entry point: client.chat.stream(req) and client.chat.create(req). */
  readonly chat = {
    stream: (req: ChatRequest, opts: StreamOptions = {}): ChatStream => new ChatStream(this, req, opts),
    create: async (req: ChatRequest, opts: StreamOptions = {}) => new ChatStream(this, req, opts).finalResult(),
  };

  constructor(o: ClientOptions) {
    let u: URL;
    try {
      u = new URL(o.baseURL);
    } catch {
      throw new SottoError("sotto: baseURL must be an absolute http(s) URL");
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new SottoError("sotto: baseURL must be an absolute http(s) URL");
    this.baseURL = o.baseURL.replace(/\/+$/, "");
    this.pin = parsePin(o.pin);
    const suite = suiteByName(o.suite ?? "x25519");
    if (!suite) throw new SottoError("sotto: suite must be x25519 or xwing");
    this.suite = suite;
    if (!o.device) throw new SottoError("sotto: a device key is required");
    this.device = o.device;
    this.store = o.store ?? new MemoryStore();
    this.fetchFn = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.now = o.now ?? Date.now;
    this.maxRetries = Math.max(o.maxRetries ?? 0, 0);
    this.maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.maxPoWBits = o.maxPoWBits ?? DEFAULT_MAX_POW_BITS;
    this.shape = !o.unshaped;
    this.requireShape = !!o.requireShape && this.shape;
  }

  /** The held key configuration's issued_at (Unix seconds), undefined when none is held. */
  get heldIssuedAt(): number | undefined {
    return this.held?.issuedAt;
  }

  /** The server's time as this client estimates it (ms). */
  serverNow(): number {
    return this.now() + this.offsetMs;
  }

  /** Sets the clock offset from a server time read now (every GET /api/pubkey and #date). */
  learnClock(server: number | undefined): void {
    if (server !== undefined) this.offsetMs = server - this.now();
  }

  // serial runs fn after every earlier one: acceptance must not interleave.
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lock.then(fn, fn);
    this.lock = p.catch(() => {});
    return p;
  }

  private loadState(): Promise<void> {
    this.loaded ??= (async () => {
      let text: string | undefined;
      try {
        text = await this.store.load();
        if (text === undefined) return;
        const d = parseKeyConfig(text);
        await verifyKeyConfig(d, this.pin); // an expired one is still the floor against rollback
        this.held = d;
      } catch (e) {
        this.loaded = undefined;
        throw new StateError(`sotto: held key configuration unreadable or not signed by the pinned key (${(e as Error).name})`);
      }
    })();
    return this.loaded;
  }

  /**
   * Applies the acceptance rules to candidate (received with the server
   * time serverMs) and holds it when newer. Returns whether the held
   * document changed. A document issued in the future at the local clock is
   * judged again at the server's time, at most an hour ahead (2.1).
   */
  accept(candidate: string, serverMs?: number): Promise<boolean> {
    return this.serial(async () => {
      await this.loadState();
      const now = this.now();
      let d: KeyConfig;
      try {
        d = await acceptKeyConfig(this.held, candidate, this.pin, now);
      } catch (e) {
        const retry = e instanceof KeyConfigError && e.reason === "future" && serverMs !== undefined &&
          serverMs > now && serverMs - now <= MAX_FORWARD_CORRECTION_MS;
        if (!retry) throw e;
        d = await acceptKeyConfig(this.held, candidate, this.pin, serverMs);
      }
      if (this.held && d.issuedAt <= this.held.issuedAt) return false;
      try {
        await this.store.save(candidate);
      } catch {
        throw new StateError("sotto: cannot save the key configuration");
      }
      this.held = d;
      return true;
    });
  }

  /** Fetches GET /api/pubkey, learns the server's clock from its Date, and accepts the document. */
  async fetchKeyConfig(signal?: AbortSignal): Promise<boolean> {
    const resp = await this.send(this.baseURL + "/api/pubkey", { headers: { Accept: "application/json" }, signal });
    if (resp.status !== 200) throw await readProblem(resp, this.now());
    const text = await readLimited(resp, MAX_KEY_CONFIG_BYTES);
    if (text === undefined) throw new ResponseError("sotto: key configuration too large or not UTF-8");
    const t = serverTime(resp.headers);
    this.learnClock(t);
    return this.accept(text, t);
  }

  /** The key to seal to, fetching the key configuration when the held one has none. */
  async key(signal?: AbortSignal): Promise<Key> {
    await this.loadState();
    const pick = () => this.held && this.now() < this.held.expires * 1000 ? pickKey(this.held, this.suite, this.serverNow()) : undefined;
    let k = pick();
    if (k) return k;
    await this.fetchKeyConfig(signal);
    k = pick();
    if (!k) throw new KeyConfigError("no-key", `no valid ${this.suite.name} key`);
    return k;
  }

  /** fetch, with its failures typed: AbortedError when signal fired, NetworkError otherwise. */
  async send(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(url, init);
    } catch (e) {
      if (init.signal?.aborted) throw new AbortedError();
      throw new NetworkError(`sotto: cannot reach the server (${(e as Error).name})`, { cause: e });
    }
  }

  /** One sealed, signed POST /api/chat (fresh rid, ts and enc). Throws the typed problem on refusal. */
  async attempt(inner: Uint8Array, challenge: string | undefined, signal: AbortSignal): Promise<Attempt> {
    const k = await this.key(signal);
    const rid = crypto.getRandomValues(new Uint8Array(16));
    const sealed = await seal(this.suite, k.keyId, k.publicKey, inner, Math.floor(this.serverNow()), rid);
    const headers: Record<string, string> = {
      "Content-Type": "application/sotto-request",
      Accept: "text/event-stream",
      "Sotto-Device": this.device.device,
      "Sotto-Signature": await this.device.sign(sealed.body),
    };
    if (challenge) headers["Sotto-PoW"] = await solvePoW(challenge, sha256(sealed.body), this.maxPoWBits, signal);
    const resp = await this.send(this.baseURL + "/api/chat", { method: "POST", headers, body: own(sealed.body), signal });
    if (resp.status !== 200) throw await readProblem(resp, this.now());
    return { resp, sealed };
  }
}
