package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// selfSignedCert writes a certificate for 127.0.0.1 and its key, and
// returns [cert, key, CA] paths (the certificate is its own CA).
func selfSignedCert(t *testing.T) *[3]string {
	t.Helper()
	c := testenv.LoopbackCert(t, 1)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return &[3]string{certPath, keyPath, certPath}
}

// trustingClient is an HTTP client trusting only the PEM file caFile.
func trustingClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: trustingPool(t, caFile)}, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// trustingPool is a pool of the certificates in the PEM file caFile.
func trustingPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in CA file")
	}
	return roots
}

// TestE2ETLS: the public listener serves HTTPS with HTTP/2, and `sotto
// chat` over it decrypts the engine's greedy text.
func TestE2ETLS(t *testing.T) {
	const prompt = "Once upon a time, a little fox"
	want := greedyReply(t, prompt)
	s := startServeWith(t, selfSignedCert(t), "LOG_LEVEL=debug")
	resp, err := s.http.Get(s.url + "/health/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 {
		t.Fatalf("GET /health/live: status %d, %s, TLS %v; want 200 over HTTP/2 and TLS 1.3", resp.StatusCode, resp.Proto, resp.TLS != nil)
	}
	if got := s.chat(t, prompt, "--temperature", "0", "--max-tokens", "48"); got != want+"\n" {
		t.Fatalf("sotto chat over TLS printed %q, want %q", got, want+"\n")
	}

	// A failed handshake (plain HTTP to the TLS port) is logged without the
	// client's address.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	clientAddr := conn.LocalAddr().String()
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	_, _ = io.ReadAll(conn)
	conn.Close()
	waitLog(t, s, "tls handshake failed")
	if bytes.Contains(s.logs.Bytes(), []byte(clientAddr)) {
		t.Fatalf("server logs hold the client address %s:\n%s", clientAddr, s.logs.Bytes())
	}
}

// waitLog waits until the server has logged msg.
func waitLog(t *testing.T, s *e2eServer, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !bytes.Contains(s.logs.Bytes(), []byte(msg)) {
		if time.Now().After(deadline) {
			t.Fatalf("server never logged %q:\n%s", msg, s.logs.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
