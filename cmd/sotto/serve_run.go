package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sottolabs/sotto/server/config"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/problem"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// Timeouts of the public listener. Streams are long, so there is no write
// timeout; headers and bodies must arrive promptly (slowloris).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	keyWatchInterval  = 30 * time.Second
	certCheckInterval = 30 * time.Second
)

// httpErrorLog receives net/http's own error lines, which carry the
// client's address ("TLS handshake error from 203.0.113.9:41234: ...").
// Client addresses stay out of the logs: only the kind of error is kept.
type httpErrorLog struct{ log *slog.Logger }

func (h httpErrorLog) Write(p []byte) (int, error) {
	switch {
	case bytes.Contains(p, []byte("TLS handshake error")):
		h.log.Debug("tls handshake failed")
	case bytes.Contains(p, []byte("panic serving")):
		h.log.Error("http handler panicked")
	default:
		h.log.Warn("http server error")
	}
	return len(p), nil
}

// frontHandler answers before the model is loaded: liveness yes, readiness
// and everything else 503. Once the server is built it delegates to it.
type frontHandler struct {
	api     atomic.Pointer[http.Handler]
	metrics *metrics.Metrics
}

func newFrontHandler(m *metrics.Metrics) *frontHandler { return &frontHandler{metrics: m} }

func (f *frontHandler) set(h http.Handler) { f.api.Store(&h) }

func (f *frontHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := f.api.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/health/live" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`{"status":"live"}`))
		return
	}
	problem.Write(w, problem.OverloadedAfter(5*time.Second))
}

// run listens, loads the engine, serves until ctx ends, then drains.
func (n *node) run(ctx context.Context) error {
	ln, err := listen(n.cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           n.front,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          log.New(httpErrorLog{n.log}, "", 0),
	}
	errc := make(chan error, 3)
	if err := n.startPublic(ctx, srv, ln, errc); err != nil {
		return err
	}
	metricsSrv := n.startMetrics(errc)
	n.log.Info("listening", "addr", n.cfg.Listen.String(), "tls", n.cfg.TLSEnabled())

	if err := n.loadEngine(); err != nil {
		shutdown(srv, metricsSrv, 0)
		return err
	}
	api, err := n.newServer()
	if err != nil {
		shutdown(srv, metricsSrv, 0)
		return err
	}
	api.SetReady(true)
	n.front.set(api.Handler())
	n.log.Info("ready")

	go func() { _ = n.keys.Watch(ctx, keyWatchInterval) }()
	go n.reloadOnHUP(ctx)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	api.SetReady(false)
	n.log.Info("shutting down", "grace_s", n.cfg.ShutdownGrace().Seconds())
	shutdown(srv, metricsSrv, n.cfg.ShutdownGrace())
	return err
}

func (n *node) startPublic(ctx context.Context, srv *http.Server, ln net.Listener, errc chan<- error) error {
	if !n.cfg.TLSEnabled() {
		go func() { errc <- serveErr(srv.Serve(ln)) }()
		return nil
	}
	certs, err := tlsreload.NewCertReloader(n.cfg.TLSCert, n.cfg.TLSKey, n.log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	n.certs = certs
	go certs.Run(ctx, certCheckInterval)
	srv.TLSConfig = certs.TLSConfig()
	go func() { errc <- serveErr(srv.ServeTLS(ln, "", "")) }()
	return nil
}

// startMetrics serves /metrics on its own (private) address when configured.
func (n *node) startMetrics(errc chan<- error) *http.Server {
	if !n.cfg.MetricsListen.IsSet() {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", n.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	ln, err := listen(n.cfg.MetricsListen)
	if err != nil {
		errc <- err
		return nil
	}
	go func() { errc <- serveErr(srv.Serve(ln)) }()
	return srv
}

// reloadOnHUP reloads keys, the device allow-list and the certificate on
// SIGHUP (rotation without restart). Certificates also reload by themselves
// when their files change.
func (n *node) reloadOnHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := n.keys.Reload(); err != nil {
				n.log.Error("key reload failed", "err", err)
			}
			if n.certs != nil {
				if err := n.certs.Reload(); err != nil {
					n.log.Error("certificate reload failed", "err", err)
				}
			}
			if n.allowList != nil {
				if err := n.allowList.Reload(); err != nil {
					n.log.Error("allow-list reload failed", "err", err)
				}
			}
			n.log.Info("reloaded")
		}
	}
}

func listen(a config.Addr) (net.Listener, error) {
	if a.Network == "unix" {
		_ = os.Remove(a.Address)
		ln, err := net.Listen("unix", a.Address)
		if err != nil {
			return nil, fmt.Errorf("serve: listen: %w", err)
		}
		if err := os.Chmod(a.Address, 0o660); err != nil {
			ln.Close()
			return nil, fmt.Errorf("serve: listen: %w", err)
		}
		return ln, nil
	}
	ln, err := net.Listen("tcp", a.Address)
	if err != nil {
		return nil, fmt.Errorf("serve: listen: %w", err)
	}
	return ln, nil
}

func serveErr(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// shutdown drains the servers: open streams get grace to finish, then the
// connections are closed.
func shutdown(public, metricsSrv *http.Server, grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := public.Shutdown(ctx); err != nil {
		public.Close()
	}
	if metricsSrv != nil {
		metricsSrv.Close()
	}
}
