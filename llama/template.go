package llama

/*
#include "llama.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"math"
	"unsafe"

	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
)

// roleNames are NUL-terminated C strings for llama_chat_message.role,
// allocated once for the life of the process (role names are not secret).
var roleNames = [...]*C.char{
	RoleSystem:    C.CString("system"),
	RoleUser:      C.CString("user"),
	RoleAssistant: C.CString("assistant"),
}

// chatMsgSize is sizeof(struct llama_chat_message).
const chatMsgSize = int(unsafe.Sizeof(C.struct_llama_chat_message{}))

// ApplyChatTemplate formats msgs with the model's chat template into dst
// and returns the formatted length. With addAssistant the output ends
// with the prefix of an assistant turn. If the result does not fit, it
// returns the needed length and ErrTemplateTooLong.
//
// ModelParams.Template, when set, replaces the model's template. Models
// without a chat template (base models such as stories260K) use the
// plain fallback: the message contents joined by "\n", no role markers.
// Such a model was never trained on any chat markup, so role markers would
// be text it tries to continue; the plain form turns a chat into the
// completion of its text, the one thing a base model does well.
//
// llama.cpp needs NUL-terminated strings: the contents are copied into one
// locked scratch buffer, wiped and freed before returning.
func (m *Model) ApplyChatTemplate(msgs []Message, addAssistant bool, dst []byte) (int, error) {
	return m.applyTemplate(msgs, addAssistant, dst, m.budget)
}

func (m *Model) applyTemplate(msgs []Message, addAssistant bool, dst []byte, budget *locked.Budget) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	total, err := validateMessages(msgs)
	if err != nil {
		return 0, err
	}
	if m.format != nil {
		n := m.format(msgs, addAssistant, dst)
		if n > len(dst) {
			return n, ErrTemplateTooLong
		}
		return n, nil
	}
	if m.tmpl == nil {
		return plainTemplate(msgs, dst)
	}
	scratchLen := len(msgs)*chatMsgSize + total
	if scratchLen > math.MaxInt32 || len(dst) > math.MaxInt32 {
		return 0, fmt.Errorf("%w: conversation too large", ErrInvalidMessage)
	}
	scratch, err := allocAligned(budget, scratchLen)
	if err != nil {
		return 0, err
	}
	defer scratch.Destroy()
	return m.callTemplate(msgs, addAssistant, dst, scratch.Bytes())
}

// validateMessages checks roles and NUL bytes and returns the bytes the
// NUL-terminated contents need.
func validateMessages(msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, fmt.Errorf("%w: no messages", ErrInvalidMessage)
	}
	total := 0
	for i := range msgs {
		if !msgs[i].Role.Valid() {
			return 0, fmt.Errorf("%w: message %d has an unknown role", ErrInvalidMessage, i)
		}
		if bytes.IndexByte(msgs[i].Content, 0) >= 0 {
			return 0, fmt.Errorf("%w: message %d: %w", ErrInvalidMessage, i, engine.ErrMessageNUL)
		}
		total += len(msgs[i].Content) + 1
	}
	return total, nil
}

// callTemplate lays out the llama_chat_message array and the contents in
// scratch (page-aligned locked memory) and runs llama_chat_apply_template.
func (m *Model) callTemplate(msgs []Message, addAssistant bool, dst, scratch []byte) (int, error) {
	arr := unsafe.Slice((*C.struct_llama_chat_message)(unsafe.Pointer(&scratch[0])), len(msgs))
	off := len(msgs) * chatMsgSize
	for i := range msgs {
		n := copy(scratch[off:], msgs[i].Content)
		scratch[off+n] = 0
		arr[i].role = roleNames[msgs[i].Role]
		arr[i].content = (*C.char)(unsafe.Pointer(&scratch[off]))
		off += n + 1
	}
	var dp *C.char
	if len(dst) > 0 {
		dp = (*C.char)(unsafe.Pointer(&dst[0]))
	}
	n := C.llama_chat_apply_template(m.tmpl, &arr[0], C.size_t(len(msgs)), C.bool(addAssistant), dp, C.int32_t(len(dst)))
	if n < 0 {
		return 0, ErrTemplateUnsupported
	}
	if int(n) > len(dst) {
		return int(n), ErrTemplateTooLong
	}
	return int(n), nil
}

// plainTemplate is the fallback for models without a template: contents
// joined by "\n" (see ApplyChatTemplate).
func plainTemplate(msgs []Message, dst []byte) (int, error) {
	need := len(msgs) - 1
	for i := range msgs {
		need += len(msgs[i].Content)
	}
	if need > len(dst) {
		return need, ErrTemplateTooLong
	}
	off := 0
	for i := range msgs {
		if i > 0 {
			dst[off] = '\n'
			off++
		}
		off += copy(dst[off:], msgs[i].Content)
	}
	return off, nil
}
