package router

import (
	"bytes"
	"testing"
	"time"
)

// TestKeyDocNeverGoesBack: a router whose health checks switch between
// workers serving documents of different ages keeps serving the newest,
// until it expires (issue 17, item 14).
func TestKeyDocNeverGoesBack(t *testing.T) {
	older := []byte(`{"issued_at":"2026-01-01T00:00:00Z","expires":"2026-01-08T00:00:00Z","keys":[]}`)
	newer := []byte(`{"issued_at":"2026-01-02T00:00:00Z","expires":"2026-01-09T00:00:00Z","keys":[]}`)
	now := time.Date(2026, 1, 2, 1, 0, 0, 0, time.UTC)
	r := &Router{}
	for _, src := range [][]byte{older, newer, older, newer, older} {
		r.offerKeys(src, now)
	}
	if got := r.keys.Load().body; !bytes.Equal(got, newer) {
		t.Fatalf("after switching sources the router serves %s", got)
	}
	r.offerKeys([]byte(`{"keys":[]}`), now)
	if got := r.keys.Load().body; !bytes.Equal(got, newer) {
		t.Fatalf("an undated document displaced a dated one: %s", got)
	}
	// Once the held document has expired, any document is better.
	r.offerKeys(older, time.Date(2026, 1, 9, 0, 0, 0, 0, time.UTC))
	if got := r.keys.Load().body; !bytes.Equal(got, older) {
		t.Fatalf("after the newest expired the router serves %s", got)
	}
}
