package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The end-to-end tests run the real binary: `sotto serve` on loopback with
// stories260K, and `sotto chat` talking to it. testscript.Main (main_test.go)
// put a `sotto` built from this package on $PATH.

// e2eServer is a running `sotto serve` with its keys and an enrolled device.
type e2eServer struct {
	url       string
	dir       string
	caFile    string       // set for a TLS server
	http      *http.Client // trusts caFile
	pin       string       // the signing key apps pin
	deviceKey string       // path of the enrolled device key
	devicePub string
	cmd       *exec.Cmd
	logs      *testenv.SyncBuffer
}

// sotto runs a short sotto subcommand and returns its trimmed stdout.
func sotto(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("sotto", args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("sotto %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out))
}

func freePort(t *testing.T) int { return testenv.FreePort(t) }

// startServe starts `sotto serve` on stories260K (plain HTTP on loopback)
// and waits until ready.
func startServe(t *testing.T, env ...string) *e2eServer {
	t.Helper()
	return startServeWith(t, nil, env...)
}

// startServeWith starts `sotto serve`; with tlsFiles (cert, key, CA PEM
// paths) it serves HTTPS.
func startServeWith(t *testing.T, tlsFiles *[3]string, env ...string) *e2eServer {
	t.Helper()
	model := testenv.Model(t, "stories260K.gguf")
	dir := t.TempDir()
	keyDir := filepath.Join(dir, "keys")
	allow := filepath.Join(dir, "allow-list")
	s := &e2eServer{dir: dir, deviceKey: filepath.Join(dir, "device.key"), logs: &testenv.SyncBuffer{}}
	sotto(t, "keys", "init", "--dir", keyDir)
	s.pin = sotto(t, "keys", "show", "--dir", keyDir, "--pin")
	s.devicePub = sotto(t, "device", "init", "--out", s.deviceKey)
	sotto(t, "device", "allow", s.devicePub, "--allow-list", allow)

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.url, s.http = "http://"+addr, http.DefaultClient
	if tlsFiles != nil {
		s.url, s.caFile = "https://"+addr, tlsFiles[2]
		s.http = trustingClient(t, tlsFiles[2])
		env = append(env, "SOTTO_TLS_CERT="+tlsFiles[0], "SOTTO_TLS_KEY="+tlsFiles[1])
	}
	s.cmd = exec.Command("sotto", "serve", "--env-file", "")
	s.cmd.Env = append(os.Environ(),
		"ENVIRONMENT=development", "SOTTO_MODEL="+model, "SOTTO_KEY_DIR="+keyDir,
		"SOTTO_DEVICE_POLICY=allowlist", "SOTTO_ALLOW_LIST="+allow, "SOTTO_LISTEN="+addr,
		"SOTTO_SLOTS=2", "SOTTO_CONTEXT=512", "SOTTO_THREADS=1", "LOG_FORMAT=text")
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState != nil { // the test waited for it already
			return
		}
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	})
	s.waitReady(t)
	return s
}

func (s *e2eServer) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.http.Get(s.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready; logs:\n%s", s.logs.Bytes())
}

// chat runs `sotto chat -p` against the server and returns its stdout.
func (s *e2eServer) chat(t *testing.T, prompt string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	all := append([]string{"chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey, "-p", prompt}, args...)
	if s.caFile != "" {
		all = append(all, "--ca-file", s.caFile)
	}
	cmd := exec.CommandContext(ctx, "sotto", all...)
	// The client keeps the held key config across runs: keep it in the test's
	// directory, not the user's.
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sotto chat: %v\nstderr: %s\nserver logs:\n%s", err, stderr.Bytes(), s.logs.Bytes())
	}
	return string(out)
}
