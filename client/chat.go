package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
)

// maxPoWAttempts bounds the proof-of-work retries of one Chat: a second
// one covers a challenge that expired while it was being solved.
const maxPoWAttempts = 2

// retryState counts the retries of one Chat call, so that every retry
// rule fires a bounded number of times.
type retryState struct {
	keyRefreshed bool
	dateFixed    bool
	powAttempts  int
	waits        int
	challenge    string // proof of work to answer on each new body
}

// Chat sends req and streams the reply: onDelta (may be nil) is called
// with each chunk's text as it arrives, in order, from the calling
// goroutine; text is valid only during the call. An error from onDelta
// stops the stream (the connection is closed, so the server frees the
// slot) and is returned as is. Cancelling ctx does the same and returns
// an error wrapping ctx.Err().
//
// On success Result is the final chunk; a FinishReason of "error" is a
// generation failure reported by the server (Result.ErrorCode), not a Go
// error. Errors: ErrInvalidRequest, ErrKeyConfig (wrapping the keyconfig
// error), *ProblemError, ErrPoWTooHard, ErrState, ErrResponse, the stream
// errors crypto.ErrStreamTruncated and crypto.ErrStreamCorrupt (wrapped),
// and transport errors. If onDelta has seen text when an error is
// returned, that text is not a complete reply.
func (c *Client) Chat(ctx context.Context, req Request, onDelta func(text []byte) error) (Result, error) {
	inner, err := req.marshal(c.shape)
	if err != nil {
		return Result{}, err
	}
	var rs retryState
	for {
		res, err := c.attempt(ctx, inner, &rs, onDelta)
		var pe *ProblemError
		if !errors.As(err, &pe) {
			return res, err
		}
		if err := c.recover(ctx, pe, &rs); err != nil {
			return Result{}, err
		}
	}
}

// recover applies the retry rule for pe. It returns nil to retry, or the
// error Chat returns. Each rule is bounded by rs.
func (c *Client) recover(ctx context.Context, pe *ProblemError, rs *retryState) error {
	switch pe.Name {
	case wire.ProblemKey:
		if rs.keyRefreshed {
			return pe
		}
		rs.keyRefreshed = true
		return c.refreshKey(ctx, pe)
	case wire.ProblemDate:
		if rs.dateFixed || pe.date.IsZero() {
			return pe
		}
		rs.dateFixed = true
		c.learnClock(pe.date, c.now())
		return nil
	case wire.ProblemPoW:
		if rs.powAttempts >= maxPoWAttempts || pe.challenge == "" {
			return pe
		}
		rs.powAttempts++
		rs.challenge = pe.challenge
		return nil
	case wire.ProblemRateLimited, wire.ProblemOverloaded:
		if rs.waits >= c.retries {
			return pe
		}
		d := pe.RetryAfter
		if d <= 0 {
			d = backoff(rs.waits)
		}
		rs.waits++
		if !c.sleep(ctx.Done(), d) {
			return fmt.Errorf("client: %w", ctx.Err())
		}
		return nil
	}
	return pe
}

// refreshKey follows a #key refusal: accept the problem's key_config, and
// if that is not newer than the held document, fetch GET /api/pubkey
// once. It returns nil when a newer document is held.
func (c *Client) refreshKey(ctx context.Context, pe *ProblemError) error {
	var memberErr error
	if len(pe.keyConfig) > 0 {
		newer, err := c.accept(pe.keyConfig, pe.date)
		if newer {
			return nil
		}
		memberErr = err
	}
	newer, err := c.fetchKeyConfig(ctx)
	switch {
	case newer:
		return nil
	case err != nil:
		return err
	case memberErr != nil:
		return memberErr
	}
	return pe // nothing newer to retry with
}

