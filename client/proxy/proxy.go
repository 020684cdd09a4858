// Package proxy is `sotto proxy`: an OpenAI-compatible endpoint on the
// user's own machine that seals every request to a Sotto server with the
// Go client (package client) and streams the opened reply back in the
// OpenAI format (docs/proxy.md). Tools that speak the OpenAI chat API
// (editors, notebooks, agents, the official SDKs) become end-to-end
// encrypted Sotto clients with no change but their base URL.
//
// It serves POST /v1/chat/completions (streaming or not), GET /v1/models
// (the one model of the server) and GET /health. It recognises
// conversations a tool resends whole each turn (Conversations) and gives
// each its own cache secret, so the server reuses the conversation's
// prompt. It never logs, stores or echoes request or reply text: errors
// name fields and Sotto problems only, and its log lines carry the method,
// path, status and duration.
package proxy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sottolabs/sotto/client"
)

// DefaultModel is the model name of GET /v1/models when Config.Model is
// empty. The protocol does not name the server's model, and tools accept
// whatever the list offers.
const DefaultModel = "sotto"

// Chatter sends one chat request; *client.Client is one.
type Chatter interface {
	Chat(ctx context.Context, req client.Request, onDelta func(text []byte) error) (client.Result, error)
}

// Config configures a Proxy. Client is required.
type Config struct {
	Client Chatter
	// Model is the id GET /v1/models lists and replies carry (default
	// DefaultModel). A request may name any model: there is one.
	Model string
	// APIKey, when set, is required as "Authorization: Bearer <key>" on
	// every request but /health. Without it the proxy must listen on
	// loopback only (the caller checks), and accepts any key.
	APIKey string
	// Conversations matches resent conversations to cache secrets (default
	// NewConversations(0, 0)).
	Conversations *Conversations
	// Log receives one line per request: method, path, status, duration,
	// and the error's Sotto problem or code. Default: discard.
	Log *slog.Logger
	// Now is the clock of "created" (default time.Now).
	Now func() time.Time
}

// Proxy is the OpenAI-compatible HTTP handler.
type Proxy struct {
	cfg    Config
	keySum [sha256.Size]byte
	mux    *http.ServeMux
}

// New returns a Proxy for cfg.
func New(cfg Config) *Proxy {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Conversations == nil {
		cfg.Conversations = NewConversations(0, 0)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Proxy{cfg: cfg, keySum: sha256.Sum256([]byte(cfg.APIKey)), mux: http.NewServeMux()}
	p.mux.HandleFunc("POST /v1/chat/completions", p.handleCompletions)
	p.mux.HandleFunc("GET /v1/models", p.handleModels)
	p.mux.HandleFunc("GET /v1/models/{model}", p.handleModel)
	p.mux.HandleFunc("GET /health", handleHealth)
	p.mux.HandleFunc("GET /{$}", handleHealth)
	p.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		(&apiError{status: http.StatusNotFound, Type: typeNotFound, Code: "unknown_url",
			Message: "unknown path or method; this proxy serves POST /v1/chat/completions and GET /v1/models"}).write(w)
	})
	return p
}

// ServeHTTP checks the caller, then routes; it logs one line per request.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if e := p.admit(r); e != nil {
		e.write(sw)
	} else {
		p.mux.ServeHTTP(sw, r)
	}
	attrs := []any{"method", r.Method, "path", logPath(r.URL.Path), "status", sw.status,
		"duration_ms", time.Since(start).Milliseconds()}
	if sw.code != "" {
		attrs = append(attrs, "code", sw.code)
	}
	p.cfg.Log.Info("proxy: request", attrs...)
}

// admit refuses requests a web page could have sent (a Host that is not
// this machine on a loopback proxy: DNS rebinding), and requests without
// the API key when one is set.
func (p *Proxy) admit(r *http.Request) *apiError {
	if p.cfg.APIKey == "" && !loopbackHost(r.Host) {
		return &apiError{status: http.StatusForbidden, Type: typePermission, Code: "host_not_allowed",
			Message: "a proxy without an API key answers requests addressed to localhost or a loopback address only"}
	}
	if p.cfg.APIKey == "" || r.URL.Path == "/health" {
		return nil
	}
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
	// Hashes of equal length, compared in constant time: neither the key's
	// length nor its bytes leak through the time a refusal takes.
	if subtle.ConstantTimeCompare(sum[:], p.keySum[:]) != 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return &apiError{status: http.StatusUnauthorized, Type: typeAuthentication, Code: "invalid_api_key",
			Message: "missing or wrong API key (Authorization: Bearer <the key sotto proxy was started with>)"}
	}
	return nil
}

// loopbackHost reports whether a Host header names this machine.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// logPath keeps the known paths and replaces any other (a tool's typo may
// carry anything) by a fixed word.
func logPath(path string) string {
	switch {
	case path == "/v1/chat/completions", path == "/v1/models", path == "/health", path == "/":
		return path
	case strings.HasPrefix(path, "/v1/models/"):
		return "/v1/models/{model}"
	}
	return "other"
}

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// modelEntry is one entry of GET /v1/models.
type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (p *Proxy) model() modelEntry {
	return modelEntry{ID: p.cfg.Model, Object: "model", OwnedBy: "sotto"}
}

func (p *Proxy) handleModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, struct {
		Object string       `json:"object"`
		Data   []modelEntry `json:"data"`
	}{"list", []modelEntry{p.model()}})
}

func (p *Proxy) handleModel(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("model") != p.cfg.Model {
		(&apiError{status: http.StatusNotFound, Type: typeNotFound, Code: "model_not_found",
			Message: "this proxy serves one model: " + p.cfg.Model}).write(w)
		return
	}
	writeJSON(w, p.model())
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// statusWriter records the status and error code for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Model returns the model id the proxy lists.
func (p *Proxy) Model() string { return p.cfg.Model }
