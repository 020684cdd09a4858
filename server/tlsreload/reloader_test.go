package tlsreload

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// pair is a self-signed test certificate and its key in PEM.
type pair struct {
	serial          int64
	certPEM, keyPEM []byte
	cert            *x509.Certificate
}

func newPair(t *testing.T, serial int64) pair {
	t.Helper()
	c := testenv.LoopbackCert(t, serial)
	return pair{serial: serial, certPEM: c.CertPEM, keyPEM: c.KeyPEM, cert: c.Cert}
}

// writeAtomic replaces path by renaming a new file over it, as certbot
// and secret mounts do.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

type fixture struct {
	certFile, keyFile string
	roots             *x509.CertPool
	addr              string
	r                 *CertReloader
	logs              *bytes.Buffer
}

// start writes p, builds a reloader and serves HTTPS on loopback.
func start(t *testing.T, p pair) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{
		certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"),
		roots: x509.NewCertPool(), logs: &bytes.Buffer{},
	}
	f.install(t, p)
	r, err := NewCertReloader(f.certFile, f.keyFile, slog.New(slog.NewTextHandler(f.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f.r = r
	ln, err := tls.Listen("tcp", "127.0.0.1:0", r.TLSConfig())
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, req.Proto)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return f
}

func (f *fixture) install(t *testing.T, p pair) {
	t.Helper()
	f.roots.AddCert(p.cert)
	writeAtomic(t, f.keyFile, p.keyPEM)
	writeAtomic(t, f.certFile, p.certPEM)
}

// handshake connects afresh and returns the server certificate's serial.
func (f *fixture) handshake(t *testing.T) (int64, tls.ConnectionState) {
	t.Helper()
	conn, err := tls.Dial("tcp", f.addr, &tls.Config{RootCAs: f.roots, ServerName: "localhost", NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return st.PeerCertificates[0].SerialNumber.Int64(), st
}

func TestHandshakeAndSwap(t *testing.T) {
	f := start(t, newPair(t, 1))
	serial, st := f.handshake(t)
	if serial != 1 || st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "h2" {
		t.Fatalf("serial %d, version %x, alpn %q", serial, st.Version, st.NegotiatedProtocol)
	}
	if f.r.Check() {
		t.Fatal("Check reloaded unchanged files")
	}
	f.install(t, newPair(t, 2))
	if !f.r.Check() {
		t.Fatal("Check missed the new files")
	}
	if serial, _ := f.handshake(t); serial != 2 {
		t.Fatalf("after swap: serial %d, want 2", serial)
	}
	if f.r.Certificate().Leaf.SerialNumber.Int64() != 2 {
		t.Fatal("Certificate().Leaf is stale")
	}
}

func TestFailedReloadKeepsCertificate(t *testing.T) {
	p1 := newPair(t, 1)
	f := start(t, p1)
	writeAtomic(t, f.certFile, []byte("-----BEGIN CERTIFICATE-----\nc2VjcmV0\n-----END CERTIFICATE-----\n"))
	if f.r.Check() {
		t.Fatal("Check accepted a broken certificate")
	}
	if serial, _ := f.handshake(t); serial != 1 {
		t.Fatalf("serial %d after failed reload", serial)
	}
	// Mismatched halves: the certificate of one pair with the key of another.
	p3 := newPair(t, 3)
	f.roots.AddCert(p3.cert)
	writeAtomic(t, f.certFile, p3.certPEM)
	if f.r.Check() {
		t.Fatal("Check accepted a mismatched pair")
	}
	if serial, _ := f.handshake(t); serial != 1 {
		t.Fatalf("serial %d after mismatched reload", serial)
	}
	if f.r.Failures() != 2 {
		t.Fatalf("Failures = %d", f.r.Failures())
	}
	logs := f.logs.String()
	if strings.Count(logs, "level=WARN msg=\"tls: certificate reload failed; keeping the previous certificate\"") != 2 {
		t.Fatalf("logs:\n%s", logs)
	}
	if strings.Contains(logs, "c2VjcmV0") || strings.Contains(logs, "BEGIN") {
		t.Fatalf("logs carry file content:\n%s", logs)
	}
	// Completing the pair is picked up on the next change.
	writeAtomic(t, f.keyFile, p3.keyPEM)
	if !f.r.Check() {
		t.Fatal("completed pair not loaded")
	}
	if serial, _ := f.handshake(t); serial != 3 {
		t.Fatalf("serial %d, want 3", serial)
	}
}

func TestRunPolls(t *testing.T) {
	f := start(t, newPair(t, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.r.Run(ctx, 5*time.Millisecond); close(done) }()
	f.install(t, newPair(t, 4))
	deadline := time.Now().Add(20 * time.Second) // a liveness bound, not a speed claim
	for {
		if serial, _ := f.handshake(t); serial == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run never picked up the new certificate")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestHTTP2AndMinVersion(t *testing.T) {
	f := start(t, newPair(t, 1))
	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: f.roots},
		ForceAttemptHTTP2: true,
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + f.addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(body) != "HTTP/2.0" {
		t.Fatalf("proto %s, body %q", resp.Proto, body)
	}
	_, err = tls.Dial("tcp", f.addr, &tls.Config{RootCAs: f.roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.1 handshake: %v", err)
	}
	conn, err := tls.Dial("tcp", f.addr, &tls.Config{RootCAs: f.roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	st := conn.ConnectionState()
	conn.Close()
	if st.Version != tls.VersionTLS12 || st.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Fatalf("TLS 1.2: version %x suite %s", st.Version, tls.CipherSuiteName(st.CipherSuite))
	}
}

func TestNewCertReloaderNeedsFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := NewCertReloader(filepath.Join(dir, "no.pem"), filepath.Join(dir, "no.key"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "tlsreload: load key pair: open ") {
		t.Fatalf("err = %v", err)
	}
}
