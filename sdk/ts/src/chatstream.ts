// ChatStream: one chat, as an async iterator of text deltas
// (`for await (const delta of client.chat.stream(req))`), with the retry
// rules of protocol section 9 and cancellation that reaches the server
// (the connection is closed, so it frees the slot at once).

import type { Final } from "./chunk.js";
import type { Attempt, SottoClient } from "./client.js";
import { AbortedError, ResponseError, SottoError, StreamTruncatedError } from "./errors.js";
import { DateProblem, KeyProblem, OverloadedProblem, PoWProblem, ProblemError, RateLimitedProblem } from "./problem.js";
import { marshalRequest, type ChatRequest } from "./request.js";
import { StreamOpener, type ReplyDecoder } from "./stream.js";

/** A second proof of work covers a challenge that expired while the first was solved. */
const MAX_POW_ATTEMPTS = 2;

export interface StreamOptions {
  /** Aborts the chat (sealing, waiting, or streaming). */
  signal?: AbortSignal;
}

/** The final chunk, the whole text, and the numbers `sotto chat` prints. */
export interface ChatResult extends Final {
  text: string;
  /** From the call to the first text (sealing, network, queue, prompt). */
  firstTokenMs?: number;
  /** Generation rate after the first token. */
  tokensPerSecond?: number;
  /** The reply came as a shaped stream (protocol 5.5). */
  shaped: boolean;
}

/** "[N tokens, first token T ms, R tokens/s]" as sotto chat prints it. */
export function formatStats(r: ChatResult): string {
  let s = `[${r.completionTokens} tokens`;
  if (r.firstTokenMs !== undefined) {
    s += `, first token ${Math.round(r.firstTokenMs)} ms`;
    if (r.tokensPerSecond !== undefined) s += `, ${r.tokensPerSecond.toFixed(1)} tokens/s`;
  }
  return s + "]";
}

/**
 * The decoder for a 200 reply. Protocol v1 has one media type
 * (text/event-stream) and two framings named by the first event: 5.3's,
 * and the shaped stream of 5.5, accepted when the request asked for it.
 */
