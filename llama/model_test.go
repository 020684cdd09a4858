package llama

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The Makefile's flags must reach the C++ build: without them ggml runs
// scalar code (no AVX2) and without repacking.
func TestSystemInfoHasBuildFlags(t *testing.T) {
	info := SystemInfo()
	if !strings.Contains(info, "REPACK = 1") {
		t.Errorf("system info lacks REPACK = 1: %s", info)
	}
	if runtime.GOARCH == "amd64" && !strings.Contains(info, "AVX2 = 1") {
		t.Errorf("system info lacks AVX2 = 1: %s", info)
	}
}

func TestModelInfo(t *testing.T) {
	got := stories(t).Info()
	want := ModelInfo{
		Arch: "llama", ContextTrain: 2048, EmbeddingSize: 64, Layers: 5, VocabSize: 512,
		BOS: 1, EOS: 2, ChatTemplate: "", SizeBytes: 1171200, Params: 292800,
		Description: "llama ?B all F32 (guessed)",
	}
	if got != want {
		t.Errorf("Info() = %+v\nwant %+v", got, want)
	}
}

func TestLoadModelRejectsBadFiles(t *testing.T) {
	src, err := os.ReadFile(testenv.Model(t, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := map[string]string{
		"missing":      filepath.Join(dir, "nope.gguf"),
		"directory":    dir,
		"empty":        write("empty.gguf", nil),
		"not gguf":     write("text.gguf", []byte("this is not a model file at all, just text")),
		"bad version":  write("v9.gguf", append([]byte("GGUF\x09\x00\x00\x00"), make([]byte, 32)...)),
		"mmproj model": testenv.Model(t, "mmproj-tinygemma3.gguf"),
	}
	for _, n := range []int{4, 8, 24, 100, 1000, 10000, len(src) / 2, len(src) - 1} {
		cases["truncated "+itoa(n)] = write("trunc-"+itoa(n)+".gguf", src[:n])
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := LoadModel(path, ModelParams{})
			if !errors.Is(err, ErrInvalidModel) {
				m.Close()
				t.Fatalf("LoadModel = %v, want ErrInvalidModel", err)
			}
		})
	}
}

func TestVocabOnlyModelCannotRun(t *testing.T) {
	m, err := LoadModel(testenv.Model(t, "ggml-vocab-phi-3.gguf"), ModelParams{VocabOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := NewEngine(m, Config{}); !errors.Is(err, ErrVocabOnly) {
		t.Fatalf("NewEngine = %v, want ErrVocabOnly", err)
	}
}

func TestClosedModel(t *testing.T) {
	m, err := LoadModel(testenv.Model(t, "llama-2-tiny-random.gguf"), ModelParams{VocabOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	m.Close()
	if _, err := m.Tokenize([]byte("a"), make([]Token, 4), true, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Tokenize after Close = %v, want ErrClosed", err)
	}
	if _, err := NewEngine(m, Config{}); !errors.Is(err, ErrClosed) {
		t.Errorf("NewEngine after Close = %v, want ErrClosed", err)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
