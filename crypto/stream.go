package crypto

import (
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors of the stream opener. Every way a stream can be wrong other than
// ending early is ErrStreamCorrupt (wrapped with a reason that names no
// content): a bad or missing nonce event, a chunk that fails to decrypt
// (reordered, duplicated, dropped, spliced, flipped, final without its
// event type), an id other than the chunk count, bad chunk JSON, an empty
// delta, or an event after the final chunk.
var (
	ErrStreamTruncated = errors.New("crypto: response stream truncated")
	ErrStreamCorrupt   = errors.New("crypto: response stream corrupt")
	ErrNeedInput       = errors.New("crypto: need more stream input")
)

// maxLine bounds buffered input without a line end, so that a hostile
// stream cannot grow the buffer without limit. A chunk event's data line
// is at most a few times MaxDeltaBytes.
const maxLine = 1 << 20

// Chunk is one opened response chunk: a delta (Final nil) or the final
// chunk. Delta is a fresh slice the caller may keep.
type Chunk struct {
	Delta []byte
	Final *Final
}

// StreamOpener opens a response stream on the client, incrementally: Feed
// it bytes as they arrive and call Next until ErrNeedInput; call End at end
// of input. It is used from one goroutine. Errors are sticky.
type StreamOpener struct {
	sc    *SenderContext
	sse   sseParser
	aead  cipher.AEAD
	nonce [Nn]byte
	i     uint64
	state int
	err   error
	idBuf [20]byte
	// Shaped streams (shape.go): shapeOK when the request asked for one,
	// shaped when the nonce event announced one, total the frame count
	// the final frame fixed (0 before it).
	shapeOK, shaped bool
	total           uint64
}

const (
	stateNonce = iota
	stateChunks
	stateTrailer // shaped: after the final frame, padding to the bucket end
	stateDone
)

// NewStreamOpener returns an opener for the response to the request that
// produced sc.
func NewStreamOpener(sc *SenderContext) *StreamOpener {
	return &StreamOpener{sc: sc}
}

// Feed appends stream bytes.
func (o *StreamOpener) Feed(p []byte) error {
	if o.err != nil {
		return o.err
	}
	o.sse.feed(p)
	return nil
}

// Next returns the next chunk. It returns ErrNeedInput when the buffered
// input holds no complete event, and io.EOF once the final chunk has been
// returned and no further event is buffered (only comments may follow it).
func (o *StreamOpener) Next() (Chunk, error) {
	for o.err == nil {
		ev, ok := o.sse.next()
		if !ok {
			if len(o.sse.buf) > maxLine {
				o.fail(ErrStreamCorrupt, "line too long")
				break
			}
			if o.state == stateDone {
				return Chunk{}, io.EOF
			}
			return Chunk{}, ErrNeedInput
		}
		c, got := o.dispatch(ev)
		ev.reset()
		if got {
			return c, nil
		}
	}
	return Chunk{}, o.err
}

// End reports the end of input: nil if the final chunk was received and
// nothing but comments followed, ErrStreamTruncated if it was not
// (including a last event without its terminating blank line).
func (o *StreamOpener) End() error {
	if o.err != nil {
		return o.err
	}
	for {
		ev, ok := o.sse.next()
		if !ok {
			break
		}
		if _, got := o.dispatch(ev); got && o.err == nil {
			o.fail(ErrStreamCorrupt, "chunk left unread at end")
		}
		ev.reset()
		if o.err != nil {
			return o.err
		}
	}
	switch {
	case o.state != stateDone:
		o.fail(ErrStreamTruncated, "no final chunk")
	case o.sse.pending():
		o.fail(ErrStreamCorrupt, "data after the final chunk")
	}
	return o.err
}

func (o *StreamOpener) fail(kind error, why string) {
	o.err = fmt.Errorf("%w: %s", kind, why)
}

// dispatch handles one event; got is true when it yields a chunk.
func (o *StreamOpener) dispatch(ev *sseEvent) (c Chunk, got bool) {
	switch o.state {
	case stateNonce:
		o.nonceEvent(ev)
		return Chunk{}, false
	case stateChunks:
		if o.shaped {
			return o.frameEvent(ev)
		}
		return o.chunkEvent(ev)
	case stateTrailer:
		return o.frameEvent(ev)
	}
	o.fail(ErrStreamCorrupt, "event after the final chunk")
	return Chunk{}, false
}

// nonceEvent checks the first event and derives the response keys.
func (o *StreamOpener) nonceEvent(ev *sseEvent) {
	var rn [ResponseNonceSize + 1]byte
	shaped := o.shapeOK && string(ev.name) == EventNonceShaped
	if (string(ev.name) != "nonce" && !shaped) || ev.hasID || ev.ndata != 1 ||
		base64.RawURLEncoding.Strict().DecodedLen(len(ev.data)) != ResponseNonceSize {
		o.fail(ErrStreamCorrupt, "missing or malformed nonce event")
		return
	}
	n, err := base64.RawURLEncoding.Strict().Decode(rn[:], ev.data)
	if err != nil || n != ResponseNonceSize {
		o.fail(ErrStreamCorrupt, "malformed response nonce")
		return
	}
	aead, nonce, err := responseKeys(o.sc.enc, rn[:n], o.sc.secret[:])
	if err != nil {
		o.fail(ErrStreamCorrupt, "response keys")
		return
	}
	o.aead, o.nonce, o.state, o.shaped = aead, nonce, stateChunks, shaped
}

// chunkEvent opens chunk i.
func (o *StreamOpener) chunkEvent(ev *sseEvent) (Chunk, bool) {
	var final bool
	switch string(ev.name) {
	case "", "message":
	case "final":
		final = true
	default:
		o.fail(ErrStreamCorrupt, "unexpected event type")
		return Chunk{}, false
	}
	if ev.hasID && string(ev.id) != string(strconv.AppendUint(o.idBuf[:0], o.i, 10)) {
		o.fail(ErrStreamCorrupt, "id is not the chunk count")
		return Chunk{}, false
	}
	pt, ok := o.openChunk(ev, final)
	if !ok {
		return Chunk{}, false
	}
	o.i++
	if !final {
		d, ok := parseDelta(pt)
		if !ok {
			o.fail(ErrStreamCorrupt, "malformed delta chunk")
			return Chunk{}, false
		}
		return Chunk{Delta: d}, true
	}
	f, ok := parseFinal(pt)
	if !ok {
		o.fail(ErrStreamCorrupt, "malformed final chunk")
		return Chunk{}, false
	}
	o.state = stateDone
	return Chunk{Final: &f}, true
}

// openChunk decodes and decrypts the event's data and strips the padding.
func (o *StreamOpener) openChunk(ev *sseEvent, final bool) ([]byte, bool) {
	if ev.ndata != 1 {
		o.fail(ErrStreamCorrupt, "chunk event without exactly one data line")
		return nil, false
	}
	ct, err := base64.RawURLEncoding.Strict().AppendDecode(nil, ev.data)
	if err != nil || len(ct) < Nt {
		o.fail(ErrStreamCorrupt, "malformed chunk data")
		return nil, false
	}
	nonce := chunkNonce(&o.nonce, o.i)
	var aad []byte
	if final {
		aad = aadFinalBytes
	}
	pt, err := o.aead.Open(ct[:0], nonce[:], ct, aad)
	if err != nil {
		o.fail(ErrStreamCorrupt, "chunk does not decrypt")
		return nil, false
	}
	return pt[:stripZeros(pt)], true
}

// OpenStream opens a whole response stream held in memory and returns the
// reply text (the deltas concatenated) and the final chunk. On error it
// returns no text: a client must not show part of a refused stream as a
// complete reply.
func OpenStream(sc *SenderContext, sse []byte) (text []byte, f Final, err error) {
	o := NewStreamOpener(sc)
	_ = o.Feed(sse)
	return o.drain(text)
}

// ReadStream opens a response stream from r, calling yield for each chunk
// as it arrives; it returns when the stream ends, yield fails or the
// stream is refused.
func ReadStream(sc *SenderContext, r io.Reader, yield func(Chunk) error) error {
	return NewStreamOpener(sc).ReadAll(r, yield)
}

func wrapTruncated(err error) error { return fmt.Errorf("%w: %w", ErrStreamTruncated, err) }

var b64Strict = base64.RawURLEncoding.Strict()

func (o *StreamOpener) drain(text []byte) ([]byte, Final, error) {
	var f Final
	for {
		c, err := o.Next()
		if err == ErrNeedInput || err == io.EOF {
			if err := o.End(); err != nil {
				return nil, Final{}, err
			}
			return text, f, nil
		}
		if err != nil {
			return nil, Final{}, err
		}
		if c.Final != nil {
			f = *c.Final
		} else {
			text = append(text, c.Delta...)
		}
	}
}
