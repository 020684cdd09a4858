package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Redis is a Limiter shared by every process that uses the same Redis and
// the same Keyer: GCRA (github.com/go-redis/redis_rate), perMinute
// requests a minute with bursts of burst. Keys are stored under prefix.
// When Redis cannot answer, Allow returns the error and callers refuse
// (fail closed).
type Redis struct {
	lim    *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
}

// NewRedis returns a limiter over c.
func NewRedis(c *redis.Client, perMinute, burst int, prefix string) *Redis {
	return &Redis{lim: redis_rate.NewLimiter(c), limit: redis_rate.Limit{Rate: perMinute, Burst: burst, Period: time.Minute},
		prefix: prefix}
}

// Allow spends one request of key's allowance. now is ignored: GCRA runs
// on the Redis server's clock, the one clock every router shares.
func (r *Redis) Allow(ctx context.Context, key string, _ time.Time) (Decision, error) {
	res, err := r.lim.Allow(ctx, r.prefix+key, r.limit)
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	d := Decision{Allowed: res.Allowed > 0, Remaining: res.Remaining}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, time.Millisecond)
	}
	return d, nil
}

var _ Limiter = (*Redis)(nil)
