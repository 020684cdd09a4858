package llama

import "testing"

// TestThreadPollOff: with polling off (workers sleep between steps and
// are woken by each graph) generation gives the same tokens.
func TestThreadPollOff(t *testing.T) {
	req := func() *Request { return &Request{Prompt: []byte(onceUpon), MaxTokens: 24} }
	want, _, wantRes, err := collect(t, newEngine(t, Config{Slots: 1, Threads: 2}), req())
	if err != nil {
		t.Fatal(err)
	}
	got, _, res, err := collect(t, newEngine(t, Config{Slots: 1, Threads: 2, ThreadPoll: -1}), req())
	if err != nil || got != want || res != wantRes || res.CompletionTokens != 24 {
		t.Errorf("polling off: %q %+v %v, want %q %+v", got, res, err, want, wantRes)
	}
}
