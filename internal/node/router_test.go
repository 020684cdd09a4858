package node

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// TestRouterConfigFromPlan: the body settings a server uses reach the
// router too (issue 17 item 1: SOTTO_INFLIGHT_BODY_BYTES reached nothing
// on a router).
func TestRouterConfigFromPlan(t *testing.T) {
	vars := maps.Clone(routerBase)
	vars["SOTTO_INFLIGHT_BODY_BYTES"], vars["MAX_BODY_BYTES"] = "1000000", "100000"
	cfg := (&Node{plan: planOf(t, vars)}).routerConfig(nil)
	if cfg.InflightBodyBytes != 1000000 || cfg.MaxBodyBytes != 100000 {
		t.Fatalf("router body limits %d in flight, %d per body; want 1000000 and 100000", cfg.InflightBodyBytes, cfg.MaxBodyBytes)
	}
}

// TestUpstreamTransportVerifiesEachWorker: the router's transport to a
// worker dialled by IP address refuses a worker certificate (from the
// cluster's CA) for another address, accepts one for that address unless
// the worker's own pin (#spki= in INFERENCE_ENDPOINTS) names another key,
// and refuses a host that is not a configured worker.
func TestUpstreamTransportVerifiesEachWorker(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "sotto test CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	rCert, rKey, _ := ca.Issue(t, dir, "router")
	pool, err := tlsreload.NewPoolReloader(caFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		san  string
		pin  string // "own", "other" or none
		want bool
	}{{"10.9.9.9", "", false}, {"127.0.0.1", "", true}, {"127.0.0.1", "own", true}, {"127.0.0.1", "other", false}} {
		wCert, wKey, leaf := ca.IssueFor(t, dir, fmt.Sprintf("worker%d", i), tc.san)
		cert, err := tlsreload.NewCertReloader(wCert, wKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A worker's listener (httptest's TLS would serve its own certificate).
		ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsreload.ServerMTLS(cert, pool, nil))
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), ErrorLog: log.New(io.Discard, "", 0)}
		go func() { _ = srv.Serve(ln) }()
		url := "https://" + ln.Addr().String()
		endpoint := url
		switch tc.pin {
		case "own":
			endpoint += "#spki=" + base64.RawURLEncoding.EncodeToString(spki(leaf))
		case "other":
			endpoint += "#spki=" + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		}
		vars := maps.Clone(routerBase)
		vars["INFERENCE_ENDPOINTS"] = endpoint
		rt := upstreamTransportFor(t, vars, caFile, rCert, rKey)
		resp, err := (&http.Client{Transport: rt}).Get(url + "/")
		if err == nil {
			resp.Body.Close()
		}
		if ok := err == nil; ok != tc.want || (!ok && !errors.Is(err, tlsreload.ErrPeer)) {
			t.Errorf("worker certificate for %s at %s, pin %q: err %v, want accepted %v", tc.san, url, tc.pin, err, tc.want)
		}
		if _, err := (&http.Client{Transport: rt}).Get("https://127.0.0.2:1/"); !errors.Is(err, errNoUpstream) {
			t.Errorf("a host not configured: %v, want errNoUpstream", err)
		}
		srv.Close()
	}
}

func spki(c *x509.Certificate) []byte {
	d := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return d[:]
}
