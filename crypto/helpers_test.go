package crypto

import (
	"bytes"
	"encoding/hex"
	"io"
	"sync"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

var (
	budgetOnce sync.Once
	testBudget *locked.Budget
)

// budget returns a process-wide budget sized by RLIMIT_MEMLOCK, as the
// server sizes its own.
func budget(t testing.TB) *locked.Budget {
	t.Helper()
	budgetOnce.Do(func() {
		limit, err := locked.RaiseLimit()
		if err != nil {
			limit = 1 << 20
		}
		testBudget = locked.NewBudget(limit)
	})
	return testBudget
}

// fixedReader yields b and then fails, for deterministic encapsulation.
func fixedReader(b []byte) io.Reader { return bytes.NewReader(b) }

// countReader yields an endless deterministic byte sequence.
type countReader struct{ n byte }

func (r *countReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.n
		r.n++
	}
	return len(p), nil
}

// testKey returns a fixed key pair of suite s.
func testKey(t testing.TB, s Suite) (pub []byte, seed []byte) {
	t.Helper()
	seed = bytes.Repeat([]byte{byte(s.KEM)}, SeedSize)
	pub, err := PublicKey(s, seed)
	if err != nil {
		t.Fatal(err)
	}
	return pub, seed
}

// sealTest seals inner to a fixed key of s.
func sealTest(t testing.TB, s Suite, inner []byte) (body []byte, sc *SenderContext, seed []byte) {
	t.Helper()
	pub, seed := testKey(t, s)
	body, sc, err := Seal(s, 7, pub, inner, 1767225600123, [16]byte{1, 2, 3}, &countReader{})
	if err != nil {
		t.Fatal(err)
	}
	return body, sc, seed
}

// openTest parses and opens body with seed, failing the test on error.
func openTest(t testing.TB, body, seed []byte) *Opened {
	t.Helper()
	h, err := ParseHeader(body)
	if err != nil {
		t.Fatal(err)
	}
	o, err := Open(h, body, seed, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var allSuites = []Suite{SuiteX25519, SuiteXWing}

func hexEncode(b []byte) string { return hex.EncodeToString(b) }
