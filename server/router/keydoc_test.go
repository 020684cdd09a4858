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
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	doc := func(body string, issued int) *keyDoc {
		return &keyDoc{body: []byte(body), issuedAt: day(issued), expires: day(issued + 7)}
	}
	older, newer := doc("older", 1), doc("newer", 2)
	now := day(2).Add(time.Hour)
	r := &Router{}
	for _, src := range []*keyDoc{older, newer, older, newer, older} {
		r.offerKeys(src, now)
	}
	if got := r.keys.Load().body; !bytes.Equal(got, newer.body) {
		t.Fatalf("after switching sources the router serves %s", got)
	}
	// Once the held document has expired, any document is better.
	r.offerKeys(older, day(9))
	if got := r.keys.Load().body; !bytes.Equal(got, older.body) {
		t.Fatalf("after the newest expired the router serves %s", got)
	}
}
