package router

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
)

// Health-check policy: a worker leaves the pool after unhealthyAfter
// failed checks in a row and returns after one good check; the key
// configuration is refreshed from a healthy worker every keyRefresh.
const (
	unhealthyAfter  = 2
	keyRefresh      = 30 * time.Second
	maxKeyDocBytes  = 256 << 10
	maxCapacityBody = 4 << 10
)

// keyDoc is the workers' signed key configuration, served unchanged, and
// its keys, for check 4.
type keyDoc struct {
	body     []byte
	keys     []keyconfig.Key
	fetched  time.Time
	issuedAt time.Time // see nextKeyDoc
	expires  time.Time
}

// Run checks every upstream's health and capacity every health interval,
// and refreshes the key configuration, until ctx ends; it returns after
// every goroutine it started has.
func (r *Router) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, u := range r.pool.ups {
		wg.Go(func() { r.watch(ctx, u) })
	}
	if r.d.SharedState != nil {
		wg.Go(func() { r.watchShared(ctx) })
	}
	wg.Wait()
}

// watch is the health-check loop of one upstream.
func (r *Router) watch(ctx context.Context, u *Upstream) {
	t := time.NewTicker(r.cfg.HealthInterval)
	defer t.Stop()
	for {
		r.check(ctx, u)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// check asks u for its capacity (which also proves its readiness over
// mutual TLS) and, when due, for the key configuration.
func (r *Router) check(ctx context.Context, u *Upstream) {
	ctx, cancel := context.WithTimeout(ctx, r.healthTimeout())
	defer cancel()
	var c Capacity
	if err := r.getJSON(ctx, u.URL+wire.PathCapacity, maxCapacityBody, &c); err != nil || !c.Ready {
		if u.failures.Add(1) >= unhealthyAfter && u.healthy.Swap(false) {
			r.log.Warn("worker removed from the pool", "upstream", u.Name)
		}
		r.metrics.setHealthy(u, u.healthy.Load())
		return
	}
	u.capacity.Store(&c)
	u.failures.Store(0)
	if !u.healthy.Swap(true) {
		r.log.Info("worker in the pool", "upstream", u.Name)
	}
	r.metrics.setHealthy(u, true)
	if d := r.keys.Load(); d == nil || time.Since(d.fetched) > keyRefresh {
		r.refreshKeys(ctx, u)
	}
}

func (r *Router) healthTimeout() time.Duration {
	return max(r.cfg.HealthInterval, 2*time.Second)
}

// refreshKeys fetches the signed key configuration from u. The router
// cannot check its signature's meaning for clients (they pin the signing
// key); it checks the document's form (keyconfig.Parse), serves it as is
// and runs check 4 against its keys.
func (r *Router) refreshKeys(ctx context.Context, u *Upstream) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL+wire.PathPubkey, nil)
	if err != nil {
		return
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyDocBytes+1))
	if err != nil || resp.StatusCode != http.StatusOK || len(body) > maxKeyDocBytes {
		return
	}
	d, err := keyconfig.Parse(body)
	if err != nil {
		return
	}
	now := time.Now()
	r.offerKeys(&keyDoc{body: body, keys: d.Keys, fetched: now, issuedAt: d.IssuedAt, expires: d.Expires}, now)
}

// getJSON GETs url and decodes at most limit bytes of its JSON body.
func (r *Router) getJSON(ctx context.Context, url string, limit int64, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errUpstream
	}
	return json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v)
}
