package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The multi-node tests run real processes on loopback: workers (`sotto
// serve --role=worker` on stories260K, mutual TLS with certificates from
// a CA the test makes) behind one or two routers (`sotto serve
// --role=router`), and a real redis-server where routers share state.

// cluster is the shared material: CA, keys, device, and the processes.
type cluster struct {
	dir        string
	ca         *testenv.CA
	caFile     string
	keyDir     string
	pin        string
	deviceKey  string
	devicePub  string
	allow      string
	routerCert string
	routerKey  string
	mtls       *http.Client // holds the router's client certificate
	workers    []*proc
	workerEnv  []string // added to every worker's environment
}

// proc is one running `sotto serve`.
type proc struct {
	name string
	addr string
	url  string
	env  []string
	cmd  *exec.Cmd
	logs *testenv.SyncBuffer
}

func newCluster(t *testing.T, workers int) *cluster {
	t.Helper()
	return newClusterWith(t, workers)
}

// newClusterWith is newCluster with workerEnv added to every worker's
// environment.
func newClusterWith(t *testing.T, workers int, workerEnv ...string) *cluster {
	t.Helper()
	c := &cluster{dir: t.TempDir(), ca: testenv.NewCA(t, "sotto test CA"), workerEnv: workerEnv}
	c.caFile = c.ca.WriteCA(t, c.dir, "ca.pem")
	c.keyDir, c.allow = filepath.Join(c.dir, "keys"), filepath.Join(c.dir, "allow-list")
	c.deviceKey = filepath.Join(c.dir, "device.key")
	sotto(t, "keys", "init", "--dir", c.keyDir)
	c.pin = sotto(t, "keys", "show", "--dir", c.keyDir, "--pin")
	c.devicePub = sotto(t, "device", "init", "--out", c.deviceKey)
	sotto(t, "device", "allow", c.devicePub, "--allow-list", c.allow)
	c.routerCert, c.routerKey, _ = c.ca.Issue(t, c.dir, "router")
	c.mtls = c.client(t, c.routerCert, c.routerKey)
	for i := range workers {
		c.workers = append(c.workers, c.startWorker(t, i+1, fmt.Sprintf("127.0.0.1:%d", freePort(t))))
	}
	return c
}

// client is an HTTPS client trusting the CA, with an optional client
// certificate.
func (c *cluster) client(t *testing.T, cert, key string) *http.Client {
	t.Helper()
	cfg := &tls.Config{RootCAs: trustingPool(t, c.caFile), MinVersion: tls.VersionTLS13}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

func (c *cluster) startWorker(t *testing.T, i int, addr string, env ...string) *proc {
	t.Helper()
	name := fmt.Sprintf("worker%d", i)
	cert, key, _ := c.ca.Issue(t, c.dir, name)
	p := &proc{name: name, addr: addr, url: "https://" + addr, env: []string{
		"SOTTO_MODEL=" + testenv.Model(t, "stories260K.gguf"), "SOTTO_KEY_DIR=" + c.keyDir,
		"SOTTO_ALLOW_LIST=" + c.allow, "SOTTO_LISTEN=" + addr, "SOTTO_TLS_CERT=" + cert, "SOTTO_TLS_KEY=" + key,
		"SOTTO_TLS_CLIENT_CA=" + c.caFile, "SOTTO_SLOTS=2", "SOTTO_CONTEXT=512", "SOTTO_THREADS=1",
	}}
	p.env = append(append(p.env, c.workerEnv...), env...)
	p.start(t, "worker")
	p.waitReady(t, c.mtls)
	return p
}

// startRouter starts a router in front of every worker.
func (c *cluster) startRouter(t *testing.T, env ...string) *proc {
	t.Helper()
	ups := make([]string, len(c.workers))
	for i, w := range c.workers {
		ups[i] = w.url
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &proc{name: "router", addr: addr, url: "http://" + addr, env: append([]string{
		"SOTTO_ALLOW_LIST=" + c.allow, "SOTTO_LISTEN=" + addr, "INFERENCE_ENDPOINTS=" + strings.Join(ups, ","),
		"SOTTO_TLS_CLIENT_CA=" + c.caFile, "SOTTO_TLS_CLIENT_CERT=" + c.routerCert, "SOTTO_TLS_CLIENT_KEY=" + c.routerKey,
		"SOTTO_HEALTH_INTERVAL_MS=100", "CIRCUIT_BREAKER_THRESHOLD=2", "CIRCUIT_RESET_SECONDS=1",
		// Tests send many requests from one device; a test of the limits sets its own (the last value wins).
		"RATE_LIMIT_PER_MINUTE=60000", "RATE_LIMIT_BURST=1000",
	}, env...)}
	p.start(t, "router")
	p.waitReady(t, http.DefaultClient)
	return p
}

func (p *proc) start(t *testing.T, role string) {
	t.Helper()
	p.logs = &testenv.SyncBuffer{}
	p.cmd = exec.Command("sotto", "serve", "--env-file", "", "--role", role)
	p.cmd.Env = append(append(os.Environ(), "ENVIRONMENT=development", "LOG_FORMAT=text"), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := p.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
}

func (p *proc) waitReady(t *testing.T, hc *http.Client) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get(p.url + "/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s not ready; logs:\n%s", p.name, p.logs.Bytes())
}

// kill stops the process at once (SIGKILL): a worker lost.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// as returns the e2eServer view of a router, for `sotto chat`.
func (c *cluster) as(r *proc) *e2eServer {
	return &e2eServer{url: r.url, dir: c.dir, pin: c.pin, deviceKey: c.deviceKey, devicePub: c.devicePub, logs: r.logs}
}

// metric returns the value of one series of the router's /metrics, or -1.
func metric(t *testing.T, r *proc, series string) float64 {
	t.Helper()
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestMultiNodeRelay: through a router, `sotto chat` decrypts exactly the
// engine's greedy text, the router serves the workers' signed key
// configuration byte for byte, keeps a device on one home worker and
// spreads devices over the workers, and a worker refuses a client without
// a certificate.
func TestMultiNodeRelay(t *testing.T) {
	c := newCluster(t, 3)
	r := c.startRouter(t)
	const prompt = "Once upon a time, a little fox"
	want := greedyReply(t, prompt)
	for range 3 {
		if got := c.as(r).chat(t, prompt, "--temperature", "0", "--max-tokens", "48"); got != want+"\n" {
			t.Fatalf("through the router: %q\nengine greedy text %q", got, want)
		}
	}
	// One device's requests all go to its home worker (its conversation
	// cache is there); other devices' homes spread over the three.
	if got := okPerWorker(t, r, 3); !slices.Contains(got, 3) {
		t.Fatalf("one device's 3 streams went to workers %v, want all on its home", got)
	}
	routerDoc, workerDoc := get(t, http.DefaultClient, r.url+"/api/pubkey"), get(t, c.mtls, c.workers[0].url+"/api/pubkey")
	if !bytes.Equal(routerDoc, workerDoc) || len(routerDoc) < 100 {
		t.Fatalf("router key configuration differs from the worker's (%d vs %d bytes)", len(routerDoc), len(workerDoc))
	}
	if _, err := c.client(t, "", "").Get(c.workers[0].url + "/health/ready"); err == nil {
		t.Fatal("a worker served a client without a certificate")
	}
	other := testenv.NewCA(t, "another CA")
	oc, ok, _ := other.Issue(t, c.dir, "stranger")
	if _, err := c.client(t, oc, ok).Get(c.workers[0].url + "/health/ready"); err == nil {
		t.Fatal("a worker served a client certificate from another CA")
	}
	// Last: enrolling reloads the workers, which sign a new key configuration.
	spreadDevices(t, c, r, 12)
	if got := okPerWorker(t, r, 15); slices.Contains(got, 15) {
		t.Fatalf("13 devices' streams per worker %v: all on one worker, want them spread", got)
	}
}

func get(t *testing.T, hc *http.Client, url string) []byte {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// TestRouterRefusesPrivateKeys: a router given a key directory (or a
// model) does not start, and says which setting to remove.
func TestRouterRefusesPrivateKeys(t *testing.T) {
	dir := t.TempDir()
	sotto(t, "keys", "init", "--dir", filepath.Join(dir, "keys"))
	cmd := exec.Command("sotto", "serve", "--env-file", "", "--role", "router")
	cmd.Env = append(os.Environ(), "ENVIRONMENT=development", "SOTTO_KEY_DIR="+filepath.Join(dir, "keys"),
		"INFERENCE_ENDPOINTS=https://127.0.0.1:1", "SOTTO_TLS_CLIENT_CA=/ca", "SOTTO_TLS_CLIENT_CERT=/c",
		"SOTTO_TLS_CLIENT_KEY=/k", "SOTTO_MODEL=/m.gguf", "SOTTO_LISTEN=127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("the router started with a key directory")
	}
	for _, want := range []string{"SOTTO_KEY_DIR: must be empty for a router: a router never holds private keys",
		"SOTTO_MODEL: must be empty for a router"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
