package crypto

import (
	"bytes"
	"io"
)

// AcceptShaped lets the opener read a shaped stream (protocol section
// 5.5) as well as a legacy one: call it before Feed when the request
// carried "shape":"constant". Without it a shaped stream is corrupt.
func (o *StreamOpener) AcceptShaped() { o.shapeOK = true }

// Shaped reports whether the stream's nonce event announced a shaped
// stream.
func (o *StreamOpener) Shaped() bool { return o.shaped }

// frameEvent opens shaped frame i: no id, no event type, one data line of
// exactly FrameCiphertextSize bytes, aad "shaped". A padding frame yields
// nothing; after the final frame only padding frames may come, up to the
// bucket's frame count.
func (o *StreamOpener) frameEvent(ev *sseEvent) (Chunk, bool) {
	if len(ev.name) != 0 || ev.hasID || ev.ndata != 1 {
		o.fail(ErrStreamCorrupt, "shaped frame with an event type, an id or not one data line")
		return Chunk{}, false
	}
	pt, ok := o.openFrame(ev.data)
	if !ok {
		return Chunk{}, false
	}
	i := o.i
	o.i++
	switch {
	case len(pt) == 0: // padding
		if o.state == stateTrailer && o.i == o.total {
			o.state = stateDone
		}
		return Chunk{}, false
	case o.state == stateTrailer:
		o.fail(ErrStreamCorrupt, "text or final after the final frame")
		return Chunk{}, false
	}
	// parseDelta unescapes in place: give it a copy, so a final frame it
	// refuses reaches parseFinal untouched.
	if d, ok := parseDelta(bytes.Clone(pt)); ok {
		return Chunk{Delta: d}, true
	}
	f, ok := parseFinal(pt)
	if !ok {
		o.fail(ErrStreamCorrupt, "malformed shaped frame")
		return Chunk{}, false
	}
	o.total, o.state = ShapeFrames(i), stateTrailer
	if o.i == o.total {
		o.state = stateDone
	}
	return Chunk{Final: &f}, true
}

// openFrame decodes and decrypts a frame and strips its zero padding.
func (o *StreamOpener) openFrame(data []byte) ([]byte, bool) {
	ct, err := b64Strict.AppendDecode(nil, data)
	if err != nil || len(ct) != FrameCiphertextSize {
		o.fail(ErrStreamCorrupt, "shaped frame of the wrong size")
		return nil, false
	}
	nonce := chunkNonce(&o.nonce, o.i)
	pt, err := o.aead.Open(ct[:0], nonce[:], ct, aadShaped)
	if err != nil {
		o.fail(ErrStreamCorrupt, "frame does not decrypt")
		return nil, false
	}
	return pt[:stripZeros(pt)], true
}

// ReadFrom reads the stream from r, calling yield for each chunk as it
// arrives, until the stream ends, yield fails or the stream is refused. A
// shaped stream is read to its last padding frame (protocol section 5.5:
// a client that stops at the final frame shows an observer when the reply
// ended).
func (o *StreamOpener) ReadAll(r io.Reader, yield func(Chunk) error) error {
	buf := make([]byte, 4096)
	for {
		n, rerr := r.Read(buf)
		_ = o.Feed(buf[:n])
		for {
			c, err := o.Next()
			if err == ErrNeedInput || err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if err := yield(c); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return o.End()
		}
		if rerr != nil {
			return wrapTruncated(rerr)
		}
	}
}

// OpenShapedStream is OpenStream for a request that asked for a shaped
// stream: it accepts either framing.
func OpenShapedStream(sc *SenderContext, sse []byte) (text []byte, f Final, err error) {
	o := NewStreamOpener(sc)
	o.AcceptShaped()
	_ = o.Feed(sse)
	return o.drain(text)
}
