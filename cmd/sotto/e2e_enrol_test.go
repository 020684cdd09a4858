package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EEnrolmentRevoked: a real sotto serve with the attested policy
// serves an enrolled device; after the operator revokes the device and
// sends SIGHUP, the device can no longer enrol (403 attestation, code
// revoked); lifting the rule lets it enrol again. (Credentials already
// issued are refused too: enrol.TestSoftwareEnrolmentAndPolicy.)
func TestE2EEnrolmentRevoked(t *testing.T) {
	revoked := filepath.Join(t.TempDir(), "revoked")
	if err := os.WriteFile(revoked, []byte("# nothing revoked\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, "SOTTO_DEVICE_POLICY=attested", "SOTTO_ENROL_SOFTWARE=true", "SOTTO_ENROL_REVOKED="+revoked)
	chat := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sotto", "chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey,
			"--enrol-software", "--temperature", "0", "--max-tokens", "4", "--quiet", "-p", "Once upon a time")
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		_, err := cmd.Output()
		return stderr.String(), err
	}
	if stderr, err := chat(); err != nil {
		t.Fatalf("enrolled device refused: %v\n%s", err, stderr)
	}
	hup := func(rules string) {
		t.Helper()
		if err := os.WriteFile(revoked, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		before := strings.Count(string(s.logs.Bytes()), "reloaded")
		if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for i := 0; strings.Count(string(s.logs.Bytes()), "reloaded") == before; i++ {
			if i == 500 {
				t.Fatal("no reload after SIGHUP")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	hup("device " + s.devicePub + "\n")
	stderr, err := chat()
	if err == nil || !strings.Contains(stderr, "403 attestation (code revoked)") {
		t.Fatalf("revoked device: err %v, stderr %q", err, stderr)
	}
	hup("")
	if stderr, err := chat(); err != nil {
		t.Fatalf("device after the rule was lifted: %v\n%s", err, stderr)
	}
}
