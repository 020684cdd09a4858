//go:build cgo

package server_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sottolabs/sotto/crypto"
)

// dialTinyWindow connects to the harness with a 2 KiB receive buffer, set
// before the handshake so the advertised window stays small.
func dialTinyWindow(t *testing.T, h *harness) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rawRequest is s as HTTP/1.1 bytes.
func rawRequest(s *sealed) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /api/chat HTTP/1.1\r\nHost: sotto\r\nContent-Length: %d\r\n", len(s.body))
	for k, vs := range s.header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, vs[0])
	}
	b.WriteString("\r\n")
	b.Write(s.body)
	return b.Bytes()
}

// TestStalledReaderFreesStream: a client that sends a valid request and
// never reads its stream (a zero TCP window) must not hold the handler:
// once a write has waited SOTTO_WRITE_TIMEOUT_SECONDS the stream is
// cancelled, sotto_active_streams returns to 0, the locked bytes in use
// return to their baseline, and the device (allowed one stream) can
// stream again.
func TestStalledReaderFreesStream(t *testing.T) {
	// Chunks padded to 4 KiB fill the socket buffers within a few tokens.
	h := newHarness(t, config{writeTimeout: time.Second, padQuantum: crypto.MaxPadQuantum, streamsPerDevice: 1, sendBuffer: 4096})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(2), 8) // the engine's own run, before the baseline
	baseline := h.budget.InUse()

	conn := dialTinyWindow(t, h)
	if _, err := conn.Write(rawRequest(c.seal(chatJSON(prompt(3), 200)))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to start", 30*time.Second, func() bool {
		return testutil.ToFloat64(h.metrics.ActiveStreams) == 1
	})
	// Safety net only: the deadline is 1 s; nothing is asserted on time.
	waitFor(t, "the stalled stream to be cancelled", 30*time.Second, func() bool {
		return testutil.ToFloat64(h.metrics.ActiveStreams) == 0
	})
	waitFor(t, "locked memory to return to its baseline", 30*time.Second, func() bool {
		return h.budget.InUse() == baseline
	})
	if got := h.budget.InUse(); got != baseline {
		t.Fatalf("locked bytes in use %d, baseline %d", got, baseline)
	}
	r := c.chat(prompt(2), 8)
	if r.status != http.StatusOK {
		t.Fatalf("device refused after the stalled stream: %d %s", r.status, r.body)
	}
	h.wantReply(t, r, prompt(2), 8)
}

// sendBufferListener fixes SO_SNDBUF on every accepted connection, which
// turns the kernel's send-buffer autotuning off: a stream's writes then
// block after a few KiB when the client stops reading.
type sendBufferListener struct {
	net.Listener
	size int
}

func (l sendBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(l.size); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}
