package tlsreload

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ErrPeer: the peer's certificate does not chain to the CA pool, is not
// for the right use, or matches none of the SPKI pins.
var ErrPeer = errors.New("tlsreload: peer certificate refused")

// Pins are SHA-256 digests of peers' SubjectPublicKeyInfo; empty accepts
// any public key that chains to the pool.
type Pins [][sha256.Size]byte

// ServerMTLS returns the configuration of a worker's listener: TLS 1.3
// only, certificate from cert, and a client certificate required that
// chains to cas's current pool (read at each handshake, so a rotated
// bundle applies without a restart) and, when pins are given, whose
// public key is pinned.
func ServerMTLS(cert *CertReloader, cas *PoolReloader, pins Pins) *tls.Config {
	c := cert.TLSConfig()
	c.MinVersion = tls.VersionTLS13
	c.ClientAuth = tls.RequireAnyClientCert
	c.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyPeer(cs, cas.Pool(), "", x509.ExtKeyUsageClientAuth, pins)
	}
	return c
}

// ClientMTLS returns the configuration of a router's connections to the
// worker at host (a name or an IP address, from the worker's URL): TLS
// 1.3, HTTP/2, the client certificate from cert, and the worker's
// certificate verified against cas's current pool, for serverAuth, with a
// SAN matching host, and, when given, the pins. (The standard verifier
// reads a fixed RootCAs; it is replaced by the same checks against the
// reloaded pool. The host is this configuration's own, not the
// handshake's server name, which Go leaves empty for an IP address: a
// worker's certificate for another address is refused.)
func ClientMTLS(cert *CertReloader, cas *PoolReloader, pins Pins, host string) *tls.Config {
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		NextProtos:           []string{"h2"},
		ServerName:           host,
		GetClientCertificate: cert.GetClientCertificate,
		InsecureSkipVerify:   true, // verified by VerifyConnection below, against the reloaded pool
		VerifyConnection: func(cs tls.ConnectionState) error {
			if host == "" {
				return fmt.Errorf("%w: no host name to verify", ErrPeer)
			}
			return verifyPeer(cs, cas.Pool(), host, x509.ExtKeyUsageServerAuth, pins)
		},
	}
}

// verifyPeer checks the peer's chain against roots for usage (and the
// host name when given), then the pins.
func verifyPeer(cs tls.ConnectionState, roots *x509.CertPool, host string, usage x509.ExtKeyUsage, pins Pins) error {
	if len(cs.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no certificate", ErrPeer)
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("%w: %w", ErrPeer, err)
	}
	if len(pins) > 0 && !slices.Contains(pins, sha256.Sum256(leaf.RawSubjectPublicKeyInfo)) {
		return fmt.Errorf("%w: public key not pinned", ErrPeer)
	}
	return nil
}
