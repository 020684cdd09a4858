package main

import (
	"strings"
	"testing"

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
