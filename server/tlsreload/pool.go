package tlsreload

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
)

// PoolReloader loads a bundle of CA certificates (PEM) that peers'
// certificates must chain to.
type PoolReloader struct{ *watched[x509.CertPool] }

// NewPoolReloader loads the bundle once and fails if it cannot or if it
// holds no certificate.
func NewPoolReloader(caFile string, log *slog.Logger) (*PoolReloader, error) {
	w, err := newWatched("CA pool", log, func() (*x509.CertPool, error) { return loadPool(caFile) }, caFile)
	if err != nil {
		return nil, err
	}
	return &PoolReloader{w}, nil
}

// Pool returns the current pool.
func (r *PoolReloader) Pool() *x509.CertPool { return r.current() }

func loadPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("tlsreload: CA bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("tlsreload: CA bundle holds no certificate")
	}
	return pool, nil
}
