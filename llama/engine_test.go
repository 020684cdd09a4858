package llama

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
)

func TestGreedyDeterministic(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	for range 2 {
		text, _, res, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 40})
		want := Result{PromptTokens: 5, CompletionTokens: 40, Finish: FinishLength}
		if err != nil || text != onceGreedy || res != want {
			t.Fatalf("got %q %+v %v\nwant %q %+v", text, res, err, onceGreedy, want)
		}
	}
}

func TestChatRequestUsesTemplate(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	// stories260K has no template: the plain fallback makes this chat
	// the raw prompt "Once upon a time".
	req := &Request{Messages: []Message{{Role: RoleUser, Content: []byte(onceUpon)}}, MaxTokens: 40}
	text, _, res, err := collect(t, e, req)
	if err != nil || text != onceGreedy || res.PromptTokens != 5 {
		t.Fatalf("got %q %+v %v", text, res, err)
	}
}

var batchPrompts = []string{
	onceUpon,
	"Lily and Tom",
	"The little dog ran to the park and saw a big red ball. He wanted to play with it so much that he",
	"One day",
}

// Four requests decoded together give exactly the text each gives alone,
// including prompts longer than the batch (split across steps while the
// others generate).
func TestBatchedEqualsSingle(t *testing.T) {
	single := newEngine(t, Config{Slots: 1, BatchSize: 512})
	want := make([]string, len(batchPrompts))
	for i, p := range batchPrompts {
		text, _, _, err := collect(t, single, &Request{Prompt: []byte(p), MaxTokens: 40})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = text
	}
	e := newEngine(t, Config{Slots: 4, BatchSize: 16})
	got := make([]string, len(batchPrompts))
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i, p := range batchPrompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			first := true
			_, err := e.Generate(context.Background(), &Request{Prompt: []byte(p), MaxTokens: 40}, func(b []byte) error {
				if i == 0 && first {
					<-gate // hold the scheduler until the others are queued
				}
				first = false
				buf = append(buf, b...)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = string(buf)
		}()
		if i == 0 {
			waitFor(t, func() bool { return e.Stats().BusySlots == 1 })
		}
	}
	waitFor(t, func() bool { return e.Stats().Queued == 3 })
	close(gate)
	wg.Wait()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("prompt %d batched = %q\nsingle = %q", i, got[i], want[i])
		}
	}
	// Alone, each needs >= 40 steps (160 in all); together they share.
	if s := e.Stats().Steps; s >= 100 {
		t.Errorf("batched run took %d steps, want < 100 (requests did not share steps)", s)
	}
}

// waitFor polls cond (a synchronisation aid, not a timing assertion).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 10000 {
		if cond() {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("condition not reached")
}

func TestPromptSplitAcrossSteps(t *testing.T) {
	prompt := []byte(batchPrompts[2])
	n, _ := stories(t).Tokenize(prompt, make([]Token, 64), true, false)
	e := newEngine(t, Config{Slots: 1, BatchSize: 4})
	text, _, res, err := collect(t, e, &Request{Prompt: prompt, MaxTokens: 10})
	ref := newEngine(t, Config{Slots: 1})
	want, _, _, _ := collect(t, ref, &Request{Prompt: prompt, MaxTokens: 10})
	if err != nil || text != want || res.PromptTokens != n {
		t.Fatalf("got %q %+v %v, want %q", text, res, err, want)
	}
	// ceil(n/4) prefill steps (the last yields token 1), then 9 steps.
	if steps, wantSteps := e.Stats().Steps, uint64((n+3)/4+9); steps != wantSteps {
		t.Errorf("steps = %d, want %d", steps, wantSteps)
	}
}

