package llama

import "github.com/sottolabs/sotto/internal/locked"

// RequestLockedCost is the most locked memory one chat request takes from
// the engine's budget while it is prepared and generated, for a request
// whose message contents total at most contentBytes in at most messages
// messages: the prompt's token buffer (held for the whole generation),
// and, while the prompt is tokenized, the rendered chat text and the chat
// template's NUL-terminated copy of the messages. It mirrors prepare,
// tokenize and applyTemplate; the server admits a request only when this
// much is free. A template that renders longer than the first guess
// (tokenize's retry) may need more; the budget then refuses it with
// ErrOverloaded.
func (e *Engine) RequestLockedCost(contentBytes, messages int) int64 {
	align := func(n int) int { return (max(n, 1) + lockedAlign - 1) / lockedAlign * lockedAlign }
	tokens := locked.Cost(align(4 * e.cfg.ContextPerSlot))
	text := locked.Cost(256 + contentBytes + 64*messages)
	var scratch int64
	if e.m.tmpl != nil {
		scratch = locked.Cost(align(messages*chatMsgSize + contentBytes + messages))
	}
	return tokens + text + scratch
}
