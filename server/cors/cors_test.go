package cors_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/cors"
)

// serve routes the two API paths with policy p (nil: CORS off) to
// handlers that answer 200 "ok", and sends one request.
func serve(t *testing.T, p *cors.Policy, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	e := echo.New()
	ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
	cors.Routes(e, p, ok, ok)
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestOffByDefault(t *testing.T) {
	if cors.New(nil) != nil {
		t.Fatal("no origins must mean no policy")
	}
	rec := serve(t, nil, http.MethodGet, wire.PathPubkey, map[string]string{"Origin": "null"})
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "" {
		t.Fatalf("CORS off: %d %v", rec.Code, rec.Header())
	}
	rec = serve(t, nil, http.MethodOptions, wire.PathChat, map[string]string{"Origin": "null", "Access-Control-Request-Method": "POST"})
	// Echo answers OPTIONS itself (204, Allow); without CORS headers the
	// browser refuses the page's request.
	if rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Access-Control-Allow-Headers") != "" {
		t.Fatalf("preflight with CORS off: %d %v", rec.Code, rec.Header())
	}
}

func TestListedOrigin(t *testing.T) {
	p := cors.New([]string{"https://chat.example"})
	for _, c := range []struct{ method, path string }{{http.MethodGet, wire.PathPubkey}, {http.MethodPost, wire.PathChat}} {
		rec := serve(t, p, c.method, c.path, map[string]string{"Origin": "https://chat.example"})
		h := rec.Header()
		if rec.Code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "https://chat.example" ||
			h.Get("Access-Control-Expose-Headers") != "Date, Age, Retry-After, Sotto-PoW-Challenge" ||
			h.Get("Vary") != "Origin" || h.Get("Access-Control-Allow-Credentials") != "" {
			t.Fatalf("%s %s: %d %v", c.method, c.path, rec.Code, h)
		}
	}
	rec := serve(t, p, http.MethodOptions, wire.PathChat, map[string]string{
		"Origin": "https://chat.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "content-type,sotto-device,sotto-signature",
	})
	h := rec.Header()
	if rec.Code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://chat.example" ||
		h.Get("Access-Control-Allow-Methods") != "POST" ||
		h.Get("Access-Control-Allow-Headers") != "Content-Type, Sotto-Device, Sotto-Signature, Sotto-PoW" ||
		h.Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d %v", rec.Code, h)
	}
	rec = serve(t, p, http.MethodOptions, wire.PathPubkey, map[string]string{"Origin": "https://chat.example", "Access-Control-Request-Method": "GET"})
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Methods") != "GET" {
		t.Fatalf("pubkey preflight: %d %v", rec.Code, rec.Header())
	}
}

// TestUnlistedOrigins: another origin, the null origin when only a real
// origin is listed, a preflight for another method: no CORS headers (the
// browser blocks the page), though the answer itself is unchanged.
func TestUnlistedOrigins(t *testing.T) {
	p := cors.New([]string{"https://chat.example"})
	for _, origin := range []string{"https://evil.example", "null", "https://chat.example.evil", "http://chat.example", ""} {
		rec := serve(t, p, http.MethodGet, wire.PathPubkey, map[string]string{"Origin": origin})
		if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
			t.Fatalf("%q: %d %v", origin, rec.Code, rec.Header())
		}
		rec = serve(t, p, http.MethodOptions, wire.PathChat, map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST"})
		if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight %q: %d %v", origin, rec.Code, rec.Header())
		}
	}
	rec := serve(t, p, http.MethodOptions, wire.PathChat, map[string]string{"Origin": "https://chat.example", "Access-Control-Request-Method": "DELETE"})
	if rec.Code != http.StatusForbidden {
		t.Fatalf("preflight for DELETE: %d", rec.Code)
	}
}

// TestNullOriginOnlyWhenListed: a page opened from a file sends Origin:
// null; it is allowed exactly when null is configured.
func TestNullOriginOnlyWhenListed(t *testing.T) {
	p := cors.New([]string{cors.NullOrigin})
	rec := serve(t, p, http.MethodPost, wire.PathChat, map[string]string{"Origin": "null"})
	if rec.Header().Get("Access-Control-Allow-Origin") != "null" {
		t.Fatalf("null listed: %v", rec.Header())
	}
	rec = serve(t, p, http.MethodPost, wire.PathChat, map[string]string{"Origin": "https://chat.example"})
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("only null listed, another origin got %v", rec.Header())
	}
}
