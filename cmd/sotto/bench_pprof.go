//go:build pprof

package main

import (
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
	"runtime"
)

// With `go build -tags pprof`, SOTTO_PPROF_LISTEN (a loopback address)
// serves net/http/pprof, and block and mutex profiling are on: how
// docs/benchmarks.md profiles `sotto serve` under `sotto bench chat`.
// Never in a release build: goroutine dumps show stacks, and a profiling
// listener is not something a privacy server should offer.
func init() {
	addr := os.Getenv("SOTTO_PPROF_LISTEN")
	if addr == "" {
		return
	}
	if h, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(h).IsLoopback() {
		panic("SOTTO_PPROF_LISTEN must be a loopback host:port")
	}
	runtime.SetBlockProfileRate(10_000) // one sample per 10 us blocked
	runtime.SetMutexProfileFraction(10)
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
