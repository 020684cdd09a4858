// @sotto/sdk: the TypeScript client of the Sotto protocol v1
// (docs/protocol.md, docs/clients.md). It verifies the server's signed key
// configuration against a pinned key, seals each request with HPKE on the
// device, signs it with the device key, and opens the sealed reply stream
// chunk by chunk. It never logs, and no error it throws quotes a prompt,
// a reply or a key.

export { SottoClient, type ClientOptions } from "./client.js";
export { ChatStream, formatStats, type ChatResult, type StreamOptions } from "./chatstream.js";
export type { ChatMessage, ChatRequest, Role } from "./request.js";
export { Conversation } from "./conversation.js";
export { WebCryptoDevice, deviceMessage, type DeviceSigner, type DeviceAlg } from "./device.js";
export { loadOrCreateDevice } from "./browser.js";
export { MemoryStore, IndexedDBStore, type KeyConfigStore } from "./storage.js";
export * from "./errors.js";
export {
  ProblemError, EnvelopeProblem, RequestProblem, DateProblem, ReplayProblem, DeviceProblem, TooLargeProblem,
  MediaTypeProblem, KeyProblem, RateLimitedProblem, PoWProblem, OverloadedProblem, InternalProblem, PROBLEM_NAMES,
} from "./problem.js";
// Protocol building blocks (vectors, other transports).
export { seal, pad, paddedLength, header, type Sealed } from "./envelope.js";
export { StreamOpener, openStream, responseKeys, chunkNonce, type Chunk, type ReplyDecoder } from "./stream.js";
export type { Final } from "./chunk.js";
export { shapeFrames, FRAME_PLAINTEXT_SIZE, FRAME_CIPHERTEXT_SIZE, MIN_SHAPE_FRAMES } from "./shape.js";
export { parseKeyConfig, acceptKeyConfig, verifyKeyConfig, tbs, pickKey, parsePin, signingKeyId, type KeyConfig, type Key } from "./keyconfig.js";
export { solvePoW, challengeBits } from "./pow.js";
export { SUITE_X25519, SUITE_XWING, xwingKeyValid, type Suite } from "./suite.js";
export { b64uDecode, b64uEncode } from "./bytes.js";
