// Package router is the blind public edge of a multi-node deployment
// (sotto serve --role=router). It checks a sealed request as far as can
// be done without opening it (media type, size, in-flight body bytes,
// envelope header, key id against the served key configuration, ts
// window, replay, proof of work, device signature, rate limits, admission
// by worker capacity), claims its rid, forwards the sealed body and the
// device headers to a worker over mutual TLS, and relays the worker's
// sealed SSE bytes unchanged, flushing each read. The claim is withdrawn
// when no worker registered the rid (gate.go, unclaim); a worker that
// sends no response headers is a 502 or 504 problem, never an empty 200
// (proxy.go). Enrolment (/api/enroll and its challenge) is relayed to a
// worker byte for byte after the router claims the challenge, as it claims
// rids (enroll.go). It serves the workers'
// signed key configuration unchanged; it never holds a private key,
// never links llama.cpp, and cannot open what it relays (internal/lint
// checks its imports).
//
// The vocabulary follows Caddy's reverse proxy: an Upstream is a worker,
// with active health checks (health.go), passive health through a circuit
// breaker (upstream.go), and a selection policy (selection.go): least
// requests in flight, round-robin among ties.
//
// Lifecycle: New builds a Router; Run runs its health checks until its
// context ends and must be running for the Router to become ready;
// Handler may serve before and after Run.
package router
