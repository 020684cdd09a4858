package node

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestUpstreamConnectTimeout: a worker that accepts the TCP connection
// and never answers the TLS handshake costs the router
// SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS, then a timeout error; without it the
// request would wait until the caller's own deadline (10 s here), which
// the test tells apart.
func TestUpstreamConnectTimeout(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "sotto test CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	rCert, rKey, _ := ca.Issue(t, dir, "router")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never written to
		}
	}()
	url := "https://" + ln.Addr().String()
	vars := maps.Clone(routerBase)
	vars["INFERENCE_ENDPOINTS"], vars["SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS"] = url, "200"
	rt := upstreamTransportFor(t, vars, caFile, rCert, rKey)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/capacity", nil)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a worker that never answered the handshake answered")
	}
	var ne net.Error
	if ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v (caller's deadline passed: %v), want the connect timeout", err, ctx.Err() != nil)
	}
}

// upstreamTransportFor is the router's transport to its workers under
// vars, with the router's certificate and key and the workers' CA.
func upstreamTransportFor(t *testing.T, vars map[string]string, caFile, cert, key string) http.RoundTripper {
	t.Helper()
	plan := planOf(t, vars)
	plan.MTLS = MTLSPlan{ClientCA: caFile, ClientCert: cert, ClientKey: key}
	n := &Node{log: slog.New(slog.DiscardHandler), plan: plan}
	rt, err := n.upstreamTransport()
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
