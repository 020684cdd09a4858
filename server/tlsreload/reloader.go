// Package tlsreload serves the public HTTPS listener's certificate and
// picks up a renewed certificate without a restart.
//
// A CertReloader holds the current key pair behind an atomic pointer that
// every handshake reads. Run polls the two files' metadata (modification
// time, size, inode: renames by certbot or a Kubernetes secret update
// change at least one) and reloads when either changes; Reload forces a
// reload (for SIGHUP). A failed reload, such as a half-written pair, keeps
// the previous certificate and logs a warning carrying only the error (no
// file content); the next change is tried again.
//
// All methods are safe for concurrent use.
package tlsreload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultInterval is a sensible Run interval: renewals happen days before
// expiry, so a minute of delay costs nothing.
const DefaultInterval = time.Minute

// CertReloader loads a certificate and key from two PEM files.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serializes reloads; guards seen
	seen  [2]stamp
	fails atomic.Int64
}

// stamp identifies a version of a file without reading it.
type stamp struct {
	mod   time.Time
	size  int64
	inode uint64
}

// NewCertReloader loads the pair once and fails if it cannot: the server
// must not start without a certificate. log receives reload warnings; nil
// means slog.Default().
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	if log == nil {
		log = slog.Default()
	}
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate returns the current certificate; it is the
// tls.Config.GetCertificate hook.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cert.Load(), nil
}

// Certificate returns the current certificate (Leaf is set).
func (r *CertReloader) Certificate() *tls.Certificate { return r.cert.Load() }

// Failures returns how many reloads have failed since the start.
func (r *CertReloader) Failures() int64 { return r.fails.Load() }

// Reload loads the pair now. On failure the previous certificate stays in
// use and the error is returned.
func (r *CertReloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = r.stamps()
	return r.load()
}

// Check reloads the pair if either file changed since the last attempt and
// reports whether a new certificate is now in use. A failed attempt is
// logged and not retried until the files change again.
func (r *CertReloader) Check() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.stamps()
	if now == r.seen {
		return false
	}
	r.seen = now
	if err := r.load(); err != nil {
		r.log.Warn("tls: certificate reload failed; keeping the previous certificate", "err", err)
		return false
	}
	r.log.Info("tls: certificate reloaded")
	return true
}

// Run calls Check every interval until ctx is done.
func (r *CertReloader) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Check()
		}
	}
}

// load parses the pair and swaps it in. Called with r.mu held.
func (r *CertReloader) load() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.fails.Add(1)
		return fmt.Errorf("tlsreload: load key pair: %w", err)
	}
	if c.Leaf == nil || len(c.Certificate) == 0 {
		r.fails.Add(1)
		return errors.New("tlsreload: key pair has no leaf certificate")
	}
	r.cert.Store(&c)
	return nil
}

func (r *CertReloader) stamps() [2]stamp {
	return [2]stamp{fileStamp(r.certFile), fileStamp(r.keyFile)}
}

// fileStamp follows symlinks; a missing file has the zero stamp, so its
// reappearance counts as a change.
func fileStamp(path string) stamp {
	fi, err := os.Stat(path)
	if err != nil {
		return stamp{}
	}
	s := stamp{mod: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.inode = st.Ino
	}
	return s
}
