package llama

import "github.com/sottolabs/sotto/internal/engine"

// The request, result and load types are the engine contract of package
// internal/engine (no cgo), so the HTTP edge compiles without llama.cpp.
// They are aliases: llama's API reads as before, and *Engine satisfies
// any interface written against the contract.
type (
	Token        = engine.Token
	Role         = engine.Role
	Message      = engine.Message
	Request      = engine.Request
	Sampling     = engine.Sampling
	Sink         = engine.Sink
	FinishReason = engine.FinishReason
	Result       = engine.Result
	Stats        = engine.Stats
)

// Chat roles.
const (
	RoleSystem    = engine.RoleSystem
	RoleUser      = engine.RoleUser
	RoleAssistant = engine.RoleAssistant
)

// Finish reasons.
const (
	FinishStop      = engine.FinishStop
	FinishLength    = engine.FinishLength
	FinishCancelled = engine.FinishCancelled
	FinishError     = engine.FinishError
)

// DefaultRepeatLastN is the repeat-penalty window when RepeatLastN is 0.
const DefaultRepeatLastN = engine.DefaultRepeatLastN

// MaxStopLen bounds one stop string.
const MaxStopLen = engine.MaxStopLen

// Errors of a generation, shared with the engine contract.
var (
	ErrClosed              = engine.ErrClosed
	ErrInvalidToken        = engine.ErrInvalidToken
	ErrTemplateUnsupported = engine.ErrTemplateUnsupported
	ErrInvalidMessage      = engine.ErrInvalidMessage
	ErrInvalidRequest      = engine.ErrInvalidRequest
	ErrOverloaded          = engine.ErrOverloaded
	ErrContextOverflow     = engine.ErrContextOverflow
	ErrDecode              = engine.ErrDecode
)
