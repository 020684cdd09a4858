package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/problem"
)

// runChatCmd runs `sotto chat args...` in-process against s with stdin,
// and returns stdout, stderr and the error.
func runChatCmd(t *testing.T, s *clienttest.Server, stdin string, args ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "device.key")
	budget := locked.NewBudget(1 << 20)
	priv, err := device.GenerateEd25519(rand.Reader, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer priv.Destroy()
	if err := device.WriteKeyFile(keyFile, ed25519.PrivateKey(priv.Bytes()), budget); err != nil {
		t.Fatal(err)
	}
	// Flags keep their values between in-process runs: reset them.
	chatCmd.Flags().VisitAll(func(f *pflag.Flag) {
		_ = f.Value.Set(f.DefValue)
		f.Changed = false
	})
	pin := "ed25519:" + base64.RawURLEncoding.EncodeToString(s.SigningKey())
	all := append([]string{"chat", "--server", s.URL, "--pin", pin, "--device-key", keyFile,
		"--state", filepath.Join(dir, "keyconfig.json")}, args...)
	var out, errOut bytes.Buffer
	rootCmd.SetArgs(all)
	rootCmd.SetIn(strings.NewReader(stdin))
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	defer func() { rootCmd.SetIn(nil); rootCmd.SetOut(nil); rootCmd.SetErr(nil) }()
	err = rootCmd.Execute()
	return out.String(), errOut.String(), err
}

func TestChatOneShot(t *testing.T) {
	s := clienttest.New(t)
	out, errOut, err := runChatCmd(t, s, "", "-p", "Say hello", "--system", "Be brief.",
		"--max-tokens", "32", "--temperature", "0.25", "--seed", "7", "--verbose")
	if err != nil {
		t.Fatalf("chat: %v (stderr %q)", err, errOut)
	}
	if out != "Hello, world.\n" {
		t.Errorf("stdout = %q", out)
	}
	// --verbose adds the finish line; then the numbers of every reply.
	if !regexp.MustCompile(`^\[finish stop, prompt tokens 7, completion tokens 2\]\n\[2 tokens, first token [0-9]+ ms, [0-9.]+ tokens/s\]\n$`).MatchString(errOut) {
		t.Errorf("stderr = %q", errOut)
	}
	want := `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}],"max_tokens":32,"temperature":0.25,"seed":7,"shape":"constant"}`
	if rec := s.Received(); len(rec) != 1 || rec[0].Inner != want {
		t.Errorf("requests = %+v, want one with %s", rec, want)
	}
}

func TestChatInteractiveKeepsHistory(t *testing.T) {
	s := clienttest.New(t)
	out, errOut, err := runChatCmd(t, s, "first question\n\nsecond question\n/exit\nnever sent\n", "--suite", "xwing", "--quiet")
	if err != nil {
		t.Fatalf("chat: %v (stderr %q)", err, errOut)
	}
	if out != "Hello, world.\nHello, world.\n" || errOut != "" {
		t.Errorf("stdout = %q, stderr = %q", out, errOut)
	}
	rec := s.Received()
	if len(rec) != 2 {
		t.Fatalf("%d requests, want 2", len(rec))
	}
	want := `{"messages":[{"role":"user","content":"first question"},{"role":"assistant","content":"Hello, world."},{"role":"user","content":"second question"}],"shape":"constant"}`
	inner, secret := splitCache(rec[1].Inner)
	if inner != want || rec[1].Suite != crypto.SuiteXWing {
		t.Errorf("second request = %s (%s), want %s (xwing)", rec[1].Inner, rec[1].Suite, want)
	}
	// Both turns name the same conversation, so the server can reuse the
	// first turn's prompt.
	if _, s1 := splitCache(rec[0].Inner); secret == "" || s1 != secret {
		t.Errorf("conversation secrets %q then %q, want one and the same", s1, secret)
	}
}

