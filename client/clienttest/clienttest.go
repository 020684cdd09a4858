// Package clienttest runs an in-process Sotto server for testing clients:
// real keys (crypto/keys in a temporary directory), real HPKE opening,
// real device-signature and proof-of-work checks, and real sealed event
// streams carrying canned replies instead of a model. Switches make it
// misbehave the ways a client must survive: a skewed clock, key rotation,
// proof of work, a fixed (old) key configuration, queued problems, and
// mangled or hanging streams.
//
// It answers the checks of protocol section 4 that a client can trigger,
// in the protocol's order, but keeps no replay register and no rate
// limits. A Server is safe for concurrent use.
package clienttest

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/problem"
)

// Reply is the canned answer to every accepted request: its deltas in
// order, then its final chunk. With Hang, the stream stops after the
// deltas without a final chunk and waits until the client goes away.
//
// With Shaped, a request that asked for a shaped stream gets one
// (docs/protocol.md 5.5): two padding frames, a frame per delta, the final
// frame and padding frames to the end of the bucket.
type Reply struct {
	Deltas []string
	Final  crypto.Final
	Hang   bool
	Shaped bool
}

// Received is one request the server opened.
type Received struct {
	KeyID  uint8
	Suite  crypto.Suite
	TS     time.Time
	RID    [16]byte
	Inner  string // the inner request JSON, padding stripped
	Device string // the Sotto-Device header
	PoW    string // the Sotto-PoW header, if any
	Shape  bool   // the request asked for a shaped stream
}

// Server is a test server. URL is its base URL.
type Server struct {
	URL string

	t      testing.TB
	dir    string
	budget *locked.Budget
	store  *keys.Store
	http   *httptest.Server

	mu        sync.Mutex
	offset    time.Duration
	reply     Reply
	powIssuer *pow.Issuer
	fixedDoc  []byte
	queue     []problem.Problem
	mangle    func(sse []byte) []byte
	received  []Received
	counts    Counts
}

// Counts are the server's request counters.
type Counts struct {
	Pubkey    int // GET /api/pubkey
	Chat      int // POST /api/chat, refused or not
	Abandoned int // streams the client closed before the end
}

var (
	budgetOnce sync.Once
	budget     *locked.Budget
)

// New starts a server with keys for suites (default: X25519 and X-Wing)
// created in t.TempDir(), replying "Hello, world." by default. It is
// closed at the end of the test.
func New(t testing.TB, suites ...crypto.Suite) *Server {
	t.Helper()
	if len(suites) == 0 {
		suites = []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing}
	}
	budgetOnce.Do(func() {
		limit, err := locked.RaiseLimit()
		if err != nil {
			limit = 4 << 20
		}
		budget = locked.NewBudget(limit)
	})
	s := &Server{t: t, dir: t.TempDir() + "/keys", budget: budget}
	s.reply = Reply{
		Deltas: []string{"Hello", ", world."},
		Final:  crypto.Final{Reason: crypto.FinishStop, PromptTokens: 7, CompletionTokens: 2},
	}
	// Keys made an hour ago, as on a running server, so that a skewed
	// clock (SetClockOffset) does not put them in its future.
	if err := keys.Init(s.dir, suites, s.now().Add(-time.Hour), s.budget); err != nil {
		t.Fatalf("clienttest: keys.Init: %v", err)
	}
	store, err := keys.Open(s.dir, s.budget)
	if err != nil {
		t.Fatalf("clienttest: keys.Open: %v", err)
	}
	s.store = store
	s.http = httptest.NewServer(s.handler())
	s.URL = s.http.URL
	t.Cleanup(func() {
		s.http.Close()
		s.store.Close()
	})
	return s
}

// SigningKey returns the public key clients pin.
func (s *Server) SigningKey() ed25519.PublicKey { return s.store.SigningPublicKey() }

// KeyDir returns the key directory.
func (s *Server) KeyDir() string { return s.dir }

// Document returns the signed key configuration the server publishes now.
func (s *Server) Document() []byte {
	doc, err := s.store.Document(s.now())
	if err != nil {
		s.t.Fatalf("clienttest: Document: %v", err)
	}
	return doc
}

// SetReply sets the answer to the following requests.
func (s *Server) SetReply(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = r
}

// SetClockOffset runs the server's clock d ahead of the real one (its
// Date headers, its key checks and its request-time window).
func (s *Server) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = d
}

// RequirePoW makes every chat request carry a proof of work of bits
// (0: none).
func (s *Server) RequirePoW(bits int) {
	var iss *pow.Issuer
	if bits > 0 {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		var err error
		if iss, err = pow.NewIssuer(secret, bits, time.Minute); err != nil {
			s.t.Fatalf("clienttest: pow.NewIssuer: %v", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.powIssuer = iss
}

// Rotate promotes each suite's next key and retires the others at once
// (keys rotate with overlap 0), then reloads the store.
func (s *Server) Rotate() {
	sched := keys.DefaultSchedule
	sched.Overlap = 0
	if err := sched.Rotate(s.dir, s.now(), s.budget); err != nil {
		s.t.Fatalf("clienttest: Rotate: %v", err)
	}
	if err := s.store.Reload(); err != nil {
		s.t.Fatalf("clienttest: Reload: %v", err)
	}
}

// ServeFixedDocument makes the server publish doc on GET /api/pubkey and
// answer every chat with 422 #key carrying doc (nil: back to normal).
func (s *Server) ServeFixedDocument(doc []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fixedDoc = doc
}

// QueueProblems makes the server answer the next chat requests with ps,
// in order, before any check.
func (s *Server) QueueProblems(ps ...problem.Problem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, ps...)
}

// MangleStream makes the server pass every reply stream through f before
// sending it in one write (nil: stream event by event, untouched).
func (s *Server) MangleStream(f func(sse []byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mangle = f
}

// Received returns the requests opened so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Counts returns the request counters.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.offset)
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/pubkey", s.handlePubkey)
	mux.HandleFunc("POST /api/chat", s.handleChat)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The skewed clock shows in Date, as a real server's would.
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) handlePubkey(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	s.counts.Pubkey++
	doc := s.fixedDoc
	s.mu.Unlock()
	if doc == nil {
		doc = s.Document()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc)
}
