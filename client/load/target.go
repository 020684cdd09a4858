package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
)

// Request is one turn of a conversation as a target sends it: greedy
// (temperature 0, Seed), at most MaxTokens tokens. Conv is the
// conversation's cache secret (Workload.Cache), nil for none.
type Request struct {
	Messages  []client.Message
	MaxTokens int
	Seed      uint64
	Conv      *client.Conversation
}

// Outcome is what a target reports of one request. Failure is "" for a
// complete reply (finish "stop" or "length"), else a name: a problem
// name with Refused set for a refusal, or the kind of error.
type Outcome struct {
	PromptTokens     int
	CompletionTokens int
	Failure          string
	Refused          bool
}

// Target sends one request and calls onDelta, from the calling goroutine,
// with each chunk of text as it arrives (valid only during the call).
type Target interface {
	Send(ctx context.Context, r *Request, onDelta func(text []byte)) Outcome
}

// Sotto is a Target speaking the Sotto protocol through the Go client.
type Sotto struct{ Client *client.Client }

// Send seals, signs and sends r, and opens and verifies the reply.
func (s Sotto) Send(ctx context.Context, r *Request, onDelta func([]byte)) Outcome {
	temp, seed := 0.0, r.Seed
	req := client.Request{Messages: r.Messages, MaxTokens: r.MaxTokens, Temperature: &temp, Seed: &seed, Conversation: r.Conv}
	res, err := s.Client.Chat(ctx, req, func(text []byte) error { onDelta(text); return nil })
	o := Outcome{PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens}
	switch {
	case err != nil:
		o.Failure, o.Refused = Classify(err)
	case res.FinishReason == crypto.FinishError:
		o.Failure = "generation:" + res.ErrorCode
	case res.FinishReason != crypto.FinishStop && res.FinishReason != crypto.FinishLength:
		o.Failure = "finish:" + res.FinishReason
	}
	return o
}

// Classify names a failed Chat for a report: the problem's name for a
// refusal (refused true), else the kind of failure; never a message's
// text.
func Classify(err error) (name string, refused bool) {
	var pe *client.ProblemError
	switch {
	case errors.As(err, &pe) && pe.Name != "":
		return pe.Name, true
	case errors.As(err, &pe):
		return fmt.Sprintf("http-%d", pe.Status), pe.Status == http.StatusTooManyRequests || pe.Status == http.StatusServiceUnavailable
	case errors.Is(err, crypto.ErrStreamTruncated):
		return "stream-truncated", false
	case errors.Is(err, crypto.ErrStreamCorrupt):
		return "stream-corrupt", false
	case errors.Is(err, client.ErrKeyConfig):
		return "key-config", false
	case errors.Is(err, client.ErrResponse):
		return "response", false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return "timeout", false
	}
	return "transport", false
}
