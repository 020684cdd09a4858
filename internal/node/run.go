package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/config"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// Timeouts of the public listener. Streams are long, so there is no
// server-wide write timeout; headers and bodies must arrive promptly
// (slowloris).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	keyWatchInterval  = 30 * time.Second
	certCheckInterval = 30 * time.Second
	// handlerDrainTimeout bounds the wait for handlers once every
	// connection is closed (their contexts are cancelled, so the engine
	// frees them within one decode step).
	handlerDrainTimeout = 30 * time.Second
)

// ErrHandlersStuck: handlers were still running after the drain; Close
// then leaves the engine, model and keys allocated rather than free
// memory a handler may still use.
var ErrHandlersStuck = errors.New("node: handlers still running after shutdown")

// Run serves until ctx ends or a listener fails, then drains: open streams
// get the plan's grace period, then every connection is closed and Run
// waits for every handler and every goroutine it started. It returns nil
// after a shutdown asked for by ctx. Run must be called at most once.
func (n *Node) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()

	errc := make(chan error, 2) // one per serving goroutine
	handlers := newHandlerGroup(n.handler())
	public, err := n.startPublic(ctx, &wg, handlers, errc)
	if err != nil {
		return err
	}
	metricsSrv, err := n.startMetrics(&wg, errc)
	if err != nil {
		n.drain(public, nil, handlers, 0)
		return err
	}
	n.log.Info("listening", "addr", n.plan.Listen.String(), "tls", n.plan.TLS.Cert != "", "role", string(n.plan.Role))
	if err := n.start(ctx, &wg); err != nil {
		n.drain(public, metricsSrv, handlers, 0)
		return err
	}
	wg.Go(func() { n.reloadOnHUP(ctx) })
	wg.Go(func() { n.watchAllowList(ctx) })
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	n.log.Info("shutting down", "grace_s", n.plan.Grace.Seconds())
	if derr := n.drain(public, metricsSrv, handlers, n.plan.Grace); derr != nil {
		err = errors.Join(err, derr)
	}
	return err
}

// handler is the public listener's handler: the API server's, or the
// router's.
func (n *Node) handler() http.Handler {
	if n.router != nil {
		return n.router.Handler()
	}
	return n.api.Handler()
}

// start does what follows listening: a router starts its health checks
// and certificate reloads; a single node or worker loads the model and
// watches its key directory.
func (n *Node) start(ctx context.Context, wg *sync.WaitGroup) error {
	if n.router != nil {
		wg.Go(func() { n.router.Run(ctx) })
		wg.Go(func() { n.peerCert.Run(ctx, certCheckInterval) })
		wg.Go(func() { n.peerCAs.Run(ctx, certCheckInterval) })
		return nil
	}
	if err := n.loadEngine(); err != nil {
		return err
	}
	n.log.Info("ready")
	wg.Go(func() { _ = n.keys.Watch(ctx, keyWatchInterval) })
	return nil
}

// startPublic listens on the public address, with TLS and certificate
// reload when the plan has a certificate (and, for a worker, mutual TLS
// against the router CA).
func (n *Node) startPublic(ctx context.Context, wg *sync.WaitGroup, h http.Handler, errc chan<- error) (*http.Server, error) {
	ln, err := listen(n.plan.Listen)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          log.New(httpErrorLog{n.log}, "", 0),
	}
	if n.plan.TLS.Cert == "" {
		wg.Go(func() { errc <- serveErr(srv.Serve(ln)) })
		return srv, nil
	}
	certs, err := tlsreload.NewCertReloader(n.plan.TLS.Cert, n.plan.TLS.Key, n.log)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("node: %w", err)
	}
	n.certs = certs
	srv.TLSConfig, err = n.listenerTLS(certs)
	if err != nil {
		ln.Close()
		return nil, err
	}
	wg.Go(func() { certs.Run(ctx, certCheckInterval) })
	if n.peerCAs != nil {
		wg.Go(func() { n.peerCAs.Run(ctx, certCheckInterval) })
	}
	wg.Go(func() { errc <- serveErr(srv.ServeTLS(ln, "", "")) })
	return srv, nil
}

