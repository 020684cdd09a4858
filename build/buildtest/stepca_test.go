package buildtest

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// stepInstall is how .ci/run installs step and step-ca, which Debian does
// not package (keep the versions in step with .ci/run).
const stepInstall = "go install github.com/smallstep/cli/cmd/step@v0.30.2 && " +
	"go install github.com/smallstep/certificates/cmd/step-ca@v0.30.2"

// stepTools returns the paths of smallstep's step and step-ca, or skips
// with the command that installs them; in CI, where .ci/run installs
// them into bin/tools, a missing one fails.
func stepTools(t *testing.T) (step, stepCA string) {
	t.Helper()
	step, err1 := exec.LookPath("step")
	stepCA, err2 := exec.LookPath("step-ca")
	if err1 != nil || err2 != nil {
		if testenv.InCI() {
			t.Fatal("buildtest: step or step-ca not on PATH: .ci/run must install them (" + stepInstall + ")")
		}
		t.Skip("buildtest: step and step-ca not found (not packaged by Debian; " + stepInstall + ")")
	}
	return step, stepCA
}

// TestStepCAIssuesAndRenews runs docs/deployment.md's step-ca commands
// against a real step-ca on loopback: init, 24-hour certificates for the
// router (provisioner password) and a worker (one-time token), checks
// that sotto's mutual-TLS configurations (server/tlsreload) accept them
// in a handshake, then runs sotto-cert-renew@worker.service's own
// ExecCondition (no renewal yet) and ExecStart (forced renewal: a new
// certificate for the same key), and that a reload serves the new one.
func TestStepCAIssuesAndRenews(t *testing.T) {
	step, stepCA := stepTools(t)
	tlsDir, caURL, env := issueClusterCerts(t, step, stepCA)

	first := leaf(t, filepath.Join(tlsDir, "worker.crt"))
	if life := first.NotAfter.Sub(first.NotBefore); life < 24*time.Hour || life > 24*time.Hour+5*time.Minute {
		t.Errorf("worker certificate lives %v, want 24 h", life)
	}
	workerCert, err := tlsreload.NewCertReloader(filepath.Join(tlsDir, "worker.crt"), filepath.Join(tlsDir, "worker.key"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := handshake(t, tlsDir, workerCert); got.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("handshake served serial %v, want %v", got.SerialNumber, first.SerialNumber)
	}

	renewal := renewalCommands(t, "worker", tlsDir, caURL, step)
	if err := runUnitCommand(renewal["ExecCondition"], env); err == nil {
		t.Error("ExecCondition: a fresh certificate needs renewal?")
	}
	// The same command line does answer "renew" for a certificate that
	// expires within the window, so the refusal above is not a bad path.
	if err := runUnitCommand(append(renewal["ExecCondition"], "--expires-in", "25h"), env); err != nil {
		t.Errorf("ExecCondition --expires-in 25h: %v, want renewal needed", err)
	}
	if err := runUnitCommand(renewal["ExecStart"], env); err != nil {
		t.Fatalf("ExecStart (step ca renew): %v", err)
	}
	renewed := leaf(t, filepath.Join(tlsDir, "worker.crt"))
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 || !renewed.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(first.PublicKey) {
		t.Fatalf("renewal: serial %v (was %v); same key wanted, so SOTTO_PEER_SPKI pins survive", renewed.SerialNumber, first.SerialNumber)
	}
	if err := workerCert.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := handshake(t, tlsDir, workerCert); got.SerialNumber.Cmp(renewed.SerialNumber) != 0 {
		t.Fatalf("after reload the worker serves serial %v, want the renewed %v", got.SerialNumber, renewed.SerialNumber)
	}
}

// issueClusterCerts creates a CA with step ca init, runs step-ca, and
// issues the router's certificate (provisioner password) and worker
// 10.77.0.11's (one-time token) into tls/ as docs/deployment.md does. It
// returns that directory, the CA's URL and the environment for step.
func issueClusterCerts(t *testing.T, step, stepCA string) (tlsDir, caURL string, env []string) {
	t.Helper()
	dir := t.TempDir()
	tlsDir = filepath.Join(dir, "tls")
	pw := filepath.Join(dir, "password")
	if err := os.Mkdir(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pw, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "STEPPATH="+filepath.Join(dir, "step"))
	addr := freeLoopback(t)
	sh := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(step, args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("step %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out))
	}
	sh("ca", "init", "--deployment-type", "standalone", "--name", "Sotto cluster", "--dns", "127.0.0.1", "--address", addr,
		"--provisioner", "sotto", "--password-file", pw, "--provisioner-password-file", pw)
	sh("ca", "provisioner", "update", "sotto", "--x509-default-dur", "24h", "--x509-max-dur", "24h", "--x509-min-dur", "1h")
	startStepCA(t, stepCA, env, filepath.Join(dir, "step"), pw, addr)
	root := filepath.Join(tlsDir, "root_ca.crt")
	if err := os.Link(filepath.Join(dir, "step", "certs", "root_ca.crt"), root); err != nil {
		t.Fatal(err)
	}
	sh("ca", "certificate", "sotto-router", filepath.Join(tlsDir, "router.crt"), filepath.Join(tlsDir, "router.key"),
		"--provisioner", "sotto", "--provisioner-password-file", pw, "--not-after", "24h")
	token := sh("ca", "token", "10.77.0.11", "--san", "10.77.0.11", "--provisioner", "sotto", "--provisioner-password-file", pw)
	sh("ca", "certificate", "10.77.0.11", filepath.Join(tlsDir, "worker.crt"), filepath.Join(tlsDir, "worker.key"),
		"--token", token, "--ca-url", "https://"+addr, "--root", root, "--not-after", "24h")

	return tlsDir, "https://" + addr, env
}

// startStepCA runs step-ca until the test ends and waits for its health
// endpoint.
func startStepCA(t *testing.T, stepCA string, env []string, stepPath, pw, addr string) {
	t.Helper()
	cmd := exec.Command(stepCA, filepath.Join(stepPath, "config", "ca.json"), "--password-file", pw)
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("step-ca did not listen")
}

// leaf parses the first certificate of a PEM file.
func leaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs one mutual-TLS handshake between a worker listener
// (tlsreload.ServerMTLS with worker) and a router client
// (tlsreload.ClientMTLS with tlsDir/router.crt) dialling the worker as
// 10.77.0.11, and returns the certificate the worker served.
func handshake(t *testing.T, tlsDir string, worker *tlsreload.CertReloader) *x509.Certificate {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	pool, err := tlsreload.NewPoolReloader(filepath.Join(tlsDir, "root_ca.crt"), log)
	if err != nil {
		t.Fatal(err)
	}
	router, err := tlsreload.NewCertReloader(filepath.Join(tlsDir, "router.crt"), filepath.Join(tlsDir, "router.key"), log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsreload.ServerMTLS(worker, pool, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			err = c.(*tls.Conn).Handshake()
			c.Close()
		}
		served <- err
	}()
	cfg := tlsreload.ClientMTLS(router, pool, nil, "10.77.0.11")
	c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("router handshake: %v", err)
	}
	defer c.Close()
	if err := <-served; err != nil {
		t.Fatalf("worker handshake: %v", err)
	}
	return c.ConnectionState().PeerCertificates[0]
}

// renewalCommands returns sotto-cert-renew@.service's ExecCondition and
// ExecStart for instance, with its paths moved to tlsDir and the CA URL
// and step binary of the test.
func renewalCommands(t *testing.T, instance, tlsDir, caURL, step string) map[string][]string {
	t.Helper()
	u := mustUnit(t, "sotto-cert-renew@.service")
	r := strings.NewReplacer("%i", instance, "/etc/sotto/tls", tlsDir, "${STEP_CA_URL}", caURL, "/usr/bin/step", step)
	out := map[string][]string{}
	for _, k := range []string{"ExecCondition", "ExecStart"} {
		out[k] = strings.Fields(r.Replace(u.last("Service." + k)))
		if len(out[k]) < 2 || out[k][0] != step {
			t.Fatalf("%s = %q", k, u.last("Service."+k))
		}
	}
	return out
}

func runUnitCommand(argv, env []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	return cmd.Run()
}
