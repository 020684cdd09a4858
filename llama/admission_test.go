package llama

import (
	"context"
	"errors"
	"testing"
)

// TestFreeSlotIsAdmission: once Stats says a slot is free, a new Generate
// is admitted, even while the call that held the slot has not returned
// yet. The server admits a chat on these Stats before its stream starts;
// if the engine's place were freed only when the old call returned, a chat
// arriving in between would get 200 and then a final chunk "overloaded"
// (the flake of server.TestProofOfWorkAuto).
func TestFreeSlotIsAdmission(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, QueueDepth: -1})
	returning, resume := make(chan struct{}), make(chan struct{})
	e.returnProbe = func() {
		e.returnProbe = nil // the second Generate below passes through
		close(returning)
		<-resume
	}
	req := &Request{Prompt: []byte(onceUpon), MaxTokens: 2}
	first := make(chan error, 1)
	go func() {
		_, err := e.Generate(context.Background(), req, func([]byte) error { return nil })
		first <- err
	}()
	<-returning // the first call's slot is finished; the call has not returned
	if s := e.Stats(); s.BusySlots != 0 || s.Queued != 0 {
		t.Fatalf("stats while the first call returns: %+v", s)
	}
	res, err := e.Generate(context.Background(), req, func([]byte) error { return nil })
	if errors.Is(err, ErrOverloaded) {
		t.Fatal("a free slot by Stats, but Generate was refused with ErrOverloaded")
	}
	if err != nil || untimed(t, res) != (Result{PromptTokens: 5, CompletionTokens: 2, Finish: FinishLength}) {
		t.Fatalf("second call: %+v, %v", res, err)
	}
	close(resume)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestStatsCountsEachJobOnce: while one request runs in one of two slots,
// Stats never shows more than one busy or queued. The scheduler looks for
// queued work on every step; it once counted a slot busy before finding
// the queue empty, and a chat that read Stats in that instant was refused
// with 503 #overloaded beside a free slot (the flake of
// server.TestKeyRotationUnderLoad).
func TestStatsCountsEachJobOnce(t *testing.T) {
	e := newEngine(t, Config{Slots: 2, QueueDepth: -1})
	done := make(chan error, 1)
	go func() {
		_, err := e.Generate(context.Background(), &Request{Prompt: []byte(onceUpon), MaxTokens: 200},
			func([]byte) error { return nil })
		done <- err
	}()
	waitFor(t, func() bool { return e.Stats().BusySlots == 1 })
	reads := 0
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d reads of Stats while the request ran", reads)
			return
		default:
		}
		if s := e.Stats(); s.BusySlots+s.Queued > 1 {
			t.Fatalf("one request in flight, but Stats shows %d busy and %d queued", s.BusySlots, s.Queued)
		}
		reads++
	}
}
