package demomodel

import "github.com/sottolabs/sotto/internal/engine"

// Template formats a conversation for stories260K, which was trained on
// nothing but plain stories: no roles, no markup, no instructions. The
// user's and assistant's turns become the story so far, one paragraph
// each, and with addAssistant a final newline asks for the next
// paragraph. "Tell me a story" thus reads as a story's first line and the
// model continues it with a new paragraph ("One day, ..."); each further
// turn steers the same story. System messages are left out: the model
// cannot follow them, and their wording would leak into the story.
//
// It writes into dst (the engine's locked buffer) and returns the length.
// A result over len(dst) is the length needed; then nothing was written.
func Template(msgs []engine.Message, addAssistant bool, dst []byte) int {
	need, paragraphs := 0, 0
	for _, m := range msgs {
		if m.Role != engine.RoleSystem {
			need += len(m.Content)
			paragraphs++
		}
	}
	need += max(paragraphs-1, 0) // the newlines between paragraphs
	if addAssistant {
		need++ // the newline that opens the reply's paragraph
	}
	if need > len(dst) {
		return need
	}
	off := 0
	for _, m := range msgs {
		if m.Role == engine.RoleSystem {
			continue
		}
		if off > 0 {
			dst[off] = '\n'
			off++
		}
		off += copy(dst[off:], m.Content)
	}
	if addAssistant {
		dst[off] = '\n'
		off++
	}
	return off
}
