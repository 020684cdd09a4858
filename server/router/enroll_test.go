package router

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/wire"
)

// enrol is the fake worker's enrolment endpoint: it records the request
// and answers the path it was asked, as JSON.
func (f *fakeWorker) enrol(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.body, f.header = b, r.Header.Clone()
	f.mu.Unlock()
	w.Header().Set("X-Worker-Internal", "w1.internal")
	w.Header().Set("Content-Type", wire.MediaTypeJSON)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"path":"` + r.URL.Path + `"}`))
}

// TestEnrolmentRelayed: the router relays enrolment to a worker byte for
// byte (it can neither issue nor judge it), forwards only the headers the
// worker reads, and passes the enrolment credential of a chat on.
func TestEnrolmentRelayed(t *testing.T) {
	w := newFakeWorker(t, http.StatusOK)
	ts := newTestRouter(t, w)
	for _, path := range []string{wire.PathEnrollChallenge, wire.PathEnroll} {
		body := []byte(`{"challenge":"c","platform":"apple"}`)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", wire.MediaTypeJSON)
		req.Header.Set(wire.HeaderDevice, "ed25519:x")
		req.Header.Set(wire.HeaderSignature, "sig")
		req.Header.Set("Cookie", "not for the worker")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(got) != `{"path":"`+path+`"}` || resp.Header.Get("X-Worker-Internal") != "" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %q %v", path, resp.StatusCode, got, resp.Header)
		}
		w.mu.Lock()
		if !bytes.Equal(w.body, body) || w.header.Get(wire.HeaderDevice) != "ed25519:x" ||
			w.header.Get(wire.HeaderSignature) != "sig" || w.header.Get("Cookie") != "" {
			t.Errorf("%s: worker got %q %v", path, w.body, w.header)
		}
		w.mu.Unlock()
	}
	body, h := sealed(t)
	h.Set(wire.HeaderEnrolment, "credential")
	if resp, _ := post(t, ts.URL, body, h); resp.StatusCode != 200 {
		t.Fatalf("chat: %d", resp.StatusCode)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.header.Get(wire.HeaderEnrolment) != "credential" {
		t.Fatal("the chat's enrolment credential did not reach the worker")
	}
}

// TestEnrolmentChallengeClaimedOnce: the router claims an enrolment's
// challenge in its register, so a second enrolment with it is refused
// (403 attestation, challenge_used) before it reaches any worker.
func TestEnrolmentChallengeClaimedOnce(t *testing.T) {
	w := newFakeWorker(t, http.StatusOK)
	ts := newTestRouter(t, w)
	raw := make([]byte, 88)
	_, _ = rand.Read(raw[:16])
	binary.BigEndian.PutUint64(raw[16:24], uint64(time.Now().Add(time.Minute).UnixMilli()))
	body := []byte(`{"challenge":"` + base64.RawURLEncoding.EncodeToString(raw) + `","platform":"software"}`)
	send := func() (int, []byte) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+wire.PathEnroll, bytes.NewReader(body))
		req.Header.Set("Content-Type", wire.MediaTypeJSON)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, got
	}
	if status, _ := send(); status != http.StatusOK {
		t.Fatalf("first enrolment: %d", status)
	}
	status, got := send()
	want := `{"type":"https://sotto.invalid/problems/v1#attestation","title":"Enrolment refused","status":403,"code":"challenge_used"}`
	if status != http.StatusForbidden || string(got) != want {
		t.Fatalf("second enrolment: %d %s", status, got)
	}
}