func TestSamplingParameters(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	run := func(s Sampling) string {
		t.Helper()
		text, _, res, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 40, Sampling: s})
		if err != nil || res.CompletionTokens != 40 {
			t.Fatalf("%+v: %+v %v", s, res, err)
		}
		return text
	}
	seeded := run(Sampling{Temperature: 0.8, Seed: 42})
	const wantSeeded = ", there was a little boy named Timmy. Timmy loved playing with his toys while playing, especially all the st"
	cases := []struct {
		name string
		got  string
		want string
		same bool
	}{
		{"temperature+seed reproducible", run(Sampling{Temperature: 0.8, Seed: 42}), seeded, true},
		{"seed 42 exact", seeded, wantSeeded, true},
		{"other seed differs", run(Sampling{Temperature: 0.8, Seed: 43}), seeded, false},
		{"top_k=1 is greedy", run(Sampling{Temperature: 1, TopK: 1, Seed: 7}), onceGreedy, true},
		{"min_p=1 is greedy", run(Sampling{Temperature: 1, MinP: 1, Seed: 7}), onceGreedy, true},
		{"tiny top_p is greedy", run(Sampling{Temperature: 1, TopP: 0.01, Seed: 7}), onceGreedy, true},
		{"repeat penalty changes greedy", run(Sampling{RepeatPenalty: 1.5}), onceGreedy, false},
		{"min_p trims the hot tail", run(Sampling{Temperature: 1.5, MinP: 0.2, Seed: 7}), run(Sampling{Temperature: 1.5, Seed: 7}), false},
		{"top_p trims the hot tail", run(Sampling{Temperature: 1.5, TopP: 0.5, Seed: 7}), run(Sampling{Temperature: 1.5, Seed: 7}), false},
	}
	for _, c := range cases {
		if (c.got == c.want) != c.same {
			t.Errorf("%s: got %q, want same=%v as %q", c.name, c.got, c.same, c.want)
		}
	}
	if got := run(Sampling{RepeatPenalty: 1.5}); got != ", there was a little girl named Lily. She loved to play outside in the park with her friends and daddy would spr" {
		t.Errorf("repeat penalty 1.5 = %q", got)
	}
}

func TestStopStrings(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	cases := []struct {
		stop   []string
		text   string
		tokens int
		finish FinishReason
	}{
		// "girl" is three tokens (" g" "ir" "l"): held back, then dropped.
		{[]string{"girl"}, ", there was a little ", 8, FinishStop},
		{[]string{"zzz", "named Lily"}, ", there was a little girl ", 10, FinishStop},
		// A held prefix ("Lily" of "Lily!") is released when disproved.
		{[]string{"Lily!"}, onceGreedy, 40, FinishLength},
	}
	for _, c := range cases {
		var stops [][]byte
		for _, s := range c.stop {
			stops = append(stops, []byte(s))
		}
		text, _, res, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 40, Stop: stops})
		want := Result{PromptTokens: 5, CompletionTokens: c.tokens, Finish: c.finish}
		if err != nil || text != c.text || res != want {
			t.Errorf("stop %q: got %q %+v %v\nwant %q %+v", c.stop, text, res, err, c.text, want)
		}
	}
}

func TestMaxTokens(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	text, pieces, res, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 7})
	want := Result{PromptTokens: 5, CompletionTokens: 7, Finish: FinishLength}
	if err != nil || text != ", there was a little gir" || res != want || len(pieces) != 7 {
		t.Fatalf("got %q (%d pieces) %+v %v", text, len(pieces), res, err)
	}
}

func TestContextLimits(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 16, MaxTokensCap: 100})
	if _, _, _, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 12}); !errors.Is(err, ErrContextOverflow) {
		t.Errorf("5+12 > 16: err = %v, want ErrContextOverflow", err)
	}
	if _, _, _, err := collect(t, e, &Request{Prompt: []byte(batchPrompts[2])}); !errors.Is(err, ErrContextOverflow) {
		t.Errorf("long prompt: err = %v, want ErrContextOverflow", err)
	}
	for _, max := range []int{11, 0} { // 0 clamps to the 11 tokens left
		_, _, res, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: max})
		if want := (Result{PromptTokens: 5, CompletionTokens: 11, Finish: FinishLength}); err != nil || res != want {
			t.Errorf("MaxTokens %d: %+v %v, want %+v", max, res, err, want)
		}
	}
}

