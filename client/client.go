// Package client is the Go client of the Sotto protocol v1
// (docs/protocol.md, docs/client.md): it fetches and verifies the server's
// signed key configuration against a pinned signing key, seals each chat
// request with HPKE to the server's current key, signs it with the
// device key, and opens the sealed Server-Sent Events reply chunk by
// chunk. It follows the protocol's retry rules: a #key refusal refreshes
// the key configuration and retries once, a #date refusal corrects the
// clock offset and retries once, a #pow refusal solves the proof of work
// and retries; rate limits and overload are returned as *ProblemError
// unless Config.MaxRetries allows waiting them out.
//
// The client runs on the user's device: it holds the user's own prompt and
// reply in ordinary memory, but never logs them, and no error it returns
// quotes them. A Client is safe for concurrent use.
package client

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// Defaults of Config.
const (
	DefaultMaxResponseBytes = 32 << 20
	DefaultMaxPoWBits       = 24
)

// Config configures a Client. BaseURL, SigningKey and a device key
// (DeviceKey or Signer) are required.
type Config struct {
	// BaseURL is the server, e.g. "https://sotto.example"; paths
	// /api/pubkey and /api/chat are appended.
	BaseURL string
	// SigningKey is the pinned Ed25519 key that signs the server's key
	// configuration (sotto keys show --pin). Nothing else is trusted.
	SigningKey ed25519.PublicKey
	// DeviceKey is the device's Ed25519 private key; it may live in locked
	// memory and must stay valid while the Client is used. Signer, when
	// set, replaces it (hardware-backed keys).
	DeviceKey ed25519.PrivateKey
	Signer    Signer
	// Suite is the HPKE suite to seal with: crypto.SuiteX25519 (the zero
	// value's default) or crypto.SuiteXWing.
	Suite crypto.Suite
	// HTTPClient sends the requests (default: a client without an overall
	// timeout, since replies stream; bound a call with its context).
	HTTPClient *http.Client
	// StatePath, when set, is a file (written 0600) that keeps the held key
	// configuration across restarts, so that an older document cannot roll
	// the client back. Use one file per pinned signing key.
	StatePath string
	// Now is the local clock (default time.Now).
	Now func() time.Time
	// Rand supplies the request ids and the HPKE randomness (default
	// crypto/rand).
	Rand io.Reader
	// MaxRetries is how many times Chat waits out a #rate-limited or
	// #overloaded refusal (Retry-After, else exponential backoff) before
	// returning it. Default 0: no automatic retry.
	MaxRetries int
	// MaxResponseBytes bounds the bytes read of one reply stream (default
	// DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// MaxPoWBits is the hardest proof of work the client solves (default
	// DefaultMaxPoWBits, about 2^24 hashes).
	MaxPoWBits int
	// Unshaped stops the client from asking for a shaped stream
	// (docs/protocol.md 5.5; it asks by default). Set it only for a server
	// older than that section, which refuses the member (#request, code
	// member): an unshaped stream shows an observer the reply's length.
	Unshaped bool
	// RequireShape refuses a reply that is not shaped (a server with
	// SOTTO_STREAM_SHAPE=off) with ErrResponse, after reading it.
	RequireShape bool
}

// Client talks to one Sotto server.
type Client struct {
	base      string
	pin       ed25519.PublicKey
	signer    Signer
	suite     crypto.Suite
	http      *http.Client
	statePath string
	now       func() time.Time
	rand      io.Reader
	retries   int
	maxResp   int64
	maxBits   int
	shape     bool // ask for a shaped stream
	needShape bool
	sleep     func(ctxDone <-chan struct{}, d time.Duration) bool // replaced in tests

	mu   sync.Mutex
	keys keyState
	// credential is the enrolment credential (Enrol), "" without one.
	credential string
}

// New checks cfg and returns a Client. It reads the state file, if any;
// it sends nothing.
func New(cfg Config) (*Client, error) {
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if len(cfg.SigningKey) != ed25519.PublicKeySize {
		return nil, errors.New("client: a pinned Ed25519 signing key is required")
	}
	c := &Client{
		base: base, pin: cfg.SigningKey, signer: cfg.Signer, suite: cfg.Suite,
		http: cfg.HTTPClient, statePath: cfg.StatePath, now: cfg.Now, rand: cfg.Rand,
		retries: cfg.MaxRetries, maxResp: cfg.MaxResponseBytes, maxBits: cfg.MaxPoWBits,
		shape: !cfg.Unshaped, needShape: cfg.RequireShape && !cfg.Unshaped,
		sleep: sleepCtx,
	}
	if err := c.defaults(cfg); err != nil {
		return nil, err
	}
	if err := c.loadState(); err != nil {
		return nil, err
	}
	return c, nil
}

// defaults fills the unset fields of c.
func (c *Client) defaults(cfg Config) error {
	if c.signer == nil {
		if len(cfg.DeviceKey) != ed25519.PrivateKeySize {
			return errors.New("client: a device key (DeviceKey or Signer) is required")
		}
		s, err := Ed25519Signer(cfg.DeviceKey)
		if err != nil {
			return err
		}
		c.signer = s
	}
	if c.suite == (crypto.Suite{}) {
		c.suite = crypto.SuiteX25519
	}
	if !c.suite.Supported() {
		return fmt.Errorf("client: %w", crypto.ErrSuite)
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	if c.maxResp <= 0 {
		c.maxResp = DefaultMaxResponseBytes
	}
	if c.maxBits <= 0 {
		c.maxBits = DefaultMaxPoWBits
	}
	c.retries = max(c.retries, 0)
	return nil
}

// checkBaseURL accepts an absolute http or https URL and returns it
// without a trailing slash.
func checkBaseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("client: BaseURL must be an absolute http(s) URL")
	}
	return strings.TrimRight(s, "/"), nil
}

// sleepCtx waits d or until done is closed; it reports whether d passed.
func sleepCtx(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
