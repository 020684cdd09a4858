package main

import (
	"os"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/modelpull"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/config"
)

// TestDoctorRedisPolicy: against a real redis-server, the doctor passes
// noeviction and fails volatile-lru and a Redis that does not answer.
func TestDoctorRedisPolicy(t *testing.T) {
	_, good := testenv.Redis(t, "--maxmemory-policy", "noeviction")
	_, bad := testenv.Redis(t, "--maxmemory-policy", "volatile-lru")
	for _, tc := range []struct{ url, want string }{
		{"redis://" + good + "/0", "ok   redis: " + good + ": maxmemory-policy noeviction"},
		{"redis://" + bad + "/0", "FAIL redis: maxmemory-policy is not noeviction"},
		{"redis://127.0.0.1:1/0", "FAIL redis: 127.0.0.1:1 does not answer"},
	} {
		got := checkRedis(config.Config{Role: config.RoleRouter, RedisURL: tc.url}).String()
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: %q, want prefix %q", tc.url, got, tc.want)
		}
	}
}

// TestDoctorModelHash: with SOTTO_MODEL_SHA256 the model line checks the
// file's hash (issue 17, item 9).
func TestDoctorModelHash(t *testing.T) {
	model := testenv.Model(t, "stories260K.gguf")
	f, err := os.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	_, sum, _ := modelpull.SHA256(f)
	f.Close()
	h := fakeHost(t, healthyProc, 0, "")
	if got := h.checkModel(model, false, strings.ToUpper(sum)).String(); !strings.HasPrefix(got, "ok   model: ") || !strings.HasSuffix(got, "sha256 as pinned") {
		t.Errorf("pinned model: %s", got)
	}
	other := strings.Repeat("0", 64)
	if got := h.checkModel(model, false, other).String(); !strings.HasPrefix(got, "FAIL model: "+model+" does not have the sha256 SOTTO_MODEL_SHA256 pins (sha256 "+sum+")") {
		t.Errorf("changed model: %s", got)
	}
}
