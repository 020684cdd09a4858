package llama

import (
	"fmt"

	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
)

// Prepare checks req as Generate would and formats and tokenizes its
// prompt into locked memory, without queueing it: the HTTP edge calls it
// before answering 200, so a request the engine would refuse is refused
// before the stream starts. Hand the result to Generate as req.Prepared
// (the prompt is then not tokenized twice) and Release it afterwards.
//
// Errors: ErrInvalidRequest (a *engine.RangeError for a sampling field),
// ErrInvalidMessage wrapping ErrMessageNUL, ErrTemplateUnsupported,
// ErrContextOverflow (wrapping ErrPromptTooLong when the prompt alone
// does not fit), ErrOverloaded (locked budget exhausted), ErrClosed.
func (e *Engine) Prepare(req *Request) (*engine.Prepared, error) {
	if e.isClosed() {
		return nil, ErrClosed
	}
	if err := validateRequest(req, e.m, &e.cfg); err != nil {
		return nil, err
	}
	buf, n, maxTokens, err := e.tokenizeRequest(req)
	if err != nil {
		return nil, err
	}
	return engine.NewPrepared(TokensIn(buf.Bytes())[:n], maxTokens, buf.Destroy), nil
}

// errPromptTooLong is the prompt alone not fitting a slot's context.
var errPromptTooLong = fmt.Errorf("%w: %w", ErrContextOverflow, engine.ErrPromptTooLong)

func (e *Engine) isClosed() bool {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	return e.closed
}

// tokenizeRequest tokenizes the prompt into a locked buffer from the
// budget (the caller destroys it) and resolves MaxTokens: an explicit
// value must fit the context left; without one the bound is
// min(MaxTokensDefault, or the cap without it, the context left).
func (e *Engine) tokenizeRequest(req *Request) (*locked.Buffer, int, int, error) {
	tokBuf, err := allocAligned(e.cfg.Budget, 4*e.cfg.ContextPerSlot)
	if err != nil {
		return nil, 0, 0, overloaded(err)
	}
	n, err := e.tokenize(req, TokensIn(tokBuf.Bytes())[:e.cfg.ContextPerSlot])
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: prompt has no tokens", ErrInvalidRequest)
	}
	if err != nil {
		tokBuf.Destroy()
		return nil, 0, 0, err
	}
	maxTokens, err := e.completionBound(req, e.cfg.ContextPerSlot-n)
	if err != nil {
		tokBuf.Destroy()
		return nil, 0, 0, err
	}
	return tokBuf, n, maxTokens, nil
}

// completionBound resolves MaxTokens against the context left after the
// prompt.
func (e *Engine) completionBound(req *Request, ctxLeft int) (int, error) {
	switch {
	case ctxLeft < 1:
		return 0, errPromptTooLong
	case req.MaxTokens > ctxLeft:
		return 0, ErrContextOverflow
	case req.MaxTokens > 0:
		return req.MaxTokens, nil
	case req.MaxTokensDefault > 0:
		return min(req.MaxTokensDefault, e.cfg.MaxTokensCap, ctxLeft), nil
	}
	return min(e.cfg.MaxTokensCap, ctxLeft), nil
}

// checkPrepared refuses a Prepared this engine could not have made (a
// foreign or released one): its tokens must be valid ids and fit a slot
// with its MaxTokens.
func (e *Engine) checkPrepared(p *engine.Prepared) error {
	toks := p.Tokens()
	if len(toks) == 0 || p.MaxTokens < 1 || p.MaxTokens > e.cfg.MaxTokensCap ||
		len(toks)+p.MaxTokens > e.cfg.ContextPerSlot {
		return fmt.Errorf("%w: prepared request does not fit this engine", ErrInvalidRequest)
	}
	for _, t := range toks {
		if !e.m.validToken(t) {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, ErrInvalidToken)
		}
	}
	return nil
}
