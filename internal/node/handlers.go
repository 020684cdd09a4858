package node

import (
	"net/http"
	"sync"
	"time"

	"github.com/sottolabs/sotto/server/problem"
)

// handlerGroup counts running HTTP handlers so the drain can wait for all
// of them before the engine, model and keys are freed: http.Server.Close
// closes connections but does not wait for their handlers.
type handlerGroup struct {
	next   http.Handler
	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
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
	g.mu.RUnlock()
	defer g.wg.Done()
	g.next.ServeHTTP(w, r)
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
