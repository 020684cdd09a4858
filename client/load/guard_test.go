package load

import (
	"errors"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

// TestCheckTarget: loopback and private addresses pass, public ones need
// the explicit flag.
func TestCheckTarget(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://[::1]:1", "https://10.1.2.3", "http://192.168.0.9",
		"http://172.16.5.5", "http://[fd00::1]", "http://localhost:9"} {
		if err := CheckTarget(t.Context(), ok, false); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://8.8.8.8", "https://[2001:4860::8888]", "http://1.1.1.1:443"} {
		if err := CheckTarget(t.Context(), bad, false); !errors.Is(err, ErrPublicTarget) {
			t.Errorf("%s: %v, want ErrPublicTarget", bad, err)
		}
		if err := CheckTarget(t.Context(), bad, true); err != nil {
			t.Errorf("%s allowed: %v", bad, err)
		}
	}
	if err := CheckTarget(t.Context(), "not a url", true); err == nil {
		t.Error("a relative URL passed")
	}
}