func TestCancelFreesSlotWithinOneStep(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	res, err := e.Generate(ctx, &Request{Prompt: []byte(onceUpon), MaxTokens: 40}, func([]byte) error {
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	want := Result{PromptTokens: 5, CompletionTokens: 3, Finish: FinishCancelled}
	if !errors.Is(err, context.Canceled) || untimed(t, res) != want {
		t.Fatalf("got %+v %v, want %+v context.Canceled", res, err, want)
	}
	// Three steps produced three tokens; no decode ran after the cancel.
	if s := e.Stats(); s.BusySlots != 0 || s.Steps != 3 || s.KVUsedCells != 0 {
		t.Fatalf("stats after cancel = %+v", s)
	}
	text, _, _, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 40})
	if err != nil || text != onceGreedy {
		t.Fatalf("next request = %q %v", text, err)
	}
}

func TestSinkErrorCancels(t *testing.T) {
	e := newEngine(t, Config{Slots: 1})
	boom := errors.New("client gone")
	res, err := e.Generate(context.Background(), &Request{Prompt: []byte(onceUpon), MaxTokens: 40}, func([]byte) error { return boom })
	if !errors.Is(err, boom) || untimed(t, res) != (Result{PromptTokens: 5, CompletionTokens: 1, Finish: FinishCancelled}) {
		t.Fatalf("got %+v %v", res, err)
	}
}

// blockFirst returns a sink that blocks on its first call until release
// is closed, holding the scheduler (and so every slot) busy.
func blockFirst(release <-chan struct{}) Sink {
	first := true
	return func([]byte) error {
		if first {
			first = false
			<-release
		}
		return nil
	}
}

func TestQueueFullAndQueuedCancel(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, QueueDepth: 1})
	release := make(chan struct{})
	req := &Request{Prompt: []byte(onceUpon), MaxTokens: 5}
	resA := make(chan error, 1)
	go func() { _, err := e.Generate(context.Background(), req, blockFirst(release)); resA <- err }()
	waitFor(t, func() bool { return e.Stats().BusySlots == 1 })

	ctxB, cancelB := context.WithCancel(context.Background())
	resB := make(chan Result, 1)
	go func() { r, _ := e.Generate(ctxB, req, func([]byte) error { return nil }); resB <- r }()
	waitFor(t, func() bool { return e.Stats().Queued == 1 })

	if _, err := e.Generate(context.Background(), req, func([]byte) error { return nil }); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("third request: err = %v, want ErrOverloaded", err)
	}
	cancelB() // B leaves the queue while A still holds the only slot
	if r := <-resB; untimed(t, r) != (Result{PromptTokens: 5, Finish: FinishCancelled}) {
		t.Fatalf("queued cancel = %+v", r)
	}
	close(release)
	if err := <-resA; err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Queued != 0 || s.BusySlots != 0 {
		t.Fatalf("stats = %+v", s)
	}
}

// TestQueueDrains: jobs queued behind a busy slot all run once it frees,
// although the scheduler's wake channel carries one signal for them all.
func TestQueueDrains(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, QueueDepth: 3})
	release := make(chan struct{})
	req := &Request{Prompt: []byte(onceUpon), MaxTokens: 5}
	results := make(chan Result, 4)
	go func() { r, _ := e.Generate(context.Background(), req, blockFirst(release)); results <- r }()
	waitFor(t, func() bool { return e.Stats().BusySlots == 1 })
	for range 3 {
		go func() { r, _ := e.Generate(context.Background(), req, func([]byte) error { return nil }); results <- r }()
	}
	waitFor(t, func() bool { return e.Stats().Queued == 3 })
	close(release)
	for range 4 {
		if r := untimed(t, <-results); r != (Result{PromptTokens: 5, CompletionTokens: 5, Finish: FinishLength}) {
			t.Fatalf("result = %+v", r)
		}
	}
}

