package llama

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
)

// wipeProbe reads a slot's KV cells from inside a Sink, where the
// scheduler goroutine (the context's owner) is between two decodes.
type wipeProbe struct {
	e       *Engine
	seq     int32
	cells   []int32 // cells the sequence held at the last look
	nonZero int     // non-zero K/V bytes in them
}

func (p *wipeProbe) look() {
	p.cells = p.e.seqCells(p.seq)
	p.nonZero = 0
	for _, c := range p.cells {
		p.nonZero += p.e.cellNonZero(c)
	}
}

// cacheNonZero counts the non-zero K/V bytes of every cell in the cache.
func cacheNonZero(e *Engine) int {
	n := 0
	for c := range int32(e.kvCells()) {
		n += e.cellNonZero(c)
	}
	return n
}

// wipeCase runs one request on e; its sink looks at the slot's cells and,
// at the third piece, does what ends the request its way.
type wipeCase struct {
	name   string
	finish FinishReason
	req    Request
	third  func(e *Engine, cancel context.CancelFunc) error
}

var wipeCases = []wipeCase{
	{name: "stop", finish: FinishStop, req: Request{Prompt: []byte(onceUpon), MaxTokens: 40, Stop: [][]byte{[]byte("Lily")}}},
	{name: "length", finish: FinishLength, req: Request{Prompt: []byte(onceUpon), MaxTokens: 6}},
	{name: "cancel", finish: FinishCancelled, req: Request{Prompt: []byte(onceUpon), MaxTokens: 40},
		third: func(_ *Engine, cancel context.CancelFunc) error { cancel(); return nil }},
	{name: "sink_error", finish: FinishCancelled, req: Request{Prompt: []byte(onceUpon), MaxTokens: 40},
		third: func(*Engine, context.CancelFunc) error { return errors.New("client gone") }},
	// A gap in the slot's positions makes llama.cpp refuse the next batch
	// (llama_decode returns -1): a real decode failure.
	{name: "decode_error", finish: FinishError, req: Request{Prompt: []byte(onceUpon), MaxTokens: 40},
		third: func(e *Engine, _ context.CancelFunc) error { e.slots[0].nPast += 2; return nil }},
	{name: "repeat_penalty", finish: FinishLength, req: Request{Prompt: []byte(onceUpon), MaxTokens: 8,
		Sampling: Sampling{RepeatPenalty: 1.5, RepeatLastN: 16}}},
}

func TestKVCellsZeroedWhenRequestEnds(t *testing.T) {
	for _, flashOff := range []bool{false, true} {
		for _, tc := range wipeCases {
			name := tc.name
			if flashOff {
				name += "/v_transposed" // flash attention off: V stored transposed
			}
			t.Run(name, func(t *testing.T) { checkWipeCase(t, tc, flashOff) })
		}
	}
}

func checkWipeCase(t *testing.T, tc wipeCase, flashOff bool) {
	e := newEngine(t, Config{Slots: 1, flashAttnOff: flashOff})
	p := &wipeProbe{e: e}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pieces, duringNonZero := 0, 0
	res, _ := e.Generate(ctx, &tc.req, func([]byte) error {
		p.look()
		duringNonZero = p.nonZero
		if pieces++; pieces == 3 && tc.third != nil {
			return tc.third(e, cancel)
		}
		return nil
	})
	if res.Finish != tc.finish {
		t.Fatalf("finish = %q, want %q", res.Finish, tc.finish)
	}
	// Control: the same read finds the prompt's keys and values
	// while the request runs.
	if len(p.cells) < len(onceUpon)/8 || duringNonZero == 0 {
		t.Fatalf("during the request: %d cells, %d non-zero bytes; want data", len(p.cells), duringNonZero)
	}
	for _, c := range p.cells {
		if n := e.cellNonZero(c); n != 0 {
			t.Errorf("cell %d: %d non-zero bytes after the request", c, n)
		}
	}
	if n := cacheNonZero(e); n != 0 {
		t.Errorf("whole cache: %d non-zero bytes after the request", n)
	}
	if got := e.wipedCells.Load(); got < uint64(len(p.cells)) {
		t.Errorf("wiped %d cells, the slot held at least %d", got, len(p.cells))
	}
	if left := e.seqCells(0); len(left) != 0 {
		t.Errorf("sequence still holds %d cells", len(left))
	}
}

