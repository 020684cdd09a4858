package config

import (
	"errors"
	"strings"
	"testing"
)

// varsOf returns the variables named by the VarErrors in err.
func varsOf(err error) []string {
	var out []string
	for _, e := range unwrapAll(err) {
		var ve *VarError
		if errors.As(e, &ve) {
			out = append(out, ve.Var)
		}
	}
	return out
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

var routerBase = map[string]string{
	"SOTTO_ROLE": "router", "INFERENCE_ENDPOINTS": "https://10.0.0.2:8443, https://w3.internal:8443/",
	"SOTTO_TLS_CLIENT_CA": "/ca.pem", "SOTTO_TLS_CLIENT_CERT": "/r.pem", "SOTTO_TLS_CLIENT_KEY": "/r.key",
}

// TestRouterRole: a router needs its workers and mutual-TLS files, gets
// no development key directory, and refuses a model or a key directory
// (it never holds private keys).
func TestRouterRole(t *testing.T) {
	c, err := Load(vars(routerBase))
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyDir != "" || len(c.InferenceEndpoints) != 2 || c.InferenceEndpoints[1] != "https://w3.internal:8443" {
		t.Fatalf("router config: key dir %q, endpoints %v", c.KeyDir, c.InferenceEndpoints)
	}
	bad := map[string]string{"SOTTO_KEY_DIR": "/keys", "SOTTO_MODEL": "/m.gguf", "INFERENCE_ENDPOINTS": "", "SOTTO_TLS_CLIENT_KEY": ""}
	for name, v := range bad {
		m := map[string]string{}
		for k, x := range routerBase {
			m[k] = x
		}
		m[name] = v
		_, err := Load(vars(m))
		if got := varsOf(err); len(got) != 1 || got[0] != name {
			t.Errorf("%s=%q: errors for %v (%v)", name, v, got, err)
		}
	}
}

// TestWorkerRole: a worker listens only with mutual TLS, even on loopback.
func TestWorkerRole(t *testing.T) {
	_, err := Load(vars(base("SOTTO_ROLE", "worker")))
	got := strings.Join(varsOf(err), ",")
	if got != "SOTTO_TLS_CERT,SOTTO_TLS_KEY,SOTTO_TLS_CLIENT_CA" {
		t.Fatalf("errors for %s (%v)", got, err)
	}
	c, err := Load(vars(base("SOTTO_ROLE", "worker", "SOTTO_TLS_CERT", "/c", "SOTTO_TLS_KEY", "/k", "SOTTO_TLS_CLIENT_CA", "/ca",
		"SOTTO_PEER_SPKI", "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=")))
	if err != nil || c.Role != RoleWorker || len(c.PeerSPKI) != 1 || c.PeerSPKI[0][0] != 0xe3 {
		t.Fatalf("worker config %+v: %v", c.PeerSPKI, err)
	}
}

// TestWorkerPins: a worker URL may carry that worker's own SPKI pin; a
// fragment that is not one pin is refused.
func TestWorkerPins(t *testing.T) {
	var u URLs
	const pin = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
	if err := u.UnmarshalText([]byte("https://10.0.0.2:8443#spki=" + pin + ", https://10.0.0.3:8443")); err != nil {
		t.Fatal(err)
	}
	base, pins := URLPin(u[0])
	if base != "https://10.0.0.2:8443" || len(pins) != 1 || pins[0][0] != 0xe3 {
		t.Fatalf("first worker: %q %x", base, pins)
	}
	if base, pins := URLPin(u[1]); base != "https://10.0.0.3:8443" || pins != nil {
		t.Fatalf("second worker: %q %x", base, pins)
	}
	for _, bad := range []string{"https://w:1#x", "https://w:1#spki=c2hvcnQ", "https://w:1#spki=" + pin + "," + pin} {
		if err := u.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestMultiNodeValuesRefused: malformed URLs and pins name the variable
// only, and single-node processes refuse multi-node settings.
func TestMultiNodeValuesRefused(t *testing.T) {
	for name, v := range map[string]string{
		"INFERENCE_ENDPOINTS": "http://plain:80", "SOTTO_PEER_SPKI": "c2hvcnQ=", "SOTTO_ROLE": "edge",
		"REDIS_URL": "redis://r:6379", "SOTTO_TLS_CLIENT_CA": "/ca.pem", "SOTTO_SHARED_SECRET_FILE": "/s",
	} {
		_, err := Load(vars(base(name, v)))
		if got := varsOf(err); len(got) != 1 || got[0] != name || strings.Contains(err.Error(), v) {
			t.Errorf("%s=%q: %v", name, v, err)
		}
	}
}
