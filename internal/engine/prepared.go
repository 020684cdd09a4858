package engine

import "sync"

// Prepared is a request whose prompt an engine has already formatted and
// tokenized (into locked memory) and whose completion bound it has
// resolved: the HTTP edge prepares a request before answering 200, so that
// everything the engine would refuse (a NUL in a message, a template that
// cannot render, a prompt that does not fit) is refused before the stream
// starts. Generate takes a Request with Prepared set and reuses the tokens
// instead of tokenizing again.
//
// A Prepared belongs to the engine that made it and to one Generate call;
// the caller releases it after Generate returns (or instead of calling it).
type Prepared struct {
	// PromptTokens is the length of the formatted, tokenized prompt.
	PromptTokens int
	// MaxTokens is the resolved completion bound (>= 1): the request's
	// explicit value, or min(MaxTokensDefault or the engine's cap, the
	// context left after the prompt).
	MaxTokens int
	tokens    []Token
	free      func()
	once      sync.Once
}

// NewPrepared is for engine implementations: tokens is a view into memory
// that free wipes and releases.
func NewPrepared(tokens []Token, maxTokens int, free func()) *Prepared {
	return &Prepared{PromptTokens: len(tokens), MaxTokens: maxTokens, tokens: tokens, free: free}
}

// Tokens returns the prompt tokens (a view valid until Release).
func (p *Prepared) Tokens() []Token { return p.tokens }

// Release wipes and frees the prompt tokens. It is idempotent and
// nil-safe.
func (p *Prepared) Release() {
	if p == nil {
		return
	}
	p.once.Do(func() {
		p.tokens = nil
		if p.free != nil {
			p.free()
		}
	})
}
