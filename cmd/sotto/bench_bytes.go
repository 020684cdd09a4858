package main

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/sottolabs/sotto/crypto/wire"
)

// Bytes per stream (docs/benchmarks.md, "Traffic shape"): the benchmark
// counts each reply's body bytes, as they arrive, through a transport that
// wraps the response body of requests whose context carries a counter.

type byteCounterKey struct{}

// withByteCounter returns ctx carrying n, which counts the response body
// bytes of the requests sent with it.
func withByteCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, byteCounterKey{}, n)
}

// countingTransport counts the chat replies' body bytes (not the key
// configuration's) into the request's counter.
type countingTransport struct{ base http.RoundTripper }

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if n, ok := req.Context().Value(byteCounterKey{}).(*atomic.Int64); ok && err == nil && req.URL.Path == wire.PathChat {
		resp.Body = &countingBody{resp.Body, n}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// countBytes makes hc count response bytes (see withByteCounter).
func countBytes(hc *http.Client) {
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = countingTransport{base}
}
