package server

import (
	"sync"
	"sync/atomic"
)

// admittedCount counts the requests admitted and not yet finished. The
// engine's own counts (busy slots, queue) lag behind requests admitted in
// the same burst, so admission reserves a place here until the request
// ends (checkAdmission).
type admittedCount struct {
	inUse atomic.Int64
}

// acquireWithin reserves n places if that keeps the count within limit;
// release returns them and may be called more than once.
func (a *admittedCount) acquireWithin(n, limit int64) (release func(), ok bool) {
	for {
		cur := a.inUse.Load()
		if cur+n > limit {
			return nil, false
		}
		if a.inUse.CompareAndSwap(cur, cur+n) {
			break
		}
	}
	var once sync.Once
	return func() { once.Do(func() { a.inUse.Add(-n) }) }, true
}
