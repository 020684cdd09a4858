// Package tlsreload serves certificates and CA pools read from PEM files
// and picks up renewed files without a restart: the public listener's
// certificate (CertReloader), and for mutual TLS between a router and its
// workers the peer CA bundle (PoolReloader) with server and client
// configurations that verify against the current pool (mutual.go).
//
// Each reloader holds its current value behind an atomic pointer that
// every handshake reads. Run polls the files' metadata (modification
// time, size, inode: renames by certbot, step-ca or a Kubernetes secret
// update change at least one) and reloads when any changes; Reload forces
// a reload (for SIGHUP). A failed reload, such as a half-written pair,
// keeps the previous value and logs a warning carrying only the error (no
// file content); the next change is tried again. Connections already
// established are never touched, so a rotation drops no stream.
//
// All methods are safe for concurrent use.
package tlsreload

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultInterval is a sensible Run interval: renewals happen days before
// expiry, so a minute of delay costs nothing.
const DefaultInterval = time.Minute

// watched is a value loaded from files and reloaded when they change.
type watched[T any] struct {
	what  string // "certificate", "CA pool": for log lines
	files []string
	load  func() (*T, error)
	log   *slog.Logger

	cur atomic.Pointer[T]

	mu    sync.Mutex // serializes reloads; guards seen
	seen  []stamp
	fails atomic.Int64
}

// stamp identifies a version of a file without reading it.
type stamp struct {
	mod   time.Time
	size  int64
	inode uint64
}

func newWatched[T any](what string, log *slog.Logger, load func() (*T, error), files ...string) (*watched[T], error) {
	if log == nil {
		log = slog.Default()
	}
	w := &watched[T]{what: what, files: files, load: load, log: log}
	if err := w.Reload(); err != nil {
		return nil, err
	}
	return w, nil
}

// current returns the value in use.
func (w *watched[T]) current() *T { return w.cur.Load() }

// Failures returns how many reloads have failed since the start.
func (w *watched[T]) Failures() int64 { return w.fails.Load() }

// Reload loads the files now. On failure the previous value stays in use
// and the error is returned.
func (w *watched[T]) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = w.stamps()
	return w.swap()
}

// Check reloads if any file changed since the last attempt and reports
// whether a new value is now in use. A failed attempt is logged and not
// retried until the files change again.
func (w *watched[T]) Check() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.stamps()
	if slices.Equal(now, w.seen) {
		return false
	}
	w.seen = now
	if err := w.swap(); err != nil {
		w.log.Warn("tls: "+w.what+" reload failed; keeping the previous "+w.what, "err", err)
		return false
	}
	w.log.Info("tls: " + w.what + " reloaded")
	return true
}

// Run calls Check every interval until ctx is done.
func (w *watched[T]) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Check()
		}
	}
}

// swap loads and installs a new value. Called with w.mu held.
func (w *watched[T]) swap() error {
	v, err := w.load()
	if err != nil {
		w.fails.Add(1)
		return err
	}
	w.cur.Store(v)
	return nil
}

func (w *watched[T]) stamps() []stamp {
	out := make([]stamp, len(w.files))
	for i, f := range w.files {
		out[i] = fileStamp(f)
	}
	return out
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
