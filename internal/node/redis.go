package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay/redisreplay"
)

// redisStartTimeout bounds the eviction-policy check at start.
const redisStartTimeout = 5 * time.Second

// checkRedisAtStart refuses a Redis that may evict keys: rids are stored
// with TTLs, and under a volatile-* (or allkeys-*) policy they go first
// when memory runs short, reopening replay through another router
// (issue 17, item 7). A Redis not reachable yet does not stop the start:
// the router stays not ready until redisReady passes.
func (n *Node) checkRedisAtStart(reg *redisreplay.Register) error {
	ctx, cancel := context.WithTimeout(context.Background(), redisStartTimeout)
	defer cancel()
	err := reg.CheckNoEviction(ctx)
	switch {
	case errors.Is(err, redisreplay.ErrEvictionPolicy):
		return fmt.Errorf("node: REDIS_URL: %w (set maxmemory-policy noeviction: docs/operations.md)", err)
	case redisRefused(err):
		n.log.Warn("Redis refuses CONFIG GET: check by hand that maxmemory-policy is noeviction")
	case err != nil:
		n.log.Warn("Redis not reachable at start: not ready until it answers", "err", err)
	}
	return nil
}

// redisReady is the router's shared-state check (router.Deps.SharedState):
// Redis answers, and its policy is still noeviction where CONFIG GET is
// allowed (some managed services refuse it: then PING).
func redisReady(c *redis.Client, reg *redisreplay.Register) func(context.Context) error {
	return func(ctx context.Context) error {
		err := reg.CheckNoEviction(ctx)
		if redisRefused(err) {
			return c.Ping(ctx).Err()
		}
		return err
	}
}

// redisRefused reports an error reply from Redis (a refused command), as
// opposed to a network failure.
func redisRefused(err error) bool {
	var re redis.Error
	return err != nil && !errors.Is(err, redisreplay.ErrEvictionPolicy) && errors.As(err, &re)
}

// slogRedis routes go-redis's own log lines (pool and dial errors) through
// the process's logger, so LOG_FORMAT and LOG_LEVEL apply to them
// (issue 17, item 13). They name Redis's address, never request content.
type slogRedis struct{ log *slog.Logger }

func (l slogRedis) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	l.log.WarnContext(ctx, "redis client", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}
