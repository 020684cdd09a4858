package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
)

// Ports handed to child processes come from below Linux's default
// ephemeral range (32768-60999). A port the kernel chose (":0") and closed
// again is free only until the next ephemeral bind: another test package
// running at the same time (go test runs packages in parallel) can take it
// for its own server or outgoing connection before the child binds it, and
// the test then talks to the wrong server. Ports from this range are never
// given out by the kernel, so only another FreePort caller can collide, and
// the random choice makes that rare.
const (
	freePortLow  = 20000
	freePortHigh = 32767
)

// FreePort returns a loopback TCP port that was free a moment ago, for a
// process the test starts (which binds it itself).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := freePortLow + rand.IntN(freePortHigh-freePortLow+1)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("testenv: no free loopback port below the ephemeral range")
	return 0
}

// FreeAddr is FreePort as "127.0.0.1:port".
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}