// attempt sends one sealed request (fresh rid, fresh body) and reads its
// answer: a *ProblemError, or the stream.
func (c *Client) attempt(ctx context.Context, inner []byte, rs *retryState, onDelta func([]byte) error) (Result, error) {
	body, sc, err := c.seal(ctx, inner)
	if err != nil {
		return Result{}, err
	}
	defer sc.Destroy()
	hreq, err := c.newChatRequest(ctx, body, rs.challenge)
	if err != nil {
		return Result{}, err
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return Result{}, fmt.Errorf("client: chat: %w", err)
	}
	defer resp.Body.Close() // closing mid-stream tells the server to stop
	if resp.StatusCode != http.StatusOK {
		return Result{}, readProblem(resp)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != wire.MediaTypeStream {
		return Result{}, unexpected("reply is not an event stream")
	}
	return c.readStream(ctx, sc, resp.Body, onDelta)
}

// seal picks the key and seals inner with a fresh rid at the server's
// estimated time.
func (c *Client) seal(ctx context.Context, inner []byte) ([]byte, *crypto.SenderContext, error) {
	k, err := c.key(ctx)
	if err != nil {
		return nil, nil, err
	}
	var rid [16]byte
	if _, err := io.ReadFull(c.rand, rid[:]); err != nil {
		return nil, nil, fmt.Errorf("client: random: %w", err)
	}
	c.mu.Lock()
	ts := c.now().Add(c.keys.offset).UnixMilli()
	c.mu.Unlock()
	body, sc, err := crypto.Seal(k.Suite, k.KeyID, k.PublicKey, inner, ts, rid, c.rand)
	if err != nil {
		return nil, nil, fmt.Errorf("client: seal: %w", err)
	}
	return body, sc, nil
}

// newChatRequest builds the POST with the device signature and, when the
// server asked for it, the proof of work bound to this body.
func (c *Client) newChatRequest(ctx context.Context, body []byte, challenge string) (*http.Request, error) {
	sig, err := c.signer.SignBody(body)
	if err != nil {
		return nil, fmt.Errorf("client: device signature: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+wire.PathChat, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	h := hreq.Header
	h.Set("Content-Type", wire.MediaTypeRequest)
	h.Set("Accept", wire.MediaTypeStream)
	h.Set(wire.HeaderDevice, c.signer.Device().String())
	h.Set(wire.HeaderSignature, sig)
	if cred := c.enrolment(); cred != "" {
		h.Set(wire.HeaderEnrolment, cred)
	}
	if challenge != "" {
		answer, err := c.solve(ctx, challenge, sha256.Sum256(body))
		if err != nil {
			return nil, err
		}
		h.Set(wire.HeaderPoW, answer)
	}
	return hreq, nil
}

// readStream opens the reply stream, calling onDelta per chunk.
func (c *Client) readStream(ctx context.Context, sc *crypto.SenderContext, r io.Reader, onDelta func([]byte) error) (Result, error) {
	var final *crypto.Final
	var cbErr error
	lr := &limitReader{r: r, left: c.maxResp}
	o := crypto.NewStreamOpener(sc)
	if c.shape {
		o.AcceptShaped()
	}
	// A shaped stream is read to its end, past the final frame: closing at
	// the final frame would show an observer when the reply ended.
	err := o.ReadAll(lr, func(ch crypto.Chunk) error {
		if ch.Final != nil {
			f := *ch.Final
			final = &f
			return nil
		}
		if onDelta != nil {
			cbErr = onDelta(ch.Delta)
		}
		return cbErr
	})
	switch {
	case cbErr != nil:
		return Result{}, cbErr
	case err == nil && final == nil: // ReadStream succeeds only after the final chunk
		return Result{}, fmt.Errorf("client: reply: %w", crypto.ErrStreamTruncated)
	case err == nil && c.needShape && !o.Shaped():
		return Result{}, unexpected("reply stream is not shaped")
	case err == nil:
	case ctx.Err() != nil: // the read failed because the caller gave up
		return Result{}, fmt.Errorf("client: %w", ctx.Err())
	default:
		return Result{}, fmt.Errorf("client: reply: %w", err)
	}
	return Result{FinishReason: final.Reason, PromptTokens: final.PromptTokens,
		CompletionTokens: final.CompletionTokens, ErrorCode: final.ErrorCode, Shaped: o.Shaped()}, nil
}

// limitReader fails, rather than ends, past its limit: a reply cut short
// by the limit must not look like a well-formed end of stream.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, unexpected("reply stream over the size limit")
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// backoff is the wait before retry n (0-based) when the server gave no
// Retry-After: 1 s doubling, at most 30 s.
func backoff(n int) time.Duration {
	return min(time.Second<<min(n, 5), 30*time.Second)
}
