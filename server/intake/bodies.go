package intake

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// DefaultInflightBodyBytes is the cap of BodyGate when none is configured
// (SOTTO_INFLIGHT_BODY_BYTES): about 250 of the largest requests.
const DefaultInflightBodyBytes = 64 << 20

// BodyGate caps the bytes of request bodies that all clients together
// hold before admission: being read, or read and still being checked.
// Without it, many clients trickling large bodies (each under the read
// timeout and the per-IP limit, which is checked only once a body is in)
// could make the process hold unbounded memory for requests that will
// never be served. A request over the cap is refused at once with 503
// #overloaded, before its body is read. The server and the router each
// hold one.
type BodyGate struct {
	limit int64
	inUse atomic.Int64
}

// NewBodyGate returns a gate of limit bytes.
func NewBodyGate(limit int64) *BodyGate { return &BodyGate{limit: limit} }

// Reserve reserves the most r's body may hold: its declared length, or
// maxBody when it has none (chunked). ok is false when the cap would be
// exceeded; release returns the bytes and may be called more than once.
func (g *BodyGate) Reserve(r *http.Request, maxBody int64) (release func(), ok bool) {
	size := r.ContentLength
	if size < 0 {
		size = maxBody
	}
	return g.acquire(size)
}

func (g *BodyGate) acquire(n int64) (release func(), ok bool) {
	for {
		cur := g.inUse.Load()
		if cur+n > g.limit {
			return nil, false
		}
		if g.inUse.CompareAndSwap(cur, cur+n) {
			break
		}
	}
	var once sync.Once
	return func() { once.Do(func() { g.inUse.Add(-n) }) }, true
}

// InFlight returns the bytes reserved.
func (g *BodyGate) InFlight() int64 { return g.inUse.Load() }

// CloseUnread marks the answer to a request refused before its body was
// read (size, media type, the in-flight cap) as the connection's last on
// HTTP/1: otherwise net/http reads the rest of a stalled body before it
// writes the refusal, and a client that trickles its body holds both the
// connection and the answer. HTTP/2 streams need no draining, and closing
// there would end the connection's other streams.
func CloseUnread(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}