// listenerTLS is the public listener's TLS: the certificate alone, or for
// a worker mutual TLS that requires a router certificate from the CA (and
// pinned, when pins are set), with the CA bundle reloaded like the
// certificate.
func (n *Node) listenerTLS(certs *tlsreload.CertReloader) (*tls.Config, error) {
	if n.plan.Role != config.RoleWorker {
		return certs.TLSConfig(), nil
	}
	cas, err := tlsreload.NewPoolReloader(n.plan.MTLS.ClientCA, n.log)
	if err != nil {
		return nil, fmt.Errorf("node: router CA: %w", err)
	}
	n.peerCAs = cas
	return tlsreload.ServerMTLS(certs, cas, n.plan.MTLS.Pins), nil
}

// startMetrics serves /metrics on its own (private) address when the plan
// has one; nil otherwise.
func (n *Node) startMetrics(wg *sync.WaitGroup, errc chan<- error) (*http.Server, error) {
	if !n.plan.Metrics.IsSet() {
		return nil, nil
	}
	ln, err := listen(n.plan.Metrics)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(wire.PathMetrics, n.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: readHeaderTimeout}
	wg.Go(func() { errc <- serveErr(srv.Serve(ln)) })
	return srv, nil
}

// drain stops accepting chats, lets open streams run for grace, closes
// every connection (cancelling what is left) and waits for the handlers.
// The listener stays open while chats run (docs/protocol.md 5.4): a chat
// that arrives meanwhile, on a new connection or a kept-alive one, gets
// 503 #overloaded with a Retry-After instead of a refused connection or
// a connection closed without an answer.
func (n *Node) drain(public, metricsSrv *http.Server, handlers *handlerGroup, grace time.Duration) error {
	if n.router != nil {
		n.router.SetDraining(true)
	} else {
		n.api.SetReady(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	handlers.waitIdle(ctx)
	if err := public.Shutdown(ctx); err != nil {
		public.Close()
	}
	if metricsSrv != nil {
		metricsSrv.Close()
	}
	if !handlers.closeAndWait(handlerDrainTimeout) {
		n.log.Error("handlers still running after shutdown; leaving engine and keys allocated")
		n.engine, n.model, n.keys = nil, nil, nil // leak, never free under a running handler
		return ErrHandlersStuck
	}
	return nil
}

// Reload re-reads the keys, the certificates, the peer CA bundle, the
// device allow-list and the enrolment revocations (rotation without
// restart). A failure keeps the
// previous state of what failed, and the last line says which.
func (n *Node) Reload() {
	var kept []string
	reload := func(what string, f func() error) {
		if err := f(); err != nil {
			n.log.Error(what+" reload failed; keeping the previous one", "err", err)
			kept = append(kept, what)
		}
	}
	if n.keys != nil {
		reload("key", n.keys.Reload)
	}
	if n.certs != nil {
		reload("certificate", n.certs.Reload)
	}
	if n.peerCert != nil {
		reload("client certificate", n.peerCert.Reload)
	}
	if n.peerCAs != nil {
		reload("peer CA bundle", n.peerCAs.Reload)
	}
	if n.allowList != nil && !n.reloadAllowList("SIGHUP") {
		kept = append(kept, "allow-list")
	}
	if n.enrol != nil {
		reload("enrolment revocations", n.enrol.Revoked.Reload)
	}
	if len(kept) > 0 {
		n.log.Warn("reload incomplete: kept the previous state of what failed", "kept", strings.Join(kept, ", "))
		return
	}
	n.log.Info("reloaded")
}

// reloadOnHUP calls Reload on every SIGHUP until ctx ends.
func (n *Node) reloadOnHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			n.Reload()
		}
	}
}
