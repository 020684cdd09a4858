package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/sottolabs/sotto/crypto"
)

// The roles of a Message.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string // RoleSystem, RoleUser or RoleAssistant
	Content string // UTF-8
}

// Request is one chat request. Optional parameters are nil (or zero for
// MaxTokens, empty for Stop) to leave them to the server's defaults; the
// server refuses values outside its ranges with a #request problem.
type Request struct {
	Messages    []Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	TopK        *int
	Seed        *uint64
	Stop        []string
	// Conversation, when set, lets the server reuse the conversation's
	// earlier prompt (Conversation); nil sends every request on its own.
	Conversation *Conversation
}

// Result is the content of the stream's final chunk. FinishReason is
// "stop", "length", "cancelled" or "error"; ErrorCode is set exactly when
// it is "error" (a short code, never content).
type Result struct {
	FinishReason     string
	PromptTokens     int
	CompletionTokens int
	ErrorCode        string
	// Shaped is true when the reply came as a shaped stream (protocol
	// section 5.5): its length and timing showed only as a bucket.
	Shaped bool
}

// wireMessage and wireRequest are the inner request JSON (protocol
// section 3): exactly its members, absent when unset.
type wireMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type wireRequest struct {
	Messages    []wireMessage `json:"messages"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	TopP        *float64      `json:"top_p,omitempty"`
	TopK        *int          `json:"top_k,omitempty"`
	Seed        *uint64       `json:"seed,omitempty"`
	Stop        []string      `json:"stop,omitempty"`
	Cache       *wireCache    `json:"cache,omitempty"`
	Shape       string        `json:"shape,omitempty"`
}

// marshal checks r and returns its inner request JSON. Errors wrap
// ErrInvalidRequest and name fields only.
func (r *Request) marshal(shape bool) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	w := wireRequest{
		Messages:  make([]wireMessage, len(r.Messages)),
		MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP,
		TopK: r.TopK, Seed: r.Seed, Stop: r.Stop, Cache: r.Conversation.wire(),
	}
	if shape {
		w.Shape = crypto.ShapeConstant
	}
	for i, m := range r.Messages {
		w.Messages[i] = wireMessage(m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Plain UTF-8 rather than \u003c for <, > and &: the server decodes
	// both, and the request's size bucket should follow its text.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("%w: cannot encode", ErrInvalidRequest)
	}
	inner := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if _, ok := crypto.RequestPaddedLen(len(inner)); !ok {
		return nil, fmt.Errorf("%w: request over %d bytes", ErrInvalidRequest, crypto.MaxRequestPadded)
	}
	return inner, nil
}

// check validates what the JSON encoder would otherwise silently change
// (invalid UTF-8 becomes U+FFFD) or refuse (NaN), and what the server
// would refuse anyway.
func (r *Request) check() error {
	if len(r.Messages) == 0 {
		return fmt.Errorf("%w: no messages", ErrInvalidRequest)
	}
	for i, m := range r.Messages {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant:
		default:
			return fmt.Errorf("%w: message %d: unknown role", ErrInvalidRequest, i)
		}
		if !utf8.ValidString(m.Content) {
			return fmt.Errorf("%w: message %d: content is not valid UTF-8", ErrInvalidRequest, i)
		}
	}
	for i, s := range r.Stop {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: stop %d is not valid UTF-8", ErrInvalidRequest, i)
		}
	}
	if r.MaxTokens < 0 {
		return fmt.Errorf("%w: negative max_tokens", ErrInvalidRequest)
	}
	for name, p := range map[string]*float64{"temperature": r.Temperature, "top_p": r.TopP} {
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return fmt.Errorf("%w: %s is not a finite number", ErrInvalidRequest, name)
		}
	}
	return nil
}
