package testenv

import (
	"context"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis runs a private redis-server (no persistence) on a free loopback
// port for the test, with extra command-line args, and returns a client
// and its address. It skips the test outside CI when redis-server is
// missing; in CI it fails (.ci/run installs it).
func Redis(t testing.TB, args ...string) (*redis.Client, string) {
	t.Helper()
	return RedisAt(t, FreeAddr(t), args...)
}

// RedisAt is Redis on a given loopback address (a test that starts Redis
// after a client already points at it).
func RedisAt(t testing.TB, addr string, args ...string) (*redis.Client, string) {
	t.Helper()
	bin := RequireTool(t, "redis-server", "redis-server")
	_, port, _ := net.SplitHostPort(addr)
	args = append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--dir", t.TempDir()}, args...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	for i := 0; ; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return c, addr
		}
		if i == 200 {
			t.Fatal("redis-server did not answer")
		}
		time.Sleep(25 * time.Millisecond)
	}
}
