package engine

import (
	"fmt"
	"time"
)

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
	// CachedTokens is how many prompt tokens came from the prefix cache
	// (Request.PrefixKey) instead of being prefilled.
	CachedTokens int
}

// Stats is a snapshot of an engine's load. A slot leaves BusySlots only
// once its request's place is free: a Generate called after Stats shows
// room is not refused for want of it (the server admits chats on these
// numbers before their stream starts).
type Stats struct {
	Slots, BusySlots, Queued  int
	KVUsedCells, KVTotalCells int
	Steps                     uint64
	// PromptTokensPrefilled counts prompt tokens decoded since the engine
	// started; PromptTokensCached those restored from the prefix cache
	// instead.
	PromptTokensPrefilled, PromptTokensCached uint64
}
