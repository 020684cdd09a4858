package router

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
)

// sealedTo is sealed with the header's key_id, suite and ts chosen.
func sealedTo(t *testing.T, keyID uint8, suite crypto.Suite, ts time.Time) ([]byte, http.Header) {
	t.Helper()
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	pk, err := crypto.PublicKey(suite, seed)
	if err != nil {
		t.Fatal(err)
	}
	var rid [16]byte
	_, _ = rand.Read(rid[:])
	body, sc, err := crypto.Seal(suite, keyID, pk, []byte(`{"messages":[{"role":"user","content":"hi"}]}`), ts.UnixMilli(), rid, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.Destroy()
	return body, signed(t, body)
}

// TestRouterChecksKey: check 4 runs at the router, before the time
// window, as on a single node: an unknown key_id (with a stale ts too),
// or the id of the key under another suite, is 422 #key carrying the key
// configuration the router serves, byte for byte; no worker sees it.
func TestRouterChecksKey(t *testing.T) {
	w := newFakeWorker(t, http.StatusOK)
	ts := newTestRouter(t, w)
	served := get(t, ts.URL+wire.PathPubkey)
	for _, tc := range []struct {
		name  string
		id    uint8
		suite crypto.Suite
		ts    time.Time
	}{
		{"unknown key_id", 2, crypto.SuiteX25519, time.Now()},
		{"unknown key_id, stale ts", 2, crypto.SuiteX25519, time.Now().Add(-time.Hour)},
		{"key_id of another suite", 1, crypto.SuiteXWing, time.Now()},
	} {
		body, h := sealedTo(t, tc.id, tc.suite, tc.ts)
		resp, got := post(t, ts.URL, body, h)
		wantProblem(t, resp, got, http.StatusUnprocessableEntity, wire.ProblemKey)
		var doc struct {
			KeyConfig json.RawMessage `json:"key_config"`
		}
		if json.Unmarshal(got, &doc) != nil || !bytes.Equal(doc.KeyConfig, served) {
			t.Fatalf("%s: key_config %s, want the served document %s", tc.name, doc.KeyConfig, served)
		}
	}
	body, h := sealedTo(t, 1, crypto.SuiteX25519, time.Now().Add(-time.Hour))
	resp, got := post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusBadRequest, wire.ProblemDate)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.chats != 0 {
		t.Fatalf("%d requests reached the worker", w.chats)
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.Bytes()
}
