package engine

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Token is a vocabulary id (llama.cpp's llama_token).
type Token int32

// Role is the author of a chat message.
type Role uint8

// Chat roles.
const (
	RoleSystem Role = iota + 1
	RoleUser
	RoleAssistant
)

// Valid reports whether r is one of the chat roles.
func (r Role) Valid() bool { return r >= RoleSystem && r <= RoleAssistant }

// Message is one chat message. Content is a view into caller memory
// (normally a locked buffer) and is never copied into the Go heap.
type Message struct {
	Role    Role
	Content []byte
}

// Request is one generation. Its buffers (message contents, Prompt, Stop)
// are caller-owned views that must stay valid and unmodified until
// Generate returns; the engine copies prompt text and tokens only into
// locked memory.
type Request struct {
	// Messages, when non-nil, are formatted with the model's chat template
	// and end with an assistant prefix.
	Messages []Message
	// Prompt is raw text, tokenized as is (used when Messages is nil).
	Prompt []byte
	// Tokens is a pre-tokenized prompt, used when Messages is nil and
	// Prompt is empty (benchmarks, callers that tokenize themselves).
	// Every id is validated; nothing is added (no BOS).
	Tokens []Token
	// Sampling selects tokens; the zero value is greedy.
	Sampling Sampling
	// MaxTokens bounds the completion; 0 means up to the engine's cap
	// clamped to the context left after the prompt. An explicit value
	// above the cap is ErrInvalidRequest; prompt plus an explicit value
	// above the slot's context is ErrContextOverflow.
	MaxTokens int
	// Stop strings end the completion when generated; the stop string is
	// not emitted. At most MaxStops, each 1..MaxStopLen bytes of UTF-8.
	Stop [][]byte
	// IgnoreEOS keeps generating past end-of-generation tokens until
	// MaxTokens or a stop string (benchmarks; such tokens render as "").
	IgnoreEOS bool
	// MaxTokensDefault, when MaxTokens is 0 and it is > 0, replaces the
	// engine's cap as the bound before clamping to the context left (the
	// server's DEFAULT_MAX_TOKENS).
	MaxTokensDefault int
	// Prepared, when non-nil, is this request's prompt already tokenized
	// by the same engine's Prepare: Messages, Prompt, Tokens, MaxTokens
	// and MaxTokensDefault are then ignored in favour of its tokens and
	// MaxTokens.
	Prepared *Prepared
	// PrefixKey, when set and the engine has a prefix cache, names a
	// conversation: after the request the engine keeps its prompt's KV
	// state (locked memory) for PrefixTTL (capped by the engine), and a
	// later request with the same key reuses the longest common token
	// prefix instead of prefilling it. The caller derives it from the
	// device key and the client's secret, so nobody else can name it.
	PrefixKey *[32]byte
	PrefixTTL time.Duration
	// PrefixOwner names the device the conversation belongs to (a keyed
	// hash, never the device key): each owner has its own share of the
	// prefix cache, and only its own entries are evicted to make room for
	// it, so one device can neither evict another's conversations nor
	// learn their sizes from its own evictions.
	PrefixOwner uint64
}

// Limits on stop strings.
const (
	MaxStops   = 8
	MaxStopLen = 64
)

// ValidateShape checks what needs neither the model nor the tokenized
// prompt: the prompt is not empty, MaxTokens is within 0..maxTokensCap,
// the stop strings are within their limits. Errors wrap ErrInvalidRequest
// and never contain request content.
func (r *Request) ValidateShape(maxTokensCap int) error {
	if r == nil {
		return fmt.Errorf("%w: nil request", ErrInvalidRequest)
	}
	if r.Messages == nil && len(r.Prompt) == 0 && len(r.Tokens) == 0 && r.Prepared == nil {
		return fmt.Errorf("%w: empty prompt", ErrInvalidRequest)
	}
	if r.MaxTokens < 0 || r.MaxTokens > maxTokensCap {
		return fmt.Errorf("%w: max_tokens must be 0..%d", ErrInvalidRequest, maxTokensCap)
	}
	if len(r.Stop) > MaxStops {
		return fmt.Errorf("%w: at most %d stop strings", ErrInvalidRequest, MaxStops)
	}
	for i, s := range r.Stop {
		if len(s) == 0 || len(s) > MaxStopLen || !utf8.Valid(s) {
			return fmt.Errorf("%w: stop string %d must be 1..%d bytes of UTF-8", ErrInvalidRequest, i, MaxStopLen)
		}
	}
	return nil
}

// Sink receives the completion piece by piece, on the engine's scheduler
// goroutine. piece is valid UTF-8 and only valid during the call (it
// lives in a locked scratch buffer wiped afterwards): seal or copy it into
// locked memory, never keep it. Returning an error cancels the request
// (FinishCancelled) and Generate returns that error. A sink must be quick:
// every other stream waits while it runs.
type Sink func(piece []byte) error
