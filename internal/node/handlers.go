package node

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/server/problem"
)

// handlerGroup counts running HTTP handlers so the drain can wait for all
// of them before the engine, model and keys are freed: http.Server.Close
// closes connections but does not wait for their handlers.
type handlerGroup struct {
	next    http.Handler
	mu      sync.RWMutex
	closed  bool
	wg      sync.WaitGroup
	running atomic.Int64 // handlers running now, for waitIdle
}

func newHandlerGroup(next http.Handler) *handlerGroup { return &handlerGroup{next: next} }

func (g *handlerGroup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		problem.Write(w, problem.OverloadedAfter(time.Second))
		return
	}
	g.wg.Add(1)
	g.running.Add(1)
	g.mu.RUnlock()
	defer g.wg.Done()
	defer g.running.Add(-1)
	g.next.ServeHTTP(w, r)
}

// waitIdle returns once no handler runs, or when ctx ends; it reports
// whether none runs. Handlers may start meanwhile (the drain's refusals).
func (g *handlerGroup) waitIdle(ctx context.Context) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for g.running.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

// closeAndWait refuses new handlers and waits up to timeout for the
// running ones; it reports whether they all returned.
func (g *handlerGroup) closeAndWait(timeout time.Duration) bool {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
