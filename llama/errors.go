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
	// ErrSlidingWindow: the model uses sliding-window attention (Gemma 2
	// and 3, and others: llama.cpp's iSWA cache). Its SWA cache reuses and
	// frees cells of a sequence's early tokens without the engine zeroing
	// them, so a prompt's K/V could outlive its request: refused until the
	// wipe covers every freed cell of both caches (issue 17, item 2).
	ErrSlidingWindow = errors.New("llama: sliding-window attention models (iSWA KV cache, e.g. Gemma 2 and 3) are not supported yet: their freed KV cells are not wiped")
	// ErrVocabOnly: the model was loaded without weights and cannot run.
	ErrVocabOnly = errors.New("llama: model has no weights (vocab only)")
)