// TestKVCellsZeroedOnClose closes the engine mid-generation: the whole
// cache reads zero before llama.cpp frees it.
func TestKVCellsZeroedOnClose(t *testing.T) {
	e := newEngine(t, Config{Slots: 2})
	p := &wipeProbe{e: e}
	after := -1
	e.shutdownProbe = func() { after = cacheNonZero(e) }
	third := make(chan struct{})
	pieces, during := 0, 0
	go func() { <-third; e.Close() }()
	res, err := e.Generate(context.Background(), &Request{Prompt: []byte(onceUpon), MaxTokens: 200, IgnoreEOS: true},
		func([]byte) error {
			p.look()
			during = p.nonZero
			if pieces++; pieces == 3 {
				close(third)
			}
			return nil
		})
	if !errors.Is(err, ErrClosed) || res.Finish != FinishCancelled {
		t.Fatalf("Generate = %v, %q; want ErrClosed, cancelled", err, res.Finish)
	}
	e.Close() // waits for the shutdown (and the probe) to finish
	if during == 0 || len(p.cells) == 0 {
		t.Fatalf("during the request: %d cells, %d non-zero bytes; want data", len(p.cells), during)
	}
	if after != 0 {
		t.Errorf("cache before free: %d non-zero bytes, want 0", after)
	}
}

// TestKVWipeLeavesOtherSlots ends a short request while a long one
// generates: the short slot's cells read zero, the long one's keep their
// data, and the long text equals the one it gives alone.
func TestKVWipeLeavesOtherSlots(t *testing.T) {
	e := newEngine(t, Config{Slots: 2})
	longReq := &Request{Prompt: []byte(onceUpon), MaxTokens: 100, IgnoreEOS: true}
	want, _, _, err := collect(t, e, longReq)
	if err != nil {
		t.Fatal(err)
	}
	// All probes run in sinks, on the scheduler goroutine, so the order
	// is fixed by decode steps: the long request (slot 0) waits in its
	// first sink until the short one is queued, the short one (slot 1)
	// ends after 4 tokens, the long one sees it idle 96 tokens early.
	short := &wipeProbe{e: e, seq: 1}
	long := &wipeProbe{e: e, seq: 0}
	shortPieces, checked := 0, false
	var got []byte
	longDone := make(chan error, 1)
	go func() {
		_, err := e.Generate(context.Background(), longReq, func(piece []byte) error {
			for len(got) == 0 && e.queued.Load() == 0 {
				runtime.Gosched()
			}
			got = append(got, piece...)
			if shortPieces > 0 && e.slots[1].state == slotIdle && !checked {
				checked = true
				// The long request's next token may already sit in a cell
				// the short one freed: only the others must read zero.
				if long.look(); long.nonZero == 0 {
					t.Error("running slot's cells read zero")
				}
				for _, c := range short.cells {
					if n := e.cellNonZero(c); n != 0 && !slices.Contains(long.cells, c) {
						t.Errorf("finished slot's cell %d: %d non-zero bytes", c, n)
					}
				}
			}
			return nil
		})
		longDone <- err
	}()
	for e.busy.Load() == 0 {
		runtime.Gosched()
	}
	res, err := e.Generate(context.Background(), &Request{Prompt: []byte("Lily"), MaxTokens: 4, IgnoreEOS: true},
		func([]byte) error { short.look(); shortPieces++; return nil })
	if err != nil || res.CompletionTokens != 4 {
		t.Fatalf("short request: %v, %d tokens", err, res.CompletionTokens)
	}
	if err := <-longDone; err != nil {
		t.Fatal(err)
	}
	if !checked || short.nonZero == 0 || len(short.cells) == 0 {
		t.Fatalf("checked %v; short slot had %d cells, %d non-zero bytes", checked, len(short.cells), short.nonZero)
	}
	if string(got) != want {
		t.Errorf("long text beside a wiped slot:\n%q\nalone:\n%q", got, want)
	}
}
