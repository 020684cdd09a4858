// Typed errors. No message ever quotes a prompt, a reply, a key or a
// server-supplied string other than a problem name or code that passed a
// strict pattern.

/** Base class of every error the SDK throws. */
export class SottoError extends Error {
  override name = "SottoError";
}

/** A subclass of SottoError named name (instanceof works; the name shows in logs). */
function errorClass(name: string) {
  return class extends SottoError {
    override name = name;
  };
}

/** Why a key configuration was refused (crypto/keyconfig's errors). */
export type KeyConfigReason =
  | "malformed" // form: JSON, members, ids, lengths, base64url
  | "time-format" // a time not spelled YYYY-MM-DDTHH:MM:SSZ
  | "unpinned" // alg is not ed25519 or signing_key_id is not the pinned key
  | "signature" // the signature does not verify
  | "expired" // now >= expires
  | "future" // issued_at > now + 60 s (even at the server's Date)
  | "rollback" // issued_at older than the held document's
  | "conflict" // same issued_at as the held document, different signed bytes
  | "no-key"; // no usable key of the client's suite

/** No verified key configuration the client may use (protocol section 2). */
export class KeyConfigError extends SottoError {
  override name = "KeyConfigError";
  constructor(readonly reason: KeyConfigReason, detail?: string) {
    super(`sotto: key configuration refused: ${reason}${detail ? ` (${detail})` : ""}`);
  }
}

/** A request the protocol cannot carry, refused before anything is sent. Names fields only. */
export const InvalidRequestError = errorClass("InvalidRequestError");
export type InvalidRequestError = InstanceType<typeof InvalidRequestError>;

/** An answer that is neither a problem document nor an event stream, or over the size limit. */
export const ResponseError = errorClass("ResponseError");
export type ResponseError = InstanceType<typeof ResponseError>;

/** The held key configuration could not be read, verified or written. */
export const StateError = errorClass("StateError");
export type StateError = InstanceType<typeof StateError>;

/** The server asked for more proof-of-work bits than maxPoWBits. */
export const PoWTooHardError = errorClass("PoWTooHardError");
export type PoWTooHardError = InstanceType<typeof PoWTooHardError>;

/** The reply stream ended before its sealed final chunk (section 5.3): the text so far is authentic but incomplete. */
export const StreamTruncatedError = errorClass("StreamTruncatedError");
export type StreamTruncatedError = InstanceType<typeof StreamTruncatedError>;

/** The reply stream was tampered with or malformed (reordered, dropped, flipped, spliced chunks, bad JSON...). */
export const StreamCorruptError = errorClass("StreamCorruptError");
export type StreamCorruptError = InstanceType<typeof StreamCorruptError>;

/** The caller aborted (AbortSignal, or stream.abort()). */
export class AbortedError extends SottoError {
  override name = "AbortedError";
  constructor() {
    super("sotto: aborted");
  }
}

/** The request or the reply could not travel (fetch failed: DNS, connection, CORS, TLS). */
export const NetworkError = errorClass("NetworkError");
export type NetworkError = InstanceType<typeof NetworkError>;