// splitCache removes the cache member (docs/protocol.md 3.2.1) from an
// inner request and returns the rest and the secret ("" without one).
func splitCache(inner string) (rest, secret string) {
	re := regexp.MustCompile(`,"cache":\{"secret":"([A-Za-z0-9_-]{22})"\}`)
	m := re.FindStringSubmatch(inner)
	if m == nil {
		return inner, ""
	}
	return re.ReplaceAllString(inner, ""), m[1]
}

// TestChatNoCache: with --no-cache no request carries a cache member.
func TestChatNoCache(t *testing.T) {
	s := clienttest.New(t)
	if _, errOut, err := runChatCmd(t, s, "one\ntwo\n", "--quiet", "--no-cache"); err != nil {
		t.Fatalf("chat: %v (stderr %q)", err, errOut)
	}
	rec := s.Received()
	if len(rec) != 2 {
		t.Fatalf("%d requests, want 2", len(rec))
	}
	for _, r := range rec {
		if strings.Contains(r.Inner, `"cache"`) {
			t.Errorf("request with --no-cache: %s", r.Inner)
		}
	}
}

func TestChatInteractiveFailedTurn(t *testing.T) {
	s := clienttest.New(t)
	s.QueueProblems(problem.New(problem.Device))
	out, errOut, err := runChatCmd(t, s, "secret one\nsecret two\n", "--quiet")
	if err == nil || err.Error() != "chat: 1 turn(s) failed" {
		t.Fatalf("err = %v", err)
	}
	if out != "Hello, world.\n" {
		t.Errorf("stdout = %q", out)
	}
	wantErr := regexp.MustCompile(`^sotto: client: server refused the request: 401 device\n` +
		`  what happened: this device is not enrolled on the server \(its key is not on the allow-list\)\n` +
		`  what to do: on the server, run:\n` +
		`    sotto device allow ed25519:[A-Za-z0-9_-]{43} --allow-list <the server's SOTTO_ALLOW_LIST file>\n` +
		`  then retry: the server re-reads its allow-list within a second of the change \(no restart, no SIGHUP\)\n$`)
	if !wantErr.MatchString(errOut) || strings.Contains(errOut, "secret") {
		t.Errorf("stderr = %q, want %s", errOut, wantErr)
	}
	// The failed turn is not in the history.
	want := `{"messages":[{"role":"user","content":"secret two"}],"shape":"constant"}`
	if rec := s.Received(); len(rec) != 1 || first(splitCache(rec[0].Inner)) != want {
		t.Errorf("requests = %+v, want one with %s", rec, want)
	}
}

func TestChatGenerationError(t *testing.T) {
	s := clienttest.New(t)
	s.SetReply(clienttest.Reply{Deltas: []string{"Hel"}, Final: crypto.Final{Reason: "error", ErrorCode: "engine_failed"}})
	out, _, err := runChatCmd(t, s, "", "-p", "hi")
	if err == nil || err.Error() != "chat: generation failed on the server (code engine_failed)\n"+
		"  what happened: the server stopped generating (code engine_failed)\n  what to do: retry" {
		t.Fatalf("err = %v", err)
	}
	if out != "Hel\n" {
		t.Errorf("stdout = %q", out)
	}
}

// TestChatReset: /reset forgets the conversation (the system message
// stays); the next turn sends only itself.
func TestChatReset(t *testing.T) {
	s := clienttest.New(t)
	_, errOut, err := runChatCmd(t, s, "one\n/reset\ntwo\n", "--quiet", "--system", "Be brief.")
	if err != nil || errOut != "[conversation cleared]\n" {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	want := `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"two"}],"shape":"constant"}`
	rec := s.Received()
	if len(rec) != 2 || first(splitCache(rec[1].Inner)) != want {
		t.Fatalf("requests = %+v, want the second with %s", rec, want)
	}
	// /reset also forgets the conversation's secret.
	_, before := splitCache(rec[0].Inner)
	_, after := splitCache(rec[1].Inner)
	if before == "" || after == "" || before == after {
		t.Errorf("secrets before and after /reset: %q, %q", before, after)
	}
}

func first(s, _ string) string { return s }
