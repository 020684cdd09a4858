package router

import (
	"context"
	"time"
)

// watchShared checks the shared state (Redis) every health interval while
// ctx lasts, so that /health/ready answers 503 while it fails: with Redis
// down every chat is refused (fail closed), and a load balancer should
// send its traffic to a router that can serve it. The result of the last
// check is kept; readiness never waits on Redis.
func (r *Router) watchShared(ctx context.Context) {
	t := time.NewTicker(r.cfg.HealthInterval)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, r.healthTimeout())
		err := r.d.SharedState(cctx)
		cancel()
		if ok := err == nil; r.sharedOK.Swap(ok) != ok {
			if ok {
				r.log.Info("shared state reachable: ready")
			} else {
				r.log.Warn("shared state failing: not ready", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sharedReady reports whether the shared state's last check passed (true
// without shared state).
func (r *Router) sharedReady() bool {
	return r.d.SharedState == nil || r.sharedOK.Load()
}
