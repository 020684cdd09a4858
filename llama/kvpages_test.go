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

// TestKVWipeAllGivesPagesBack: at shutdown the engine zeroes the whole
// cache (wipeAll). With most of the buffer never resident, a single memset
// (llama_memory_clear(mem, true), used before) would make all of it
// resident for that moment; sotto_kv_wipe_all zeroes 2 MiB at a time and
// gives each chunk back, so after it the cache reads zero and almost none
// of it is mapped (with the single memset: all of it, and the test fails).
func TestKVWipeAllGivesPagesBack(t *testing.T) {
	e := newEngine(t, Config{Slots: 8, ContextPerSlot: 512})
	if _, _, _, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 48, IgnoreEOS: true}); err != nil {
		t.Fatal(err)
	}
	nonZero, resident, total := -1, int64(-1), int64(0)
	e.shutdownProbe = func() {
		// Residency first: reading every cell maps the kernel's zero page,
		// which mincore counts.
		resident, total = e.kvResident()
		nonZero = cacheNonZero(e)
	}
	e.Close()
	t.Logf("after the shutdown wipe: %d of %d KiB mapped, %d non-zero bytes", resident>>10, total>>10, nonZero)
	if nonZero != 0 {
		t.Errorf("%d non-zero bytes in the cache after the shutdown wipe", nonZero)
	}
	if resident < 0 || resident > total/100 {
		t.Errorf("%d of %d KV bytes mapped after the shutdown wipe; want under 1%%", resident, total)
	}
}

// TestKVWipeFreeGivesPagesBack: after a failed decode the engine zeroes
// every free cell (wipeFree), nearly the whole cache. The wipe gives the
// whole pages it zeroes back, so the cache stays about as resident as the
// cells in use; a plain memset made all of it resident (the test fails
// without give_back in kvwipe.cpp's zero).
func TestKVWipeFreeGivesPagesBack(t *testing.T) {
	e := newEngine(t, Config{Slots: 8, ContextPerSlot: 512})
	if _, _, _, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 48, IgnoreEOS: true}); err != nil {
		t.Fatal(err)
	}
	e.wipeFree() // the engine is idle: nothing else touches the cache
	resident, total := e.kvResident()
	t.Logf("after wiping every free cell: %d of %d KiB mapped", resident>>10, total>>10)
	if resident > total/10 {
		t.Errorf("%d of %d KV bytes mapped after wiping the free cells; want under a tenth", resident, total)
	}
	if n := cacheNonZero(e); n != 0 {
		t.Errorf("%d non-zero bytes in the cache after the wipe", n)
	}
}
