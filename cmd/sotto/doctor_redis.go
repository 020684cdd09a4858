package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay/redisreplay"
	"github.com/sottolabs/sotto/server/config"
)

// checkRedis: a router sharing state in Redis refuses to start unless
// Redis never evicts keys (rids have TTLs and would be evicted first,
// reopening replay through another router). The doctor says so before.
func checkRedis(cfg config.Config) finding {
	const name = "redis"
	opts, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fail(name, "REDIS_URL is not a valid Redis URL", "use redis://[user:password@]host:port/db or rediss://")
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = redisreplay.New(c, "").CheckNoEviction(ctx)
	var re redis.Error
	switch {
	case errors.Is(err, redisreplay.ErrEvictionPolicy):
		return fail(name, "maxmemory-policy is not noeviction: replay protection could be evicted",
			"set maxmemory-policy noeviction in redis.conf (CONFIG SET maxmemory-policy noeviction, then CONFIG REWRITE); the router refuses to start")
	case errors.As(err, &re):
		return warn(name, "Redis refuses CONFIG GET: the eviction policy cannot be checked",
			"make sure maxmemory-policy is noeviction (managed services: in the parameter group)")
	case err != nil:
		return fail(name, opts.Addr+" does not answer", "start Redis, or fix REDIS_URL; the router is not ready without it")
	}
	return ok(name, opts.Addr+": maxmemory-policy noeviction")
}