export function decoderFor(contentType: string | null, a: Attempt, acceptShaped: boolean): ReplyDecoder | undefined {
  const mt = (contentType ?? "").split(";")[0].trim().toLowerCase();
  if (mt === "text/event-stream") return new StreamOpener(a.sealed.enc, a.sealed.secret, acceptShaped);
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError());
    const t = setTimeout(() => { signal.removeEventListener("abort", onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new AbortedError()); };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export class ChatStream implements AsyncIterable<string> {
  /** Aborting it stops the chat; so does a user signal, or breaking out of the loop. */
  readonly controller = new AbortController();
  /** The text received so far (authentic; complete only once result is set). */
  text = "";
  /** Set when the final chunk arrived. */
  result?: ChatResult;
  private readonly started: number;
  private firstAt?: number;
  private gen?: AsyncGenerator<string>;
  private readonly inner: Uint8Array;
  private readonly unlink: () => void;

  constructor(private readonly client: SottoClient, req: ChatRequest, opts: StreamOptions) {
    this.inner = marshalRequest(req, client.shape);
    this.started = performance.now();
    const s = opts.signal;
    if (s?.aborted) this.controller.abort();
    const onAbort = () => this.controller.abort();
    s?.addEventListener("abort", onAbort, { once: true });
    // A long-lived signal shared by many chats must not keep every one alive.
    this.unlink = () => s?.removeEventListener("abort", onAbort);
  }

  /** Stops the chat; the iterator then throws AbortedError. */
  abort(): void {
    this.controller.abort();
  }

  [Symbol.asyncIterator](): AsyncGenerator<string> {
    if (this.gen) throw new SottoError("sotto: a ChatStream is read once");
    this.gen = this.run();
    return this.gen;
  }

  /** Reads the whole reply (unless already read) and returns the result. */
  async finalResult(): Promise<ChatResult> {
    if (!this.gen) for await (const _ of this) { /* text accumulates in this.text */ }
    if (!this.result) throw new SottoError("sotto: the stream has not finished");
    return this.result;
  }

  private async *run(): AsyncGenerator<string> {
    try {
      yield* this.attempts();
    } finally {
      this.unlink();
    }
  }

  private async *attempts(): AsyncGenerator<string> {
    const signal = this.controller.signal;
    const rs = { keyRefreshed: false, dateFixed: false, pow: 0, waits: 0, challenge: undefined as string | undefined };
    for (;;) {
      if (signal.aborted) throw new AbortedError();
      let a: Attempt;
      try {
        a = await this.client.attempt(this.inner, rs.challenge, signal);
      } catch (e) {
        if (!(e instanceof ProblemError)) throw e;
        await this.recover(e, rs, signal);
        continue;
      }
      yield* this.read(a, signal);
      return;
    }
  }

  // recover applies the retry rule for a problem (each bounded), or throws it.
  private async recover(pe: ProblemError, rs: { keyRefreshed: boolean; dateFixed: boolean; pow: number; waits: number; challenge?: string }, signal: AbortSignal): Promise<void> {
    if (pe instanceof KeyProblem && !rs.keyRefreshed) {
      rs.keyRefreshed = true;
      return this.refreshKey(pe, signal);
    }
    if (pe instanceof DateProblem && !rs.dateFixed && pe.serverTime !== undefined) {
      rs.dateFixed = true;
      this.client.learnClock(pe.serverTime);
      return;
    }
    if (pe instanceof PoWProblem && rs.pow < MAX_POW_ATTEMPTS && pe.challenge) {
      rs.pow++;
      rs.challenge = pe.challenge;
      return;
    }
    if ((pe instanceof RateLimitedProblem || pe instanceof OverloadedProblem) && rs.waits < this.client.maxRetries) {
      const ms = pe.retryAfterMs > 0 ? pe.retryAfterMs : Math.min(1000 * 2 ** Math.min(rs.waits, 5), 30_000);
      rs.waits++;
      return sleep(ms, signal);
    }
    throw pe;
  }

  // refreshKey: the problem's key_config, and if that is not newer, GET /api/pubkey once.
  private async refreshKey(pe: KeyProblem, signal: AbortSignal): Promise<void> {
    let memberErr: unknown;
    if (pe.keyConfig) {
      try {
        if (await this.client.accept(pe.keyConfig, pe.serverTime)) return;
      } catch (e) {
        memberErr = e;
      }
    }
    if (await this.client.fetchKeyConfig(signal)) return;
    throw memberErr ?? pe;
  }

  private async *read(a: Attempt, signal: AbortSignal): AsyncGenerator<string> {
    const dec = decoderFor(a.resp.headers.get("Content-Type"), a, this.client.shape);
    const body = a.resp.body;
    if (!dec || !body) {
      await body?.cancel().catch(() => {});
      throw new ResponseError("sotto: the reply is not an event stream");
    }
    const reader = body.getReader();
    let total = 0;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (signal.aborted) throw new AbortedError();
          throw new StreamTruncatedError(`sotto: reply stream truncated: connection lost (${(e as Error).name})`, { cause: e });
        }
        if (chunk.done) break;
        total += chunk.value.length;
        if (total > this.client.maxResponseBytes) throw new ResponseError("sotto: reply stream over the size limit");
        dec.feed(chunk.value);
        for (let c = dec.next(); c; c = dec.next()) {
          if (c.final) {
            this.finish(c.final, dec.shaped);
            continue;
          }
          this.firstAt ??= performance.now();
          this.text += c.delta;
          yield c.delta;
          if (signal.aborted) throw new AbortedError();
        }
      }
      // A shaped stream is read to its last padding frame: closing at the
      // final frame would show an observer when the reply ended (5.5).
      dec.end();
      if (this.client.requireShape && !dec.shaped) throw new ResponseError("sotto: reply stream is not shaped");
    } catch (e) {
      this.result = undefined;
      throw e;
    } finally {
      // Left early (break, abort, error): abort the fetch, so the connection
      // closes and the server frees the slot at once. A no-op after the end.
      if (!this.result) this.controller.abort();
      await reader.cancel().catch(() => {});
    }
  }

  private finish(f: Final, shaped: boolean): void {
    const end = performance.now();
    const r: ChatResult = { ...f, text: this.text, shaped };
    if (this.firstAt !== undefined) {
      r.firstTokenMs = this.firstAt - this.started;
      const gen = (end - this.firstAt) / 1000;
      if (f.completionTokens > 1 && gen > 0) r.tokensPerSecond = (f.completionTokens - 1) / gen;
    }
    this.result = r;
  }
}
