// Package cors lets pages of configured origins call the two API paths a
// browser client needs, GET /api/pubkey and POST /api/chat
// (SOTTO_CORS_ORIGINS, off by default). Origins are exact
// ("https://chat.example", "http://localhost:5173"), or the opaque origin
// "null" of a page opened from a file, which is allowed only when listed.
// No wildcard and no credentials: the protocol authenticates with the
// device signature, never with cookies.
//
// Responses to a listed origin name it in Access-Control-Allow-Origin and
// expose the headers the client reads (Date and Age for the server's
// clock, Retry-After, the proof-of-work challenge); a preflight allows the
// protocol's request headers. Nothing here logs or echoes anything but the
// Origin value that was configured.
package cors

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
)

// NullOrigin is the serialized opaque origin (pages opened from files,
// sandboxed frames).
const NullOrigin = "null"

// maxAge is how long a browser may cache a preflight answer, in seconds.
const maxAge = "600"

// Headers a client reads beyond the CORS-safelisted ones.
var exposed = strings.Join([]string{"Date", "Age", "Retry-After", wire.HeaderPoWChallenge}, ", ")

// Headers a client sends beyond the CORS-safelisted ones (Content-Type is
// not safelisted for application/sotto-request).
var allowed = strings.Join([]string{"Content-Type", wire.HeaderDevice, wire.HeaderSignature, wire.HeaderPoW}, ", ")

// Policy is a set of allowed origins. The nil Policy allows none.
type Policy struct {
	origins map[string]bool
}

// New returns the policy for origins, as SOTTO_CORS_ORIGINS reads them
// (server/config checks their form); nil when there are none.
func New(origins []string) *Policy {
	if len(origins) == 0 {
		return nil
	}
	p := &Policy{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		p.origins[o] = true
	}
	return p
}

// allows reports whether origin is listed.
func (p *Policy) allows(origin string) bool {
	return p != nil && origin != "" && p.origins[origin]
}

// Middleware adds the response headers for a listed origin. Vary: Origin
// is set on every response, so a shared cache (GET /api/pubkey is
// cacheable) never serves one origin's answer to another.
func (p *Policy) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		if origin := c.Request().Header.Get("Origin"); p.allows(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", exposed)
		}
		return next(c)
	}
}

// Preflight answers OPTIONS: 204 with the allowed method and headers for
// a listed origin, 403 without CORS headers for any other.
func (p *Policy) Preflight(method string) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Add("Vary", "Origin")
		h.Set("Cache-Control", "no-store")
		origin := c.Request().Header.Get("Origin")
		if !p.allows(origin) || c.Request().Header.Get("Access-Control-Request-Method") != method {
			return c.NoContent(http.StatusForbidden)
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", method)
		h.Set("Access-Control-Allow-Headers", allowed)
		h.Set("Access-Control-Max-Age", maxAge)
		return c.NoContent(http.StatusNoContent)
	}
}

// Routes registers the chat and key configuration handlers on e, with
// CORS when p allows any origin (and OPTIONS routes for the preflight).
func Routes(e *echo.Echo, p *Policy, chat, pubkey echo.HandlerFunc) {
	if p == nil {
		e.POST(wire.PathChat, chat)
		e.GET(wire.PathPubkey, pubkey)
		return
	}
	e.POST(wire.PathChat, chat, p.Middleware)
	e.GET(wire.PathPubkey, pubkey, p.Middleware)
	e.OPTIONS(wire.PathChat, p.Preflight(http.MethodPost))
	e.OPTIONS(wire.PathPubkey, p.Preflight(http.MethodGet))
}
