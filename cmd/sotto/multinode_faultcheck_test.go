package main

import (
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/load"
)

// rotation is the load's target: requests take turns over the routers in
// rotation (a load balancer following readiness) and over the devices.
type rotation struct {
	clients  [][]*client.Client // per router, per device
	hcs      []*http.Client     // per router
	out      [2]atomic.Bool     // router taken out of rotation
	next     atomic.Uint64
	stop     atomic.Bool
	inFlight atomic.Int64
	waiting  atomic.Int64 // requests in flight without their first text yet
}

func (r *rotation) add(t *testing.T, c *cluster, p *proc, keys []ed25519.PrivateKey) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var cls []*client.Client
	for _, k := range keys {
		cls = append(cls, newDeviceClient(t, c, p, hc, k))
	}
	r.clients, r.hcs = append(r.clients, cls), append(r.hcs, hc)
}

// Send sends through the next router in rotation. Once the run is
// stopping it sends nothing and waits for the run's end ("stopped",
// left out of the checks).
func (r *rotation) Send(ctx context.Context, req *load.Request, onDelta func([]byte)) load.Outcome {
	r.inFlight.Add(1)
	if r.stop.Load() {
		r.inFlight.Add(-1)
		<-ctx.Done()
		return load.Outcome{Failure: "stopped"}
	}
	defer r.inFlight.Add(-1)
	n := r.next.Add(1)
	ri := int(n % uint64(len(r.clients)))
	if r.out[ri].Load() {
		ri = (ri + 1) % len(r.clients)
	}
	cls := r.clients[ri]
	r.waiting.Add(1)
	first := true
	o := load.Sotto{Client: cls[int(n/2)%len(cls)]}.Send(ctx, req, func(text []byte) {
		if first {
			first = false
			r.waiting.Add(-1)
		}
		onDelta(text)
	})
	if first {
		r.waiting.Add(-1)
	}
	if o.Refused {
		time.Sleep(100 * time.Millisecond) // a client backs off after a refusal
	}
	return o
}

// drain stops sending and waits for the requests in flight to end.
func (r *rotation) drain() {
	r.stop.Store(true)
	for i := 0; r.inFlight.Load() > 0 && i < 3000; i++ {
		time.Sleep(10 * time.Millisecond)
	}
}

// allowed reports whether an outcome is one the test accepts: a verified
// reply, a truncation the client reports, or a refusal with a problem
// name.
func allowed(s load.Sample) bool {
	return s.Failure == "" || s.Failure == "stream-truncated" || s.Refused && !strings.HasPrefix(s.Failure, "http-")
}

// check asserts every outcome, the rids and the recovery windows, and
// returns the samples of the run (without the stopped ones).
func (f *faultRun) check(all []load.Sample) []load.Sample {
	t := f.t
	var samples []load.Sample
	outcomes := map[string]int{}
	for _, s := range all {
		if s.Failure == "stopped" {
			continue
		}
		samples = append(samples, s)
		outcomes[outcome(s)]++
		if !allowed(s) {
			t.Errorf("request at %v ended %q: want a verified reply, a truncation or a typed refusal",
				s.Start.Sub(f.t0).Round(time.Millisecond), s.Failure)
		}
	}
	t.Logf("outcomes %v; events %v", outcomes, f.events)
	f.checkRIDs(outcomes["ok"])
	f.checkHung(samples)
	f.checkSlow(samples)
	base := -1
	for _, e := range f.events {
		if !e.end {
			continue
		}
		from := f.t0.Add(e.at + recoverAfter)
		n := successesIn(samples, from, from.Add(recoveryWindow))
		if base < 0 {
			base = n
		}
		t.Logf("%s: %d successes in the window, baseline %d", e.name, n, base)
		if n < max(1, base/4) {
			t.Errorf("after %s: %d successes in [+%v, +%v], want >= %d (a quarter of the baseline %d)",
				e.name, n, recoverAfter, recoverAfter+recoveryWindow, max(1, base/4), base)
		}
	}
	return samples
}

