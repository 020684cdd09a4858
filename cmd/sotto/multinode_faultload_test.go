package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/load"
	"github.com/sottolabs/sotto/internal/testenv"
)

// The recovery bound of TestFaultsUnderLoad: counted from the end of each
// fault (the kill itself for a worker lost: the others must carry on),
// the window [recoverAfter, recoverAfter+recoveryWindow] must hold at
// least a quarter of the successes of the same window at the start (the
// baseline), and at least one.
const (
	recoverAfter   = 2 * time.Second
	recoveryWindow = 3 * time.Second
)

// A slow worker: for slowFor, worker3 runs one slice of every slowDuty
// (SIGSTOP/SIGCONT), a quarter of its speed, with pauses (150 ms) well
// under the routers' 2-s idle timeout: it answers, slowly, and is not cut.
const (
	slowFor  = 6 * time.Second
	slowDuty = 200 * time.Millisecond
)

// faultRun is the cluster under load and the faults done to it.
type faultRun struct {
	t       *testing.T
	c       *cluster
	routers []*proc
	rdb     *redis.Client
	rdbAddr string
	rot     *rotation
	t0      time.Time
	events  []faultEvent
	ended   [][]byte // logs of worker processes that ended
}

// faultEvent is one step of the script; end marks the end of a fault,
// from which the recovery window counts.
type faultEvent struct {
	name string
	at   time.Duration
	end  bool
}

