package config

import (
	"slices"
	"testing"
)

// TestCORSOrigins: off by default; exact origins and "null" only when
// listed; anything a browser would never send as Origin is refused
// without echoing the value.
func TestCORSOrigins(t *testing.T) {
	cfg, err := Load(vars(base()))
	if err != nil || cfg.CORSOrigins != nil {
		t.Fatalf("default: %v, %v", cfg.CORSOrigins, err)
	}
	cfg, err = Load(vars(base("SOTTO_CORS_ORIGINS", " null, https://chat.example ,http://localhost:5173,,https://[::1]:8443")))
	want := []string{"null", "https://chat.example", "http://localhost:5173", "https://[::1]:8443"}
	if err != nil || !slices.Equal(cfg.CORSOrigins, want) {
		t.Fatalf("got %q, %v; want %q", cfg.CORSOrigins, err, want)
	}
	for _, bad := range []string{
		"*", "https://chat.example/", "https://chat.example/app", "https://Chat.example", "HTTPS://chat.example",
		"chat.example", "file://", "ftp://chat.example", "https://chat.example:443", "http://chat.example:80",
		"https://user@chat.example", "https://chat.example?x=1", "Null",
	} {
		_, err := Load(vars(base("SOTTO_CORS_ORIGINS", "https://ok.example,"+bad)))
		const msg = "config: SOTTO_CORS_ORIGINS: must be a comma-separated list of origins (https://host[:port], as a browser sends them) or null"
		if err == nil || err.Error() != msg {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
