package router

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/wire"
)

// TestStalledBodiesCapped: 300 clients that declare a 1000-byte body,
// send all but one byte and stall. The router holds at most its in-flight
// cap (100 bodies) and answers every other one 503 #overloaded before
// reading it; when the stalled clients leave, the accounting returns to
// zero and requests are served again.
func TestStalledBodiesCapped(t *testing.T) {
	const size, held, refused = 1000, 100, 200
	ts, r := newTestRouterWith(t, func(c *Config, _ *Deps) { c.InflightBodyBytes = held * size },
		newFakeWorker(t, http.StatusOK))
	addr := strings.TrimPrefix(ts.URL, "http://")
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: router\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		wire.PathChat, wire.MediaTypeRequest, size)
	stall := func() net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := conn.Write([]byte(head + strings.Repeat("x", size-1))); err != nil {
			t.Fatal(err)
		}
		return conn
	}
	var stalled []net.Conn
	for range held {
		stalled = append(stalled, stall())
	}
	waitFor(t, func() bool { return r.bodies.InFlight() == held*size })
	for i := range refused {
		conn := stall()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang fails instead of blocking the suite
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("client %d over the cap: %v", i, err)
		}
		var got strings.Builder
		_, _ = bufio.NewReader(resp.Body).WriteTo(&got)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(got.String(), "#overloaded") {
			t.Fatalf("client %d over the cap: %d %s", i, resp.StatusCode, got.String())
		}
		conn.Close()
	}
	if n := r.bodies.InFlight(); n != held*size {
		t.Fatalf("%d body bytes accounted, want the cap %d", n, held*size)
	}
	for _, c := range stalled {
		c.Close()
	}
	waitFor(t, func() bool { return r.bodies.InFlight() == 0 })
	body, h := sealed(t)
	if resp, _ := post(t, ts.URL, body, h); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the stalled clients left: %d", resp.StatusCode)
	}
}
