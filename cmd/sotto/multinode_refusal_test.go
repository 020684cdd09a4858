package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/locked"
)

// refusalCase is one request of the refusal suite: what to send, and
// the answers it must get (status and problem name, in order).
type refusalCase struct {
	name  string
	sends func(t *testing.T, s *sealer) []*http.Request
	want  []string
}

// sealer builds requests to one node: sealed to the cluster's current
// X25519 key, signed by the enrolled device.
type sealer struct {
	url  string
	key  keyconfig.Key
	priv ed25519.PrivateKey
}

func (s *sealer) seal(t *testing.T, keyID uint8, ts time.Time) []byte {
	t.Helper()
	var rid [16]byte
	_, _ = rand.Read(rid[:])
	body, sc, err := crypto.Seal(crypto.SuiteX25519, keyID, s.key.PublicKey,
		[]byte(`{"messages":[{"role":"user","content":"Once"}],"max_tokens":2}`), ts.UnixMilli(), rid, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.Destroy()
	return body
}

// post is a request of body signed by priv, with Content-Type ct.
func (s *sealer) post(t *testing.T, body []byte, ct string, priv ed25519.PrivateKey) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+wire.PathChat, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	dk, _ := device.PublicKey(priv)
	sig, err := device.Sign(priv, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(wire.HeaderDevice, dk.String())
	req.Header.Set(wire.HeaderSignature, sig)
	return req
}

// refusalCases are the refusals of protocol section 4, and their order
// where one request breaks two rules.
var refusalCases = []refusalCase{
	{"too large before media type", func(t *testing.T, s *sealer) []*http.Request {
		return []*http.Request{s.post(t, make([]byte, 263313), "text/plain", s.priv)}
	}, []string{"413 too-large"}},
	{"media type", func(t *testing.T, s *sealer) []*http.Request {
		return []*http.Request{s.post(t, s.seal(t, s.key.KeyID, time.Now()), "application/json", s.priv)}
	}, []string{"415 media-type"}},
	{"envelope", func(t *testing.T, s *sealer) []*http.Request {
		return []*http.Request{s.post(t, s.seal(t, s.key.KeyID, time.Now())[:100], wire.MediaTypeRequest, s.priv)}
	}, []string{"400 envelope"}},
	{"key before date", func(t *testing.T, s *sealer) []*http.Request {
		return []*http.Request{s.post(t, s.seal(t, s.key.KeyID+1, time.Now().Add(-time.Hour)), wire.MediaTypeRequest, s.priv)}
	}, []string{"422 key"}},
	{"date", func(t *testing.T, s *sealer) []*http.Request {
		return []*http.Request{s.post(t, s.seal(t, s.key.KeyID, time.Now().Add(-time.Hour)), wire.MediaTypeRequest, s.priv)}
	}, []string{"400 date"}},
	{"untrusted device", func(t *testing.T, s *sealer) []*http.Request {
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		return []*http.Request{s.post(t, s.seal(t, s.key.KeyID, time.Now()), wire.MediaTypeRequest, stranger)}
	}, []string{"401 device"}},
	{"forgery of a genuine rid, the genuine request, its replay", func(t *testing.T, s *sealer) []*http.Request {
		body := s.seal(t, s.key.KeyID, time.Now())
		forged := bytes.Clone(body)
		forged[len(forged)-1] ^= 1
		return []*http.Request{s.post(t, forged, wire.MediaTypeRequest, s.priv),
			s.post(t, body, wire.MediaTypeRequest, s.priv), s.post(t, body, wire.MediaTypeRequest, s.priv)}
	}, []string{"400 envelope", "200 ", "400 replay"}},
}

// TestRefusalsThroughRouter: every refusal case gets the same answers,
// in the same order, from a single node (a worker, asked directly) and
// through a router (protocol section 12: nothing in sections 1-9 changes
// for a client).
func TestRefusalsThroughRouter(t *testing.T) {
	c := newCluster(t, 1)
	r := c.startRouter(t)
	for _, node := range []struct {
		name string
		url  string
		hc   *http.Client
	}{{"single node", c.workers[0].url, c.mtls}, {"router", r.url, http.DefaultClient}} {
		s := c.sealer(t, r, node.url)
		for _, tc := range refusalCases {
			var got []string
			for _, req := range tc.sends(t, s) {
				got = append(got, answer(t, node.hc, req))
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("%s, %s: %q, want %q", node.name, tc.name, got, tc.want)
			}
		}
	}
}

// sealer seals to the current X25519 key of the configuration router r
// serves, as the cluster's enrolled device, for the node at url.
func (c *cluster) sealer(t *testing.T, r *proc, url string) *sealer {
	t.Helper()
	raw, err := device.ReadKeyFile(c.deviceKey, locked.NewBudget(locked.Unlimited))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(raw.Destroy)
	doc, err := keyconfig.Parse(get(t, http.DefaultClient, r.url+wire.PathPubkey))
	if err != nil {
		t.Fatal(err)
	}
	s := &sealer{url: url, priv: ed25519.PrivateKey(raw.Bytes())}
	for _, k := range doc.Keys {
		if k.Suite == crypto.SuiteX25519 && k.State == keyconfig.StateCurrent {
			s.key = k
		}
	}
	return s
}

// TestFrozenWorkerIs504: a worker that stops (SIGSTOP) after the router
// checked its health gets a request's client 504 #worker-timeout after
// the first-byte timeout, not an empty 200; the router counts it against
// the worker.
func TestFrozenWorkerIs504(t *testing.T) {
	c := newCluster(t, 1)
	// Health checks far apart: the router still counts on the frozen worker.
	r := c.startRouter(t, "SOTTO_HEALTH_INTERVAL_MS=600000", "SOTTO_UPSTREAM_FIRST_BYTE_SECONDS=1")
	s := c.sealer(t, r, r.url)
	w := c.workers[0].cmd.Process
	if err := w.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Signal(syscall.SIGCONT) })
	got := answer(t, http.DefaultClient, s.post(t, s.seal(t, s.key.KeyID, time.Now()), wire.MediaTypeRequest, s.priv))
	_ = w.Signal(syscall.SIGCONT)
	if got != "504 worker-timeout" {
		t.Fatalf("through a frozen worker: %q, want 504 worker-timeout", got)
	}
	if n := metric(t, r, `sotto_upstream_requests_total{outcome="first_byte_timeout",upstream="w1"}`); n != 1 {
		t.Fatalf("%v first-byte timeouts counted, want 1", n)
	}
}

// answer sends req and returns "status problem-name" ("200 " for a
// stream, read to its end).
func answer(t *testing.T, hc *http.Client, req *http.Request) string {
	t.Helper()
	status, name := statusAndProblem(t, hc, req)
	if status == http.StatusOK {
		name = ""
	}
	return fmt.Sprintf("%d %s", status, name)
}
