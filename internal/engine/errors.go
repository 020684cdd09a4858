package engine

import "errors"

// Errors of a generation, shared by every engine implementation. They
// never contain request content; implementations wrap them with %w and
// the HTTP edge maps them to status codes.
var (
	// ErrClosed: the engine (or its model) was closed.
	ErrClosed = errors.New("engine: closed")
	// ErrInvalidRequest: a Request or its Sampling is out of range.
	ErrInvalidRequest = errors.New("engine: invalid request")
	// ErrInvalidToken: a token id outside [0, vocabulary size).
	ErrInvalidToken = errors.New("engine: invalid token id")
	// ErrInvalidMessage: a chat message has an unknown role or contains a
	// NUL byte.
	ErrInvalidMessage = errors.New("engine: invalid chat message")
	// ErrTemplateUnsupported: the model's chat template is not recognised.
	ErrTemplateUnsupported = errors.New("engine: unsupported chat template")
	// ErrOverloaded: every slot is busy and the queue is full, or the
	// locked-memory budget is exhausted (then it also wraps
	// locked.ErrExhausted).
	ErrOverloaded = errors.New("engine: overloaded")
	// ErrContextOverflow: prompt tokens plus MaxTokens exceed the slot's
	// context.
	ErrContextOverflow = errors.New("engine: prompt and max tokens exceed the context size")
	// ErrMessageNUL: a chat message contains a NUL byte, which the C chat
	// template cannot carry. Returned wrapped with ErrInvalidMessage.
	ErrMessageNUL = errors.New("engine: chat message contains a NUL byte")
	// ErrPromptTooLong: the prompt alone leaves no room for one completion
	// token in the slot's context. Returned wrapped with
	// ErrContextOverflow.
	ErrPromptTooLong = errors.New("engine: the prompt does not fit the context")
	// ErrDecode: decoding failed; the request's slot was reset.
	ErrDecode = errors.New("engine: decode failed")
)
