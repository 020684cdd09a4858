package main

import (
	"testing"

	"github.com/sottolabs/sotto/internal/node"
	"github.com/sottolabs/sotto/server/config"
)

// TestLogFormat: text at a terminal in development, JSON under systemd (no
// terminal), in production, or when asked; text when asked.
func TestLogFormat(t *testing.T) {
	for _, tc := range []struct {
		env, format string
		terminal    bool
		json        bool
	}{
		{"development", "", true, false},
		{"development", "", false, true},
		{"development", "json", true, true},
		{"development", "text", false, false},
		{"production", "", true, true},
		{"production", "text", false, false},
	} {
		vars := map[string]string{"ENVIRONMENT": tc.env, "LOG_FORMAT": tc.format, "SOTTO_MODEL": "/m",
			"SOTTO_KEY_DIR": "/k", "SOTTO_ALLOW_LIST": "/a", "SOTTO_METRICS_LISTEN": "127.0.0.1:9100"}
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok && v != "" })
		if err != nil {
			t.Fatal(err)
		}
		if got := logJSON(node.PlanFor(cfg).Log, tc.terminal); got != tc.json {
			t.Errorf("%s LOG_FORMAT=%q terminal=%v: json=%v, want %v", tc.env, tc.format, tc.terminal, got, tc.json)
		}
	}
}
