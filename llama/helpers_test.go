package llama

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestMain keeps llama.cpp's load-time warnings (stories260K's GGUF lacks
// some optional keys) out of test and benchmark output.
func TestMain(m *testing.M) {
	SetLogLevel(slog.LevelError)
	os.Exit(m.Run())
}

// Shared across tests: loading is cheap but engines take threads.
var (
	storiesOnce  sync.Once
	storiesModel *Model
	storiesErr   error
)

func stories(t testing.TB) *Model {
	t.Helper()
	path := testenv.Model(t, "stories260K.gguf")
	storiesOnce.Do(func() { storiesModel, storiesErr = LoadModel(path, ModelParams{}) })
	if storiesErr != nil {
		t.Fatal(storiesErr)
	}
	return storiesModel
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	if cfg.ContextPerSlot == 0 {
		cfg.ContextPerSlot = 256
	}
	if cfg.Threads == 0 {
		// One thread: a 260K-parameter model gains nothing from two, and
		// on a loaded machine ggml's thread barriers dominate (see
		// docs/engine.md).
		cfg.Threads = 1
	}
	e, err := NewEngine(stories(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// collect runs req and returns the streamed text (tests only: the test
// prompts are not secret) and the pieces.
func collect(t testing.TB, e *Engine, req *Request) (string, []string, Result, error) {
	t.Helper()
	var text []byte
	var pieces []string
	res, err := e.Generate(context.Background(), req, func(p []byte) error {
		if !utf8.Valid(p) || len(p) == 0 {
			t.Errorf("sink got invalid or empty piece %q", p)
		}
		text = append(text, p...)
		pieces = append(pieces, string(p))
		return nil
	})
	return string(text), pieces, untimed(t, res), err
}

// untimed checks the durations of res are consistent and zeroes them so
// results compare exactly.
func untimed(t testing.TB, res Result) Result {
	t.Helper()
	if res.FirstToken < 0 || res.FirstToken > res.Total || (res.CompletionTokens > 0 && res.FirstToken == 0) ||
		res.QueueWait < 0 || res.QueueWait > res.Total || (res.FirstToken > 0 && res.QueueWait > res.FirstToken) {
		t.Errorf("inconsistent durations: queue %v first %v total %v (%d tokens)", res.QueueWait, res.FirstToken, res.Total, res.CompletionTokens)
	}
	res.FirstToken, res.Total, res.QueueWait = 0, 0, 0
	return res
}

// Greedy continuation of "Once upon a time" by stories260K (40 tokens).
const (
	onceUpon   = "Once upon a time"
	onceGreedy = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball."
)