func TestCloseFailsPending(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, QueueDepth: 2})
	release := make(chan struct{})
	req := &Request{Prompt: []byte(onceUpon), MaxTokens: 40}
	errs := make(chan error, 2)
	go func() { _, err := e.Generate(context.Background(), req, blockFirst(release)); errs <- err }()
	waitFor(t, func() bool { return e.Stats().BusySlots == 1 })
	go func() {
		_, err := e.Generate(context.Background(), req, func([]byte) error { return nil })
		errs <- err
	}()
	waitFor(t, func() bool { return e.Stats().Queued == 1 })
	done := make(chan struct{})
	go func() { e.Close(); close(done) }()
	waitFor(t, func() bool { e.qmu.Lock(); defer e.qmu.Unlock(); return e.closed })
	close(release)
	<-done
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Errorf("pending request: err = %v, want ErrClosed", err)
		}
	}
	if _, err := e.Generate(context.Background(), req, func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: err = %v, want ErrClosed", err)
	}
}

func TestBudgetExhaustedIsOverloaded(t *testing.T) {
	probe := locked.NewBudget(locked.Unlimited)
	e := newEngine(t, Config{Slots: 2, Budget: probe})
	engineCost := probe.InUse()
	e.Close()
	// Exactly the engine's own buffers: nothing left for a request.
	e = newEngine(t, Config{Slots: 2, Budget: locked.NewBudget(engineCost)})
	_, _, _, err := collect(t, e, &Request{Prompt: []byte(onceUpon), MaxTokens: 4})
	if !errors.Is(err, ErrOverloaded) || !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("err = %v, want ErrOverloaded wrapping locked.ErrExhausted", err)
	}
	if _, err := NewEngine(stories(t), Config{Slots: 2, ContextPerSlot: 256, Budget: locked.NewBudget(engineCost - 1)}); !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("NewEngine over budget: err = %v, want locked.ErrExhausted", err)
	}
}

func TestInvalidRequests(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, MaxTokensCap: 50})
	p := []byte(onceUpon)
	long := make([]byte, 65)
	for i := range long {
		long[i] = 'a'
	}
	nan := float32(math.NaN())
	cases := map[string]*Request{
		"nil":             nil,
		"empty":           {},
		"max too big":     {Prompt: p, MaxTokens: 51},
		"max negative":    {Prompt: p, MaxTokens: -1},
		"too many stops":  {Prompt: p, Stop: make([][]byte, 9)},
		"empty stop":      {Prompt: p, Stop: [][]byte{{}}},
		"long stop":       {Prompt: p, Stop: [][]byte{long}},
		"invalid stop":    {Prompt: p, Stop: [][]byte{{0xff}}},
		"temp negative":   {Prompt: p, Sampling: Sampling{Temperature: -1}},
		"temp nan":        {Prompt: p, Sampling: Sampling{Temperature: nan}},
		"top_k":           {Prompt: p, Sampling: Sampling{TopK: -1}},
		"top_p":           {Prompt: p, Sampling: Sampling{TopP: 1.5}},
		"min_p":           {Prompt: p, Sampling: Sampling{MinP: -0.1}},
		"repeat penalty":  {Prompt: p, Sampling: Sampling{RepeatPenalty: 11}},
		"repeat last n":   {Prompt: p, Sampling: Sampling{RepeatLastN: -2}},
		"bad chat role":   {Messages: []Message{{Role: Role(7), Content: p}}},
		"chat with NUL":   {Messages: []Message{{Role: RoleUser, Content: []byte("a\x00")}}},
		"no chat message": {Messages: []Message{}},
	}
	for name, req := range cases {
		_, err := e.Generate(context.Background(), req, func([]byte) error { return nil })
		if !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest or ErrInvalidMessage", name, err)
		}
	}
	if _, err := e.Generate(context.Background(), &Request{Prompt: p}, nil); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("nil sink: err = %v", err)
	}
	if s := e.Stats(); s.Steps != 0 {
		t.Errorf("invalid requests ran %d steps", s.Steps)
	}
}

func TestInvalidConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"slots":      {Slots: -1},
		"slots big":  {Slots: 1000},
		"ctx":        {ContextPerSlot: 4},
		"batch":      {BatchSize: -5},
		"batch<slot": {Slots: 8, BatchSize: 4},
		"threads":    {Threads: -1},
		"queue":      {QueueDepth: -2},
		"max cap":    {MaxTokensCap: -1},
		"poll":       {ThreadPoll: -2},
		"poll big":   {ThreadPoll: 101},
	} {
		if _, err := NewEngine(stories(t), cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	e := newEngine(t, Config{ContextPerSlot: 100000})
	if got := e.Config(); got.ContextPerSlot != 2048 || got.Slots != 4 || got.BatchSize != 512 || got.PromptChunk != 64 || got.QueueDepth != 16 || got.MaxTokensCap != 4096 ||
		got.ThreadPoll != defaultThreadPoll {
		t.Errorf("defaults = %+v", got)
	}
}

func TestTokenPrompt(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 64})
	toks := make([]Token, 16)
	n, err := stories(t).Tokenize([]byte(onceUpon), toks, true, false)
	if err != nil {
		t.Fatal(err)
	}
	text, _, res, err := collect(t, e, &Request{Tokens: toks[:n], MaxTokens: 40})
	if err != nil || text != onceGreedy || res.PromptTokens != 5 {
		t.Fatalf("token prompt: %q %+v %v", text, res, err)
	}
	if _, _, _, err := collect(t, e, &Request{Tokens: []Token{1, 512}}); !errors.Is(err, ErrInvalidRequest) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("invalid id: err = %v, want ErrInvalidRequest wrapping ErrInvalidToken", err)
	}
	if _, _, _, err := collect(t, e, &Request{Tokens: make([]Token, 65)}); !errors.Is(err, ErrContextOverflow) {
		t.Errorf("65 tokens in 64: err = %v, want ErrContextOverflow", err)
	}
	// SyntheticPrompt: BOS then text tokens, deterministic per seed.
	p := SyntheticPrompt(stories(t), 32, 3)
	if len(p) != 32 || p[0] != 1 || !slices.Equal(p, SyntheticPrompt(stories(t), 32, 3)) || slices.Equal(p, SyntheticPrompt(stories(t), 32, 4)) {
		t.Errorf("SyntheticPrompt = %v", p)
	}
	for _, tok := range p[1:] {
		if stories(t).IsControl(tok) || stories(t).IsEOG(tok) {
			t.Errorf("synthetic prompt holds control token %d", tok)
		}
	}
}

// The per-token path (sample, render, stop/UTF-8 scan, sink) does not
// allocate: 180 more tokens cost (almost) no more heap allocations.
func TestNoAllocationPerToken(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 256})
	sink := func([]byte) error { return nil }
	stop := [][]byte{[]byte("zzz"), []byte("qq")}
	mallocs := func(n int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := e.Generate(context.Background(), &Request{Prompt: []byte(onceUpon), MaxTokens: n, Stop: stop}, sink); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	mallocs(20) // warm up
	short, long := mallocs(20), mallocs(200)
	t.Logf("allocations: 20 tokens %d, 200 tokens %d", short, long)
	if long > short+20 {
		t.Errorf("200 tokens: %d allocations, 20 tokens: %d; want no per-token allocation", long, short)
	}
}

// A second architecture shape: llama-2-tiny-random (F16, 32k vocabulary,
// random weights) runs, repeats itself exactly, and streams valid UTF-8.
func TestRandomWeightsModel(t *testing.T) {
	m, err := LoadModel(testenv.Model(t, "llama-2-tiny-random.gguf"), ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 128, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	req := &Request{Messages: []Message{{Role: RoleUser, Content: []byte("Hello")}}, MaxTokens: 24}
	a, _, ra, errA := collect(t, e, req)
	b, _, rb, errB := collect(t, e, req)
	if errA != nil || errB != nil || a != b || ra != rb || ra.PromptTokens != 2 {
		t.Fatalf("runs differ or failed: %q %+v %v / %q %+v %v", a, ra, errA, b, rb, errB)
	}
	if ra.Finish == FinishLength && ra.CompletionTokens != 24 {
		t.Fatalf("result %+v", ra)
	}
}
