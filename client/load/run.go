package load

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/client"
)

// Defaults of Config.
const (
	DefaultRequestTimeout = 2 * time.Minute
	DefaultMaxInFlight    = 4096
)

// Config is one run. Exactly one of Concurrency (closed loop), Rate or
// Ramp (open loop) is set; Count, Duration or both bound it (a ramp is
// bounded by its steps).
type Config struct {
	Target      Target
	Concurrency int           // closed loop: conversations in flight
	Rate        float64       // open loop: Poisson arrivals per second
	Ramp        []Step        // open loop: successive rates
	Count       int           // conversations to start; 0: no bound
	Duration    time.Duration // stop starting conversations after this; 0: no bound
	Workload    Workload
	SLO         SLO
	Seed        uint64
	// RequestTimeout bounds each request (default DefaultRequestTimeout), so
	// that no request hangs the run.
	RequestTimeout time.Duration
	// MaxInFlight caps an open loop's outstanding conversations (default
	// DefaultMaxInFlight); an arrival over it is recorded as the error
	// "client-saturated" rather than delayed, which would close the loop.
	MaxInFlight int
	// Progress, when set, receives a one-line progress bar (a terminal).
	Progress io.Writer
}

// ErrConfig is returned for a Config Run cannot carry out.
var ErrConfig = errors.New("load: invalid configuration")

func (c *Config) check() error {
	modes := 0
	for _, set := range []bool{c.Concurrency > 0, c.Rate > 0, len(c.Ramp) > 0} {
		if set {
			modes++
		}
	}
	switch {
	case c.Target == nil:
		return errors.Join(ErrConfig, errors.New("load: no target"))
	case modes != 1:
		return errors.Join(ErrConfig, errors.New("load: set exactly one of concurrency, rate and ramp"))
	case c.Count < 0 || c.Duration < 0:
		return errors.Join(ErrConfig, errors.New("load: count and duration must not be negative"))
	case len(c.Ramp) == 0 && c.Count == 0 && c.Duration == 0:
		return errors.Join(ErrConfig, errors.New("load: bound the run with a count or a duration"))
	}
	if c.SLO == (SLO{}) {
		c.SLO = DefaultSLO
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	return c.Workload.defaults()
}

// Run carries out c and returns its report. Cancelling ctx stops
// starting conversations and cancels those in flight; what completed is
// reported.
func Run(ctx context.Context, c Config) (*Report, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	r := &runner{cfg: c, begin: time.Now(), parent: ctx}
	cpu0 := cpuTime()
	stopProgress := r.progress()
	if c.Concurrency > 0 {
		r.closedLoop(ctx)
	} else {
		r.openLoop(ctx)
	}
	stopProgress()
	return r.report(cpuTime() - cpu0), nil
}

// runner is one run's state.
type runner struct {
	cfg     Config
	begin   time.Time
	parent  context.Context // the caller's: cancels requests in flight
	started atomic.Int64    // conversations started
	done    atomic.Int64    // requests finished
	failed  atomic.Int64

	mu      sync.Mutex
	samples []Sample
}

// closedLoop keeps cfg.Concurrency conversations in flight.
func (r *runner) closedLoop(ctx context.Context) {
	ctx, cancel := r.bounded(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(r.started.Add(1) - 1)
				if r.cfg.Count > 0 && i >= r.cfg.Count {
					return
				}
				r.conversation(ctx, i, 0)
			}
		})
	}
	wg.Wait()
}

// bounded stops new conversations after cfg.Duration. Requests in flight
// get their own RequestTimeout past it, not the run's context.
func (r *runner) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.cfg.Duration > 0 {
		return context.WithDeadline(ctx, r.begin.Add(r.cfg.Duration))
	}
	return context.WithCancel(ctx)
}

// openLoop starts conversations at the Poisson arrival times.
func (r *runner) openLoop(ctx context.Context) {
	steps := r.cfg.Ramp
	if len(steps) == 0 {
		steps = []Step{{Rate: r.cfg.Rate, For: r.cfg.Duration}}
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	inFlight := make(chan struct{}, r.cfg.MaxInFlight)
	for i, a := range Arrivals(steps, r.cfg.Seed, r.cfg.Count) {
		if !sleepUntil(ctx, r.begin.Add(a.At)) {
			return
		}
		r.started.Add(1)
		select {
		case inFlight <- struct{}{}:
		default:
			r.record(Sample{Step: a.Step, Conv: i, Start: time.Now(), Failure: "client-saturated"})
			continue
		}
		wg.Go(func() {
			defer func() { <-inFlight }()
			r.conversation(ctx, i, a.Step)
		})
	}
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// conversation runs conversation i's turns; a failed turn ends it (the
// history would be missing its reply).
func (r *runner) conversation(ctx context.Context, i, step int) {
	w := r.cfg.Workload
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(i)))
	var conv *client.Conversation
	if w.Cache {
		conv = client.NewConversation(0)
		defer conv.Forget()
	}
	var msgs []client.Message
	for turn := range w.Turns {
		// The first message of conversation i is the words of seed+i, as
		// in every `sotto bench` command, so their prompts compare.
		n, words := w.TurnWords.draw(rng), rng.Uint64()
		if turn == 0 {
			n, words = w.PromptWords.draw(rng), r.cfg.Seed+uint64(i)
		}
		msgs = append(msgs, client.Message{Role: client.RoleUser, Content: SyntheticWords(n, words)})
		req := &Request{Messages: msgs, MaxTokens: w.MaxTokens.draw(rng), Seed: r.cfg.Seed + uint64(i), Conv: conv}
		s, reply := r.send(req)
		s.Step, s.Conv, s.Turn = step, i, turn
		r.record(s)
		if s.Failure != "" || ctx.Err() != nil {
			return
		}
		msgs = append(msgs, client.Message{Role: client.RoleAssistant, Content: string(reply)})
	}
}

// send times one request.
func (r *runner) send(req *Request) (Sample, []byte) {
	ctx, cancel := context.WithTimeout(r.parent, r.cfg.RequestTimeout)
	defer cancel()
	var reply []byte
	s := Sample{Start: time.Now()}
	last := s.Start
	o := r.cfg.Target.Send(ctx, req, func(text []byte) {
		now := time.Now()
		if s.Chunks == 0 {
			s.TTFT = now.Sub(s.Start)
		} else {
			s.Gaps = append(s.Gaps, now.Sub(last))
		}
		last = now
		s.Chunks++
		if r.cfg.Workload.Turns > 1 {
			reply = append(reply, text...)
		}
	})
	s.E2E = time.Since(s.Start)
	s.PromptTokens, s.CompletionTokens, s.Failure, s.Refused = o.PromptTokens, o.CompletionTokens, o.Failure, o.Refused
	return s, reply
}

func (r *runner) record(s Sample) {
	r.done.Add(1)
	if s.Failure != "" {
		r.failed.Add(1)
	}
	r.mu.Lock()
	r.samples = append(r.samples, s)
	r.mu.Unlock()
}
