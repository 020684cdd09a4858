package buildtest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestWorkerUnitSandboxServes starts sotto-worker.service's exact
// ExecStart under the unit's restrictions, as TestUnitSandboxServes does
// for the single node, with the unit's Environment= and only the paths,
// the listen address (loopback instead of wg0, since the test has no
// tunnel) and test certificates replaced. The worker must answer over
// mutual TLS only: readiness, /api/capacity and an end-to-end encrypted
// chat with a router's client certificate, and a handshake refused
// without one.
func TestWorkerUnitSandboxServes(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	testenv.RequireRoot(t, "the sandbox test mounts /proc and changes user")
	u := mustUnit(t, "sotto-worker.service")
	srv := prepareServer(t, u)
	ca := testenv.NewCA(t, "sotto cluster")
	tlsDir := filepath.Join(srv.dir, "tls")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	caPath := ca.WriteCA(t, tlsDir, "root_ca.crt")
	cert, key, _ := ca.Issue(t, tlsDir, "worker")
	giveToNobody(t, tlsDir, "")
	routerCert, routerKey, _ := ca.Issue(t, t.TempDir(), "router")
	addr := freeLoopback(t)
	env := append(srv.env, "SOTTO_LISTEN="+addr, "SOTTO_TLS_CERT="+cert, "SOTTO_TLS_KEY="+key, "SOTTO_TLS_CLIENT_CA="+caPath)

	sb := unitSandbox(t, analyze, u, srv.binary, srv.dir)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(env, sandboxVar+"="+sb.encode())
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	logs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer stopServer(t, cmd, exited)

	base := "https://" + addr
	hc := mutualClient(t, ca.PEM, routerCert, routerKey)
	waitReadyAt(t, hc, base, logs, exited)
	checkConfined(t, cmd.Process.Pid)
	checkCapacity(t, hc, base)
	if reply := chatOnce(t, hc, base, srv); len(reply) == 0 {
		t.Fatalf("empty reply; logs:\n%s", logs.Bytes())
	}
	if resp, err := mutualClient(t, ca.PEM, "", "").Get(base + "/health/ready"); err == nil {
		resp.Body.Close()
		t.Fatalf("worker answered %d to a client without a certificate", resp.StatusCode)
	}
}

// mutualClient is an HTTPS client trusting caPEM that presents the
// certificate pair (none when certPath is empty).
func mutualClient(t *testing.T, caPEM []byte, certPath, keyPath string) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}
	if certPath != "" {
		pair, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
}

// checkCapacity requires the worker's capacity document: JSON with the
// one slot the test configures.
func checkCapacity(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	resp, err := hc.Get(base + "/api/capacity")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Ready bool `json:"ready"`
		Slots int  `json:"slots"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK || !doc.Ready || doc.Slots != 1 {
		t.Fatalf("/api/capacity: %d %+v (%v), want ready with 1 slot", resp.StatusCode, doc, err)
	}
}
