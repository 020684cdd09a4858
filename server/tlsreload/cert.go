package tlsreload

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
)

// CertReloader loads a certificate and key from two PEM files.
type CertReloader struct{ *watched[tls.Certificate] }

// NewCertReloader loads the pair once and fails if it cannot: the server
// must not start without a certificate. log receives reload warnings; nil
// means slog.Default().
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	w, err := newWatched("certificate", log, func() (*tls.Certificate, error) {
		return loadPair(certFile, keyFile)
	}, certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &CertReloader{w}, nil
}

// GetCertificate returns the current certificate; it is the
// tls.Config.GetCertificate hook.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

// GetClientCertificate returns the current certificate; it is the
// tls.Config.GetClientCertificate hook of a mutual-TLS client.
func (r *CertReloader) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return r.current(), nil
}

// Certificate returns the current certificate (Leaf is set).
func (r *CertReloader) Certificate() *tls.Certificate { return r.current() }

func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsreload: load key pair: %w", err)
	}
	if c.Leaf == nil || len(c.Certificate) == 0 {
		return nil, errors.New("tlsreload: key pair has no leaf certificate")
	}
	return &c, nil
}
