package llama

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Request is one generation. Its buffers (message contents, Prompt, Stop)
// are caller-owned views that must stay valid and unmodified until
// Generate returns; the engine copies prompt text and tokens only into
// locked memory.
type Request struct {
	// Messages, when non-nil, are formatted with the model's chat template
	// (see Model.ApplyChatTemplate) and end with an assistant prefix.
	Messages []Message
	// Prompt is raw text, tokenized as is (used when Messages is nil).
	Prompt []byte
	// Tokens is a pre-tokenized prompt, used when Messages is nil and
	// Prompt is empty (benchmarks, callers that tokenize themselves).
	// Every id is validated; nothing is added (no BOS).
	Tokens []Token
	// Sampling selects tokens; the zero value is greedy.
	Sampling Sampling
	// MaxTokens bounds the completion; 0 means up to Config.MaxTokensCap
	// clamped to the context left after the prompt. An explicit value
	// above MaxTokensCap is ErrInvalidRequest; prompt plus an explicit
	// value above ContextPerSlot is ErrContextOverflow.
	MaxTokens int
	// Stop strings end the completion when generated; the stop string is
	// not emitted. At most maxStops, each 1..maxStopLen bytes of UTF-8.
	Stop [][]byte
	// IgnoreEOS keeps generating past end-of-generation tokens until
	// MaxTokens or a stop string (benchmarks; such tokens render as "").
	IgnoreEOS bool
}

// Limits on stop strings.
const (
	maxStops   = 8
	maxStopLen = 64
)

// Sink receives the completion piece by piece, on the engine's scheduler
// goroutine. piece is valid UTF-8 and only valid during the call (it
// lives in a locked scratch buffer wiped afterwards): seal or copy it into
// locked memory, never keep it. Returning an error cancels the request
// (FinishCancelled) and Generate returns that error. A sink must be quick:
// every other stream waits while it runs.
type Sink func(piece []byte) error

// FinishReason tells why a generation ended.
type FinishReason uint8

// Finish reasons.
const (
	FinishStop      FinishReason = iota + 1 // end-of-generation token or stop string
	FinishLength                            // MaxTokens reached
	FinishCancelled                         // context cancelled, sink error or engine closed
	FinishError                             // decode failure
)

var _ fmt.Stringer = FinishReason(0)

// String returns the OpenAI-style name of the reason.
func (f FinishReason) String() string {
	switch f {
	case FinishStop:
		return "stop"
	case FinishLength:
		return "length"
	case FinishCancelled:
		return "cancelled"
	case FinishError:
		return "error"
	}
	return "unknown"
}

// Result summarises a finished generation. CompletionTokens counts the
// tokens whose text was produced (an end-of-generation token is not
// counted). The durations are measured from the Generate call: FirstToken
// when the first token was sampled (0 if none was; text may reach the
// sink later when it is held back), Total when the generation ended.
type Result struct {
	PromptTokens, CompletionTokens int
	Finish                         FinishReason
	FirstToken, Total              time.Duration
	// QueueWait is how long the request waited for a free slot.
	QueueWait time.Duration
}

// validate checks everything that does not need the tokenized prompt.
func (r *Request) validate(m *Model, cfg *Config) error {
	if r == nil {
		return fmt.Errorf("%w: nil request", ErrInvalidRequest)
	}
	if r.Messages == nil && len(r.Prompt) == 0 {
		if len(r.Tokens) == 0 {
			return fmt.Errorf("%w: empty prompt", ErrInvalidRequest)
		}
		for _, t := range r.Tokens {
			if !m.validToken(t) {
				return fmt.Errorf("%w: %w", ErrInvalidRequest, ErrInvalidToken)
			}
		}
	}
	if r.MaxTokens < 0 || r.MaxTokens > cfg.MaxTokensCap {
		return fmt.Errorf("%w: max_tokens must be 0..%d", ErrInvalidRequest, cfg.MaxTokensCap)
	}
	if len(r.Stop) > maxStops {
		return fmt.Errorf("%w: at most %d stop strings", ErrInvalidRequest, maxStops)
	}
	for i, s := range r.Stop {
		if len(s) == 0 || len(s) > maxStopLen || !utf8.Valid(s) {
			return fmt.Errorf("%w: stop string %d must be 1..%d bytes of UTF-8", ErrInvalidRequest, i, maxStopLen)
		}
	}
	return r.Sampling.validate(int(m.nVocab), cfg.ContextPerSlot)
}
