package llama

import (
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/demomodel"
	"github.com/sottolabs/sotto/internal/testenv"
)

var chat = []Message{
	{Role: RoleSystem, Content: []byte("Be brief.")},
	{Role: RoleUser, Content: []byte("Hi there")},
	{Role: RoleAssistant, Content: []byte("Hello!")},
	{Role: RoleUser, Content: []byte("Name a color.")},
}

func TestChatTemplatePhi3(t *testing.T) {
	m, err := LoadModel(testenv.Model(t, "ggml-vocab-phi-3.gguf"), ModelParams{VocabOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const want = "<|system|>\nBe brief.<|end|>\n<|user|>\nHi there<|end|>\n<|assistant|>\nHello!<|end|>\n" +
		"<|user|>\nName a color.<|end|>\n<|assistant|>\n"
	dst := make([]byte, 256)
	n, err := m.ApplyChatTemplate(chat, true, dst)
	if err != nil || string(dst[:n]) != want {
		t.Fatalf("ApplyChatTemplate = %q, %v\nwant %q", dst[:n], err, want)
	}
	n, err = m.ApplyChatTemplate(chat, false, dst)
	if err != nil || string(dst[:n]) != want[:len(want)-len("<|assistant|>\n")] {
		t.Fatalf("without assistant prefix = %q, %v", dst[:n], err)
	}
	n, err = m.ApplyChatTemplate(chat, true, dst[:10])
	if !errors.Is(err, ErrTemplateTooLong) || n != len(want) {
		t.Fatalf("into 10 bytes = %d, %v; want %d, ErrTemplateTooLong", n, err, len(want))
	}
}

func TestChatTemplateFallback(t *testing.T) {
	m := stories(t)
	const want = "Be brief.\nHi there\nHello!\nName a color."
	dst := make([]byte, 64)
	n, err := m.ApplyChatTemplate(chat, true, dst)
	if err != nil || string(dst[:n]) != want {
		t.Fatalf("fallback = %q, %v; want %q", dst[:n], err, want)
	}
	n, err = m.ApplyChatTemplate(chat, true, dst[:5])
	if !errors.Is(err, ErrTemplateTooLong) || n != len(want) {
		t.Fatalf("into 5 bytes = %d, %v; want %d, ErrTemplateTooLong", n, err, len(want))
	}
}

// TestChatTemplateOverride: ModelParams.Template replaces the file's
// formatting (here the demo model's story template), and its "too small"
// answer becomes ErrTemplateTooLong.
func TestChatTemplateOverride(t *testing.T) {
	m, err := LoadModel(testenv.Model(t, "stories260K.gguf"), ModelParams{VocabOnly: true, Template: demomodel.Template})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const want = "Hi there\nHello!\nName a color.\n"
	dst := make([]byte, 64)
	n, err := m.ApplyChatTemplate(chat, true, dst)
	if err != nil || string(dst[:n]) != want {
		t.Fatalf("override = %q, %v; want %q", dst[:n], err, want)
	}
	n, err = m.ApplyChatTemplate(chat, true, dst[:5])
	if !errors.Is(err, ErrTemplateTooLong) || n != len(want) {
		t.Fatalf("into 5 bytes = %d, %v; want %d, ErrTemplateTooLong", n, err, len(want))
	}
}

func TestChatTemplateInvalidMessages(t *testing.T) {
	m := stories(t)
	dst := make([]byte, 64)
	for name, msgs := range map[string][]Message{
		"none":     {},
		"bad role": {{Role: Role(9), Content: []byte("x")}},
		"zero":     {{Role: 0, Content: []byte("x")}},
		"nul":      {{Role: RoleUser, Content: []byte("a\x00b")}},
	} {
		if _, err := m.ApplyChatTemplate(msgs, true, dst); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidMessage", name, err)
		}
	}
}
