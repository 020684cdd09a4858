package llama

import "testing"

// TestKVPagesResidentAsUsed: llama.cpp zeroes its whole KV buffer when it
// creates a context, which made every slot's cells resident before any
// request (issue 23: 88 MiB of 714 for 8 slots of 512 cells of a 1.1B
// model). The engine gives those zero pages back (releaseZeroedKV): right
// after start almost none of the buffer is mapped, after a request only
// about the cells it used, and greedy output is the same as an engine that
// kept them. With the release off, the whole buffer is mapped at start (the
// check the test makes fails).
func TestKVPagesResidentAsUsed(t *testing.T) {
	cfg := Config{Slots: 8, ContextPerSlot: 512}
	req := func() *Request { return &Request{Prompt: []byte(onceUpon), MaxTokens: 48, IgnoreEOS: true} }

	released := newEngine(t, cfg)
	res0, total := released.kvResident()
	t.Logf("released: %d of %d KiB mapped at start (%d KiB given back)", res0>>10, total>>10, released.kvReleased>>10)
	if total < 2<<20 {
		t.Fatalf("KV buffers of %d bytes; want the 8 x 512 cells of stories260K (2.5 MiB)", total)
	}
	if res0 > total/100 {
		t.Errorf("%d of %d KV bytes mapped right after start; want under 1%%", res0, total)
	}
	want, _, _, err := collect(t, released, req())
	if err != nil {
		t.Fatal(err)
	}
	// The request writes (and its wipe zeroes) 55 of 4,096 cells; reads of
	// the cells attention spans map the kernel's zero page, which mincore
	// counts, so the bound is loose: a tenth of the buffer.
	res1, _ := released.kvResident()
	t.Logf("released: %d KiB mapped after one request", res1>>10)
	if res1 == res0 || res1 > total/10 {
		t.Errorf("%d of %d KV bytes mapped after one request; want more than at start (%d) and under a tenth", res1, total, res0)
	}

	releaseKVPages = false
	defer func() { releaseKVPages = true }()
	kept := newEngine(t, cfg)
	releaseKVPages = true
	resK, _ := kept.kvResident()
	t.Logf("kept: %d of %d KiB mapped at start", resK>>10, total>>10)
	if resK < total*9/10 {
		t.Errorf("without the release %d of %d KV bytes are mapped at start; the test no longer sees llama.cpp's zeroing", resK, total)
	}
	got, _, _, err := collect(t, kept, req())
	if err != nil {
		t.Fatal(err)
	}
	if got != want || got == "" {
		t.Errorf("greedy output differs:\nreleased %q\nkept     %q", want, got)
	}
}
