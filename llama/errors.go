package llama

import "errors"

// Errors returned by this package. They never contain request content.
var (
	// ErrInvalidModel: the file is missing, not a regular file, not GGUF,
	// truncated, or refused by llama.cpp.
	ErrInvalidModel = errors.New("llama: invalid model file")
	// ErrTooManyTokens: the destination token slice is too small.
	ErrTooManyTokens = errors.New("llama: too many tokens for the destination buffer")
	// ErrBufferTooSmall: a destination byte buffer is too small.
	ErrBufferTooSmall = errors.New("llama: destination buffer too small")
	// ErrTemplateTooLong: the formatted chat does not fit the destination;
	// ApplyChatTemplate returns the needed length with it.
	ErrTemplateTooLong = errors.New("llama: chat template output too long for the destination buffer")
	// ErrInvalidConfig: an Engine Config field is out of range.
	ErrInvalidConfig = errors.New("llama: invalid engine config")
	// ErrVocabOnly: the model was loaded without weights and cannot run.
	ErrVocabOnly = errors.New("llama: model has no weights (vocab only)")
)
