package tlsreload

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestMutualTLS: a worker's listener (ServerMTLS) serves a router whose
// certificate chains to the CA and is pinned, and refuses a client with no
// certificate, one from another CA, and an unpinned one from the right
// CA; a router (ClientMTLS) refuses a worker whose key is not pinned.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "sotto test CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	wCert, wKey, _ := ca.Issue(t, dir, "worker")
	rCert, rKey, rLeaf := ca.Issue(t, dir, "router")
	other := testenv.NewCA(t, "other CA")
	oCert, oKey, _ := other.Issue(t, dir, "stranger")

	serverCert, err := NewCertReloader(wCert, wKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPoolReloader(caFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	routerPin := Pins{sha256.Sum256(rLeaf.RawSubjectPublicKeyInfo)}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerMTLS(serverCert, pool, routerPin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); _, _ = c.Write([]byte("ok")); c.Close() }()
		}
	}()
	dial := func(cfg *tls.Config) error {
		cfg.ServerName = "localhost"
		c, err := tls.Dial("tcp", ln.Addr().String(), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 2)
		_, err = c.Read(buf)
		return err
	}
	client := func(cert, key string, pins Pins) *tls.Config {
		r, err := NewCertReloader(cert, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ClientMTLS(r, pool, pins, "localhost")
	}
	if err := dial(client(rCert, rKey, nil)); err != nil {
		t.Fatalf("router with a CA certificate refused: %v", err)
	}
	if err := dial(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}); err == nil {
		t.Fatal("a client without a certificate was served")
	}
	if err := dial(client(oCert, oKey, nil)); err == nil {
		t.Fatal("a client certificate from another CA was served")
	}
	wrongPin := Pins{sha256.Sum256([]byte("not the worker"))}
	if err := dial(client(rCert, rKey, wrongPin)); !errors.Is(err, ErrPeer) {
		t.Fatalf("worker with an unpinned key: %v, want ErrPeer", err)
	}
	r2Cert, r2Key, _ := ca.Issue(t, dir, "router2")
	if err := dial(client(r2Cert, r2Key, nil)); err == nil {
		t.Fatal("an unpinned client certificate was served")
	}
}

// TestRouterVerifiesWorkerAddress: a router dialling a worker by IP
// address refuses a certificate (from the cluster's CA) for another
// address, and accepts one whose SAN is that address (issue 17 item 4:
// Go sends no server name for an IP, and the SAN went unchecked).
func TestRouterVerifiesWorkerAddress(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t, "sotto test CA")
	pool, err := NewPoolReloader(ca.WriteCA(t, dir, "ca.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rCert, rKey, _ := ca.Issue(t, dir, "router")
	router, err := NewCertReloader(rCert, rKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		san  string
		want bool
	}{{"10.9.9.9", false}, {"127.0.0.1", true}} {
		wCert, wKey, _ := ca.IssueFor(t, dir, "worker-"+tc.san, tc.san)
		worker, err := NewCertReloader(wCert, wKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := tls.Listen("tcp", "127.0.0.1:0", ServerMTLS(worker, pool, nil))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				_ = c.(*tls.Conn).Handshake()
				c.Close()
			}
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), ClientMTLS(router, pool, nil, "127.0.0.1"))
		if c != nil {
			c.Close()
		}
		ln.Close()
		if ok := err == nil; ok != tc.want || (!ok && !errors.Is(err, ErrPeer)) {
			t.Errorf("worker certificate for %s, dialled as 127.0.0.1: err %v, want accepted %v", tc.san, err, tc.want)
		}
	}
}
