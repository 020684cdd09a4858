package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

var updateDocs = flag.Bool("update", false, "rewrite the configuration reference in docs/operations.md")

// Markers around the generated reference in docs/operations.md.
const (
	refBegin = "<!-- BEGIN configuration reference: generated from server/config (go test ./server/config -run TestReferenceInDocs -update) -->\n"
	refEnd   = "<!-- END configuration reference -->\n"
)

// TestEveryVariableDocumented requires a meaning for exactly the
// variables Config reads.
func TestEveryVariableDocumented(t *testing.T) {
	vars := Variables()
	for _, v := range vars {
		if docs[v].meaning == "" {
			t.Errorf("%s has no meaning in docs (server/config/reference.go)", v)
		}
	}
	for v := range docs {
		if !slices.Contains(vars, v) {
			t.Errorf("docs describes %s, which Config does not read", v)
		}
	}
}

// TestReferenceInDocs compares the reference in docs/operations.md with
// Reference(), so the documentation cannot drift from the settings type.
func TestReferenceInDocs(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "docs", "operations.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	before, rest, ok1 := strings.Cut(doc, refBegin)
	current, after, ok2 := strings.Cut(rest, refEnd)
	if !ok1 || !ok2 {
		t.Fatalf("docs/operations.md lacks the markers %q and %q", refBegin, refEnd)
	}
	want := Reference()
	if current == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(before+refBegin+want+refEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/operations.md's configuration reference is stale; run go test ./server/config -run TestReferenceInDocs -update")
}

// TestCheckReportsEverything feeds Check several bad variables: every one
// is reported once, without its value, and the variables that parsed are
// in the returned configuration.
func TestCheckReportsEverything(t *testing.T) {
	const secret = "s3cr3t-value"
	cfg, err := Check(vars(map[string]string{
		"ENVIRONMENT": "production", "SOTTO_SLOTS": secret, "POW_BITS": "99",
		"SOTTO_DEVICE_POLICY": "open", "SOTTO_CONTEXT": "4096",
	}))
	if err == nil {
		t.Fatal("Check accepted a broken configuration")
	}
	var got []string
	for _, e := range flatten(err) {
		var ve *VarError
		if !errors.As(e, &ve) {
			t.Fatalf("not a *VarError: %v", e)
		}
		got = append(got, ve.Var)
	}
	want := []string{"SOTTO_SLOTS", "SOTTO_DEVICE_POLICY", "POW_BITS", "SOTTO_MODEL", "SOTTO_KEY_DIR", "SOTTO_METRICS_LISTEN"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("reported %v, want %v", got, want)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error echoes a value: %v", err)
	}
	if cfg.Context != 4096 || cfg.Environment != Production {
		t.Errorf("Check lost the variables that parsed: %+v", cfg)
	}
}

// TestEffectiveMasksSecrets prints a configuration with a Redis password
// (refused for a single node, but printed all the same): the value is
// masked, the others are written as their variables read.
func TestEffectiveMasksSecrets(t *testing.T) {
	cfg, err := Check(vars(base("REDIS_URL", "redis://u:hunter2@10.0.0.9:6379", "SOTTO_TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1",
		"SOTTO_LISTEN", "unix:/run/sotto/sotto.sock", "LOG_LEVEL", "warn")))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Check: %v; want the REDIS_URL refusal without the value", err)
	}
	got := map[string]string{}
	for _, s := range Effective(cfg) {
		got[s.Var] = s.Value
	}
	want := map[string]string{
		"REDIS_URL": "********", "SOTTO_TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1/32",
		"SOTTO_LISTEN": "unix:/run/sotto/sotto.sock", "LOG_LEVEL": "warn", "POW_AUTO_THRESHOLD": "0.8",
		"STREAMING_ENABLED": "true", "SOTTO_SLOTS": "4", "SOTTO_TLS_CERT": "", "SOTTO_ROLE": "all",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(Variables()) {
		t.Errorf("Effective printed %d variables, Config reads %d", len(got), len(Variables()))
	}
}

// TestEnvExamplesValid loads the repository's .env.development and
// .env.production examples: both must be valid configurations of their
// environment.
func TestEnvExamplesValid(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	for file, want := range map[string]Environment{".env.development": Development, ".env.production": Production} {
		lookup, err := WithDotEnv(none, filepath.Join(testenv.RepoRoot(t), file))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(lookup)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if cfg.Environment != want || !cfg.MetricsListen.IsLocal() {
			t.Errorf("%s: environment %s, metrics on %s; want %s and a local metrics listener", file, cfg.Environment, cfg.MetricsListen, want)
		}
	}
}
