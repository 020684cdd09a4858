package llama

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// recorder is a slog.Handler keeping messages.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Level.String()+" "+rec.Message)
	return nil
}
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *recorder) WithGroup(string) slog.Handler      { return r }

var _ slog.Handler = (*recorder)(nil)

// llama.cpp's messages reach slog only from the configured level up;
// loading stories260K logs three warnings (missing optional GGUF keys, an
// EOS llama.cpp adds to the end-of-generation tokens itself), false alarms
// that reach slog at debug (falseAlarms), and a lot of INFO.
func TestLogFilter(t *testing.T) {
	path := testenv.Model(t, "stories260K.gguf")
	prev := slog.Default()
	defer slog.SetDefault(prev)
	defer SetLogLevel(slog.LevelError)
	load := func(l slog.Level) []string {
		rec := &recorder{}
		slog.SetDefault(slog.New(rec))
		SetLogLevel(l)
		m, err := LoadModel(path, ModelParams{})
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
		return rec.msgs
	}
	if msgs := load(slog.LevelError); len(msgs) != 0 {
		t.Errorf("level error: got %q, want nothing", msgs)
	}
	warn := load(slog.LevelWarn)
	if len(warn) != 3 || !strings.HasPrefix(warn[2], "DEBUG load: special_eos_id is not in special_eog_ids") {
		t.Errorf("level warn: got %q", warn)
	}
	for _, m := range warn {
		if !strings.HasPrefix(m, "DEBUG ") {
			t.Errorf("false alarm logged as a warning: %q", m)
		}
	}
	if info := load(slog.LevelInfo); len(info) <= len(warn) {
		t.Errorf("level info: %d messages, want more than %d", len(info), len(warn))
	}
}