// TestFaultsUnderLoad: steady closed-loop load (client/load, four
// clients over six devices) through two routers sharing a real Redis to
// three workers, while a script kills a worker (SIGKILL), stops one
// mid-stream (SIGSTOP; the routers cut its silent streams after their
// 2-s idle timeout; SIGCONT after 3 s), slows one to a quarter of its
// speed for 6 s (it answers slowly and is not cut), stops and restarts Redis, restarts
// a router (out of the clients' rotation first, as a load balancer
// following readiness would) and rotates a worker's certificate. Every
// request ends in a verified reply, a truncation the client reports
// (crypto.ErrStreamTruncated) or a typed refusal; no worker serves a rid
// twice; throughput recovers after each fault within the bound above.
// SOTTO_FAULT_TIMELINE=path writes the timeline (CSV) for scripts/chart.
func TestFaultsUnderLoad(t *testing.T) {
	f := newFaultRun(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reps := make(chan *load.Report, 1)
	f.t0 = time.Now()
	go func() {
		rep, _ := load.Run(ctx, load.Config{Target: f.rot, Concurrency: 4, Duration: 5 * time.Minute,
			RequestTimeout: 30 * time.Second, Workload: load.Workload{MaxTokens: load.Fixed(24), PromptWords: load.Dist{Min: 4, Max: 16}}})
		reps <- rep
	}()
	f.script()
	f.rot.drain()
	cancel()
	rep := <-reps
	samples := f.check(rep.Samples)
	if path := os.Getenv("SOTTO_FAULT_TIMELINE"); path != "" {
		if err := writeTimeline(path, f.t0, samples, f.events); err != nil {
			t.Fatal(err)
		}
	}
}

func newFaultRun(t *testing.T) *faultRun {
	t.Helper()
	rdb, addr := testenv.Redis(t)
	c := newClusterWith(t, 3, "MAX_STREAMS_PER_DEVICE=8")
	keys := enrolDevices(t, c, c.workers, 6)
	secret := filepath.Join(c.dir, "shared.secret")
	if err := os.WriteFile(secret, bytes.Repeat([]byte("s3cr3t-"), 8), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &faultRun{t: t, c: c, rdb: rdb, rdbAddr: addr, rot: &rotation{}}
	for range 2 {
		r := c.startRouter(t, "REDIS_URL=redis://"+addr+"/0", "SOTTO_SHARED_SECRET_FILE="+secret,
			"MAX_STREAMS_PER_DEVICE=8", "IP_RATE_LIMIT_PER_MINUTE=100000", "IP_RATE_LIMIT_BURST=10000",
			// Shorter than the 3-s stop: the routers cut what the stopped worker holds.
			"SOTTO_UPSTREAM_FIRST_BYTE_SECONDS=2", "SOTTO_UPSTREAM_IDLE_SECONDS=2")
		f.routers = append(f.routers, r)
		f.rot.add(t, c, r, keys)
	}
	return f
}

// script runs the faults in order, each followed by its recovery window.
func (f *faultRun) script() {
	t, c := f.t, f.c
	f.mark("load starts", true)
	f.settle()
	w1, w2, w3 := c.workers[0], c.workers[1], c.workers[2]
	f.waitBusy(1, false)
	w1.kill(t)
	f.mark("worker1 SIGKILL", true)
	f.settle()
	f.restartWorker(w1)
	f.mark("worker1 back", false)

	f.waitBusy(2, true)
	f.mark("worker2 SIGSTOP", false) // before: a first text seen before it came before the stop
	_ = w2.cmd.Process.Signal(syscall.SIGSTOP)
	time.Sleep(3 * time.Second)
	_ = w2.cmd.Process.Signal(syscall.SIGCONT)
	f.mark("worker2 SIGCONT", true)
	f.settle()

	f.waitBusy(3, true)
	f.mark("worker3 slow", false)
	throttle(w3, slowFor, slowDuty)
	f.mark("worker3 full speed", true)
	f.settle()

	f.mark("Redis stopped", false) // before: go-redis retries the shutdown's lost reply
	_ = f.rdb.Shutdown(t.Context()).Err()
	time.Sleep(2 * time.Second)
	f.rdb, _ = testenv.RedisAt(t, f.rdbAddr)
	f.mark("Redis back", true)
	f.settle()

	f.restartRouter(1)
	f.settle()

	before := strings.Count(w3.logs.String(), "msg=reloaded")
	c.ca.Issue(t, c.dir, w3.name)
	_ = w3.cmd.Process.Signal(syscall.SIGHUP)
	f.mark("worker3 cert rotated", true)
	for i := 0; strings.Count(w3.logs.String(), "msg=reloaded") == before; i++ {
		if i == 500 {
			t.Fatalf("worker3 did not reload\n%s", w3.logs.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	f.settle()
}

// throttle runs w at a quarter of its speed for d: stopped for three
// quarters of every period, running for one.
func throttle(w *proc, d, period time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		_ = w.cmd.Process.Signal(syscall.SIGSTOP)
		time.Sleep(period * 3 / 4)
		_ = w.cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(period / 4)
	}
}

func (f *faultRun) mark(name string, end bool) {
	f.events = append(f.events, faultEvent{name: name, at: time.Since(f.t0), end: end})
}

func (f *faultRun) settle() { time.Sleep(recoverAfter + recoveryWindow) }

// waitBusy waits (boundedly) until a router has a request in flight on
// worker i (1-based), so that the fault meets a stream; with text, until
// also every request in flight has had its first text, so that the one
// on worker i is past it.
func (f *faultRun) waitBusy(i int, text bool) {
	series := fmt.Sprintf(`sotto_upstream_in_flight{upstream="w%d"}`, i)
	for range 500 {
		for _, r := range f.routers {
			if metric(f.t, r, series) >= 1 && (!text || f.rot.waiting.Load() == 0) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Logf("worker%d had no stream in flight when its fault came", i)
}

func (f *faultRun) restartWorker(w *proc) {
	f.ended = append(f.ended, w.logs.Bytes())
	w.start(f.t, "worker")
	w.waitReady(f.t, f.c.mtls)
}

// restartRouter takes router i out of the clients' rotation, stops it
// (SIGTERM: its streams drain), starts it again on its address and puts
// it back once ready.
func (f *faultRun) restartRouter(i int) {
	r := f.routers[i]
	f.rot.out[i].Store(true)
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	f.mark(fmt.Sprintf("router%d SIGTERM", i+1), false)
	_ = r.cmd.Wait()
	r.start(f.t, "router")
	r.waitReady(f.t, http.DefaultClient)
	f.rot.hcs[i].CloseIdleConnections()
	f.rot.out[i].Store(false)
	f.mark(fmt.Sprintf("router%d back", i+1), true)
}

// newDeviceClient is a Go client of router r as the device priv.
func newDeviceClient(t *testing.T, c *cluster, r *proc, hc *http.Client, priv ed25519.PrivateKey) *client.Client {
	t.Helper()
	cl, err := client.New(client.Config{BaseURL: r.url, SigningKey: mustPin(t, c.pin), DeviceKey: priv, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
