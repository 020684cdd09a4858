// Shaped streams (protocol section 5.5): after the `event: nonce-shaped`
// event every frame has one plaintext size, so one ciphertext size and one
// SSE line length; a frame is padding, a delta or the final chunk, told
// apart only inside the ciphertext, and padding frames fill the stream to
// the end of its length bucket. A mirror of crypto/shape.go.

import { utf8 } from "./bytes.js";

/** Every shaped frame's plaintext size. */
export const FRAME_PLAINTEXT_SIZE = 256;
/** FRAME_PLAINTEXT_SIZE plus the AEAD tag. */
export const FRAME_CIPHERTEXT_SIZE = FRAME_PLAINTEXT_SIZE + 16;
/** The smallest length bucket, in frames. */
export const MIN_SHAPE_FRAMES = 16;
/** The inner request's "shape" member value. */
export const SHAPE_CONSTANT = "constant";
/** The first event's type in a shaped stream. */
export const EVENT_NONCE_SHAPED = "nonce-shaped";
/** Every frame's AAD: it binds the framing, so a 5.3 chunk never opens as a frame (nor the reverse). */
export const AAD_SHAPED = utf8("shaped");

/**
 * A shaped stream's frame count when its final chunk is frame finalIndex:
 * the smallest power of two that is at least MIN_SHAPE_FRAMES and more than finalIndex.
 */
export function shapeFrames(finalIndex: number): number {
  let n = MIN_SHAPE_FRAMES;
  while (n <= finalIndex) n *= 2;
  return n;
}
