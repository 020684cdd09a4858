package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts turns Ctrl-C into "stop the reply being written" and a second
// Ctrl-C (or one while no reply is running, or SIGTERM) into "quit".
// Stopping cancels the reply's context: the client closes the stream, and
// the server sees the closed connection and frees the slot.
type interrupts struct {
	sig      chan os.Signal
	mu       sync.Mutex
	cancel   context.CancelFunc // of the running reply; nil when idle
	stopping bool               // the running reply was already told to stop
	quit     chan struct{}      // closed once the user asked to quit
	quitOnce sync.Once
	done     chan struct{}
}

func watchInterrupts() *interrupts {
	in := &interrupts{sig: make(chan os.Signal, 2), quit: make(chan struct{}), done: make(chan struct{})}
	signal.Notify(in.sig, os.Interrupt, syscall.SIGTERM)
	go in.run()
	return in
}

func (in *interrupts) run() {
	defer close(in.done)
	for sig := range in.sig {
		in.mu.Lock()
		if sig == os.Interrupt && in.cancel != nil && !in.stopping {
			in.stopping = true
		} else {
			in.quitOnce.Do(func() { close(in.quit) })
		}
		if in.cancel != nil {
			in.cancel()
		}
		in.mu.Unlock()
	}
}

// begin returns the context of a reply, cancelled by the next interrupt;
// end must be called when the reply is over.
func (in *interrupts) begin(parent context.Context) (ctx context.Context, end func()) {
	ctx, cancel := context.WithCancel(parent)
	in.mu.Lock()
	in.cancel, in.stopping = cancel, false
	in.mu.Unlock()
	if in.quitting() {
		cancel()
	}
	return ctx, func() {
		in.mu.Lock()
		in.cancel = nil
		in.mu.Unlock()
		cancel()
	}
}

// quitting reports whether the user asked to quit.
func (in *interrupts) quitting() bool {
	select {
	case <-in.quit:
		return true
	default:
		return false
	}
}

// stop restores the default signal handling.
func (in *interrupts) stop() {
	signal.Stop(in.sig)
	close(in.sig)
	<-in.done
}