// checkSlow: a worker that answers slowly is not cut. No request that
// ended while worker3 was slow, or within recoverAfter of its return to
// full speed, was truncated, timed out or lost (a refusal for load, such
// as #overloaded, is allowed); and some were verified.
func (f *faultRun) checkSlow(samples []load.Sample) {
	for i, e := range f.events {
		if e.name != "worker3 slow" || i+1 == len(f.events) {
			continue
		}
		from, to := f.t0.Add(e.at), f.t0.Add(f.events[i+1].at+recoverAfter)
		ok := 0
		for _, s := range samples {
			if end := s.Start.Add(s.E2E); end.Before(from) || end.After(to) {
				continue
			}
			switch {
			case s.Failure == "":
				ok++
			case !s.Refused || strings.HasPrefix(s.Failure, "worker-"):
				f.t.Errorf("request at %v, while worker3 was slow, ended %q: a slow worker must not be cut",
					s.Start.Sub(f.t0).Round(time.Millisecond), s.Failure)
			}
		}
		f.t.Logf("while worker3 was slow: %d verified replies", ok)
		if ok == 0 {
			f.t.Errorf("no verified reply while worker3 was slow")
		}
	}
}

func successesIn(samples []load.Sample, from, to time.Time) int {
	n := 0
	for _, s := range samples {
		if end := s.Start.Add(s.E2E); s.Failure == "" && !end.Before(from) && !end.After(to) {
			n++
		}
	}
	return n
}

var chatRID = regexp.MustCompile(`msg=chat rid=(\w+)`)

// checkRIDs: no worker process logs a rid twice (rids are hashed under a
// per-process key, so a process's lines compare among themselves), and
// the workers served at least the replies the clients verified.
func (f *faultRun) checkRIDs(ok int) {
	served := 0
	logs := f.ended
	for _, w := range f.c.workers {
		logs = append(logs, w.logs.Bytes())
	}
	for i, l := range logs {
		seen := map[string]bool{}
		for _, m := range chatRID.FindAllSubmatch(l, -1) {
			if seen[string(m[1])] {
				f.t.Errorf("worker log %d served rid %s twice", i, m[1])
			}
			seen[string(m[1])] = true
			served++
		}
	}
	if served < ok {
		f.t.Errorf("workers logged %d streams served, clients verified %d replies", served, ok)
	}
}

// outcome names a sample in the timeline: ok, truncated, refused:NAME,
// or the failure's name.
func outcome(s load.Sample) string {
	switch {
	case s.Failure == "":
		return "ok"
	case s.Failure == "stream-truncated":
		return "truncated"
	case s.Refused:
		return "refused:" + s.Failure
	}
	return s.Failure
}

// writeTimeline writes one row per request (start, end, outcome) and one
// per fault event, times in seconds from the start of the load.
func writeTimeline(path string, t0 time.Time, samples []load.Sample, events []faultEvent) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	sec := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }
	_ = w.Write([]string{"kind", "start_s", "end_s", "outcome"})
	for _, s := range samples {
		_ = w.Write([]string{"request", sec(s.Start.Sub(t0)), sec(s.Start.Add(s.E2E).Sub(t0)), outcome(s)})
	}
	for _, e := range events {
		_ = w.Write([]string{"fault", sec(e.at), sec(e.at), e.name})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("timeline: %w", err)
	}
	return f.Close()
}

// checkHung: the stopped worker held at least one stream past its first
// text (it reached the client before the SIGSTOP) until the router cut it
// for its silence (2 s), a truncation the client reported.
func (f *faultRun) checkHung(samples []load.Sample) {
	var stop time.Time
	for _, e := range f.events {
		if e.name == "worker2 SIGSTOP" {
			stop = f.t0.Add(e.at)
		}
	}
	hung := 0
	for _, s := range samples {
		cut := s.Failure == "stream-truncated" && s.Start.Add(s.E2E).After(stop.Add(time.Second))
		if s.TTFT > 0 && s.Start.Add(s.TTFT).Before(stop) && cut {
			hung++
		}
	}
	f.t.Logf("%d streams hung after their first text on the stopped worker, cut by the router", hung)
	if hung == 0 {
		f.t.Error("no stream past its first text on the stopped worker ended in a truncation")
	}
}
