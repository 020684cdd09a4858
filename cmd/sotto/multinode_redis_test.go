package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestRouterRefusesEvictingRedis: a router whose Redis may evict keys
// (volatile-lru: rids have TTLs and go first) does not start (issue 17,
// item 7).
func TestRouterRefusesEvictingRedis(t *testing.T) {
	_, addr := testenv.Redis(t, "--maxmemory-policy", "volatile-lru")
	dir := t.TempDir()
	ca := testenv.NewCA(t, "sotto test CA")
	caFile := ca.WriteCA(t, dir, "ca.pem")
	cert, key, _ := ca.Issue(t, dir, "router")
	secret := filepath.Join(dir, "shared.secret")
	if err := os.WriteFile(secret, bytes.Repeat([]byte("s3cr3t-"), 8), 0o600); err != nil {
		t.Fatal(err)
	}
	// A router that starts runs until the deadline kills it: the test fails.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sotto", "serve", "--env-file", "", "--role", "router")
	cmd.Env = append(os.Environ(), "ENVIRONMENT=development", "REDIS_URL=redis://"+addr+"/0",
		"INFERENCE_ENDPOINTS=https://127.0.0.1:1", "SOTTO_TLS_CLIENT_CA="+caFile, "SOTTO_TLS_CLIENT_CERT="+cert,
		"SOTTO_TLS_CLIENT_KEY="+key, "SOTTO_LISTEN=127.0.0.1:0", "SOTTO_DEVICE_POLICY=open", "SOTTO_SHARED_SECRET_FILE="+secret)
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("Redis maxmemory-policy must be noeviction")) {
		t.Fatalf("router with a volatile-lru Redis: %v\n%s", err, out)
	}
}

// TestRouterReadinessFollowsRedis: a router whose Redis is down starts
// but is not ready (every chat would be refused: a load balancer must
// send traffic elsewhere), becomes ready when Redis answers, and not
// ready again while its policy allows eviction, when it stops, or when
// no worker is healthy; with
// LOG_FORMAT=json every line of its log, go-redis's own included, is JSON
// (issue 17, item 13).
func TestRouterReadinessFollowsRedis(t *testing.T) {
	c := newCluster(t, 1)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	r := c.startRouterNotReady(t, "REDIS_URL=redis://"+addr+"/0", "LOG_FORMAT=json")
	waitStatus(t, r, http.StatusServiceUnavailable, "Redis down")
	rdb, _ := testenv.RedisAt(t, addr)
	waitStatus(t, r, http.StatusOK, "Redis up")
	// A policy changed while the router runs: rids could be evicted.
	ctx := context.Background()
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "volatile-lru").Err(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, http.StatusServiceUnavailable, "Redis policy volatile-lru")
	if err := rdb.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, r, http.StatusOK, "Redis policy noeviction again")
	_ = rdb.Shutdown(context.Background()).Err()
	waitStatus(t, r, http.StatusServiceUnavailable, "Redis stopped")
	rdb, _ = testenv.RedisAt(t, addr)
	waitStatus(t, r, http.StatusOK, "Redis back")
	c.workers[0].kill(t)
	waitStatus(t, r, http.StatusServiceUnavailable, "no worker")
	_ = rdb.Shutdown(context.Background()).Err()
	lines := bytes.Split(bytes.TrimSpace(r.logs.Bytes()), []byte("\n"))
	for _, l := range lines {
		if !json.Valid(l) {
			t.Errorf("router log line is not JSON: %q", l)
		}
	}
	if !bytes.Contains(r.logs.Bytes(), []byte(`"msg":"shared state failing: not ready"`)) {
		t.Errorf("no log of the shared state failing:\n%s", r.logs.Bytes())
	}
}

// startRouterNotReady is startRouter without waiting for readiness: it
// waits until the router answers /health/live.
func (c *cluster) startRouterNotReady(t *testing.T, env ...string) *proc {
	t.Helper()
	secret := filepath.Join(c.dir, "shared.secret")
	if err := os.WriteFile(secret, bytes.Repeat([]byte("s3cr3t-"), 8), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &proc{name: "router", addr: addr, url: "http://" + addr, env: append([]string{
		"SOTTO_ALLOW_LIST=" + c.allow, "SOTTO_LISTEN=" + addr, "INFERENCE_ENDPOINTS=" + c.workers[0].url,
		"SOTTO_TLS_CLIENT_CA=" + c.caFile, "SOTTO_TLS_CLIENT_CERT=" + c.routerCert, "SOTTO_TLS_CLIENT_KEY=" + c.routerKey,
		"SOTTO_HEALTH_INTERVAL_MS=100", "SOTTO_SHARED_SECRET_FILE=" + secret,
	}, env...)}
	p.start(t, "router")
	waitStatusAt(t, p, "/health/live", http.StatusOK, "router live")
	return p
}

func waitStatus(t *testing.T, p *proc, want int, what string) {
	t.Helper()
	waitStatusAt(t, p, "/health/ready", want, what)
}

// waitStatusAt polls path until it answers want (readiness follows
// health checks every 100 ms; the deadline only bounds a failure).
func waitStatusAt(t *testing.T, p *proc, path string, want int, what string) {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(p.url + path); err == nil {
			resp.Body.Close()
			if got = resp.StatusCode; got == want {
				return
			}
		}
	}
	t.Fatalf("%s: %s answers %d, want %d; logs:\n%s", what, path, got, want, p.logs.Bytes())
}
