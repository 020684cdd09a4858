package llama

import "errors"

// Errors returned by this package. They never contain request content.
var (
	// ErrInvalidModel: the file is missing, not a regular file, not GGUF,
	// truncated, or refused by llama.cpp.
	ErrInvalidModel = errors.New("llama: invalid model file")
	// ErrClosed: the Model or Engine was closed.
	ErrClosed = errors.New("llama: closed")
	// ErrTooManyTokens: the destination token slice is too small.
	ErrTooManyTokens = errors.New("llama: too many tokens for the destination buffer")
	// ErrBufferTooSmall: a destination byte buffer is too small.
	ErrBufferTooSmall = errors.New("llama: destination buffer too small")
	// ErrInvalidToken: a token id outside [0, vocabulary size).
	ErrInvalidToken = errors.New("llama: invalid token id")
	// ErrTemplateTooLong: the formatted chat does not fit the destination;
	// ApplyChatTemplate returns the needed length with it.
	ErrTemplateTooLong = errors.New("llama: chat template output too long for the destination buffer")
	// ErrTemplateUnsupported: llama.cpp does not recognise the model's
	// chat template.
	ErrTemplateUnsupported = errors.New("llama: unsupported chat template")
	// ErrInvalidMessage: a chat message has an unknown role or contains a
	// NUL byte.
	ErrInvalidMessage = errors.New("llama: invalid chat message")
	// ErrInvalidConfig: an Engine Config field is out of range.
	ErrInvalidConfig = errors.New("llama: invalid engine config")
	// ErrInvalidRequest: a Request or its Sampling is out of range.
	ErrInvalidRequest = errors.New("llama: invalid request")
	// ErrOverloaded: every slot is busy and the queue is full, or the
	// locked-memory budget is exhausted (then it wraps locked.ErrExhausted).
	ErrOverloaded = errors.New("llama: engine overloaded")
	// ErrContextOverflow: prompt tokens plus MaxTokens exceed the
	// per-slot context.
	ErrContextOverflow = errors.New("llama: prompt and max tokens exceed the context size")
	// ErrDecode: llama_decode failed; the request's slot was reset.
	ErrDecode = errors.New("llama: decode failed")
	// ErrVocabOnly: the model was loaded without weights and cannot run.
	ErrVocabOnly = errors.New("llama: model has no weights (vocab only)")
)
