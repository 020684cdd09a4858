package router

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/replay/redisreplay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestForgeryDoesNotSpendRID: a forgery carrying a genuine request's rid
// (its ciphertext changed, re-signed by another device) that the worker
// refuses #envelope, and a request every worker answers 503, leave the
// rid unregistered at the router: the genuine request is then relayed,
// not refused #replay. A relayed stream spends it. Both registers: in
// memory, and in a real Redis (routers that share one).
func TestForgeryDoesNotSpendRID(t *testing.T) {
	t.Run("memory", func(t *testing.T) { forgeryDoesNotSpendRID(t, replay.NewMemory(100)) })
	t.Run("redis", func(t *testing.T) {
		c, _ := testenv.Redis(t)
		forgeryDoesNotSpendRID(t, redisreplay.New(c, "test:"))
	})
}

func forgeryDoesNotSpendRID(t *testing.T, reg replay.Register) {
	var forger string
	w := newFakeWorker(t, http.StatusOK)
	judge := newFakeWorkerFunc(t, func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get(wire.HeaderDevice) == forger {
			rw.Header().Set("Content-Type", wire.MediaTypeProblem)
			rw.WriteHeader(http.StatusBadRequest)
			_, _ = rw.Write([]byte(`{"type":"` + wire.ProblemType(wire.ProblemEnvelope) + `","title":"x","status":400}`))
			return
		}
		w.chat(rw, r)
	})
	ts, _ := newTestRouterWith(t, func(_ *Config, d *Deps) { d.Replay = reg }, judge)
	body, h := sealed(t)
	forged := bytes.Clone(body)
	forged[len(forged)-1] ^= 1
	fh := signed(t, forged)
	forger = fh.Get(wire.HeaderDevice)
	resp, got := post(t, ts.URL, forged, fh)
	wantProblem(t, resp, got, http.StatusBadRequest, wire.ProblemEnvelope)

	w.mu.Lock()
	w.status = http.StatusServiceUnavailable
	w.mu.Unlock()
	resp, got = post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusServiceUnavailable, wire.ProblemOverloaded)

	w.mu.Lock()
	w.status = http.StatusOK
	w.mu.Unlock()
	if resp, got := post(t, ts.URL, body, h); resp.StatusCode != 200 || !bytes.Equal(got, bytes.Join(stream, nil)) {
		t.Fatalf("the genuine request after a forgery and a 503: %d %q", resp.StatusCode, got)
	}
	resp, got = post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusBadRequest, wire.ProblemReplay)
}

// clock is a settable clock for the router and its register.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// slowPolicy trusts every device, and the window moves on while it
// decides.
type slowPolicy struct{ clk *clock }

func (p slowPolicy) Trusted(context.Context, device.Key) error {
	p.clk.add(61 * time.Second)
	return nil
}

// TestExpiredDuringChecks: a request whose window ends while the router
// checks it gets 400 #date with the router's Date, as from a server, not
// 503 #overloaded, and raises no shared-state alert.
func TestExpiredDuringChecks(t *testing.T) {
	clk := &clock{t: time.Now()}
	ts, r := newTestRouterWith(t, func(_ *Config, d *Deps) {
		d.Now, d.Replay, d.Devices = clk.Now, replay.NewMemoryClock(100, clk.Now), slowPolicy{clk}
	}, newFakeWorker(t, http.StatusOK))
	body, h := sealed(t)
	resp, got := post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusBadRequest, wire.ProblemDate)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(clk.Now().Truncate(time.Second)) {
		t.Fatalf("Date %q, want the router's clock %v", resp.Header.Get("Date"), clk.Now())
	}
	if n := testutil.ToFloat64(r.metrics.stateErrors.WithLabelValues("replay")); n != 0 {
		t.Fatalf("%v shared-state errors counted", n)
	}
}
