package config

import (
	"testing"
)

// TestEnrolRules: each enrolment setting's refusal, word for word, and a
// valid attested configuration.
func TestEnrolRules(t *testing.T) {
	prod := []string{"ENVIRONMENT", "production", "SOTTO_KEY_DIR", "/k", "SOTTO_METRICS_LISTEN", "127.0.0.1:9100", "SOTTO_DEVICE_POLICY", "attested", "SOTTO_ENROL_APPLE_APP_IDS", "ABCDE12345.com.example.app"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no platform", base("SOTTO_DEVICE_POLICY", "attested"),
			"config: SOTTO_DEVICE_POLICY: attested needs SOTTO_ENROL_APPLE_APP_IDS, SOTTO_ENROL_ANDROID_PACKAGES or (development) SOTTO_ENROL_SOFTWARE"},
		{"team without list", base(append(prod[:6:6], "SOTTO_DEVICE_POLICY", "attested+allowlist", "SOTTO_ENROL_APPLE_APP_IDS", "ABCDE12345.com.example.app")...),
			"config: SOTTO_ALLOW_LIST: required when SOTTO_DEVICE_POLICY is attested+allowlist"},
		{"app id", base("SOTTO_ENROL_APPLE_APP_IDS", "com.example.app"), "config: SOTTO_ENROL_APPLE_APP_IDS: must be App IDs: <10-character team ID>.<bundle ID>"},
		{"app id syntax", base("SOTTO_ENROL_APPLE_APP_IDS", "a b"), "config: SOTTO_ENROL_APPLE_APP_IDS: must be a comma-separated list of identifiers (letters, digits, '.', '_', '-')"},
		{"packages without keys", base("SOTTO_ENROL_ANDROID_PACKAGES", "com.example.app"), "config: SOTTO_ENROL_ANDROID_PACKAGES: needs SOTTO_ENROL_ANDROID_KEYS (the Play Integrity response keys)"},
		{"keys without packages", base("SOTTO_ENROL_ANDROID_KEYS", "/keys"), "config: SOTTO_ENROL_ANDROID_KEYS: set without SOTTO_ENROL_ANDROID_PACKAGES"},
		{"development in production", base(append(prod, "SOTTO_ENROL_DEVELOPMENT", "true")...), "config: SOTTO_ENROL_DEVELOPMENT: refused in production (development-signed apps prove less)"},
		{"software in production", base(append(prod, "SOTTO_ENROL_SOFTWARE", "true")...), "config: SOTTO_ENROL_SOFTWARE: refused in production (the software attester proves nothing about the device)"},
		{"ttl", base("SOTTO_ENROL_TTL_SECONDS", "59"), "config: SOTTO_ENROL_TTL_SECONDS: must be between 60 and 2592000 (30 days)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(vars(tc.env))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err %v\nwant %s", err, tc.want)
			}
		})
	}
	if _, err := Load(vars(base(prod...))); err != nil {
		t.Fatalf("production attested: %v", err)
	}
	router := base("SOTTO_ROLE", "router", "SOTTO_MODEL", "", "INFERENCE_ENDPOINTS", "https://10.0.0.2:8443", "SOTTO_TLS_CLIENT_CA", "/ca",
		"SOTTO_TLS_CLIENT_CERT", "/c", "SOTTO_TLS_CLIENT_KEY", "/k", "SOTTO_DEVICE_POLICY", "attested")
	if _, err := Load(vars(router)); err != nil {
		t.Fatalf("router relaying enrolment: %v", err)
	}
	c, err := Load(vars(base("SOTTO_DEVICE_POLICY", "attested+allowlist", "SOTTO_ENROL_SOFTWARE", "true")))
	if err != nil || c.AllowList != DevAllowList {
		t.Fatalf("development team policy: %q, %v", c.AllowList, err)
	}
}
