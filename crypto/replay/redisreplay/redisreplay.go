// Package redisreplay is a replay.Register kept in Redis, shared by every
// node of a deployment, so that a request replayed to another node is
// refused too.
//
// Each rid is one key, prefix || rid (16 raw bytes), set by a script that
// refuses an expiry already past on Redis's clock and otherwise runs
// SET key 1 NX PXAT expires: the script is atomic in Redis, so of two
// identical requests racing on two nodes at most one is registered, and
// one that reaches Redis after its window closed is refused (a key set
// with a past PXAT would vanish at once and let every copy through).
// Entries expire in Redis itself. The register must never evict a live
// entry, so Redis must run with maxmemory-policy noeviction (check it with
// CheckNoEviction); a full Redis refuses writes with an OOM error, which
// Add returns as replay.ErrFull.
package redisreplay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay"
)

// DefaultPrefix starts every key of the register.
const DefaultPrefix = "sotto:v1:rid:"

// Register is a replay.Register in Redis. It is safe for concurrent use.
type Register struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ replay.Register = (*Register)(nil)

// New returns a register using client c and key prefix (DefaultPrefix when
// empty). The caller owns c.
func New(c redis.UniversalClient, prefix string) *Register {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Register{c: c, prefix: prefix, now: time.Now}
}

func (r *Register) key(rid [16]byte) string { return r.prefix + string(rid[:]) }

// Seen reports whether rid is registered and not expired.
func (r *Register) Seen(ctx context.Context, rid [16]byte) (bool, error) {
	n, err := r.c.Exists(ctx, r.key(rid)).Result()
	if err != nil {
		return false, fmt.Errorf("redisreplay: %w", err)
	}
	return n > 0, nil
}

// addScript registers KEYS[1] until the Unix millisecond ARGV[1] unless
// that instant has passed on Redis's clock (-1) or the key exists (0).
// Redis's clock decides, so nodes whose clocks disagree still register a
// rid at most once.
var addScript = redis.NewScript(`
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ms >= tonumber(ARGV[1]) then return -1 end
if redis.call('SET', KEYS[1], 1, 'NX', 'PXAT', ARGV[1]) then return 1 end
return 0
`)

// Add registers rid until expires (rounded up to the millisecond). It
// fails with replay.ErrReplay when rid is registered, replay.ErrExpired
// when expires is not after now (on this node's clock or on Redis's), and
// replay.ErrFull when Redis is out of memory.
func (r *Register) Add(ctx context.Context, rid [16]byte, expires time.Time) error {
	if !r.now().Before(expires) {
		return replay.ErrExpired
	}
	at := expiryMillis(expires)
	n, err := addScript.Run(ctx, r.c, []string{r.key(rid)}, at).Int()
	switch {
	case err == nil && n == 1:
		return nil
	case err == nil && n == 0:
		return replay.ErrReplay
	case err == nil:
		return replay.ErrExpired
	case redis.IsOOMError(err):
		return replay.ErrFull
	}
	return fmt.Errorf("redisreplay: %w", err)
}

// ErrEvictionPolicy is returned by CheckNoEviction when Redis may evict
// keys under memory pressure.
var ErrEvictionPolicy = errors.New("redisreplay: Redis maxmemory-policy must be noeviction")

// CheckNoEviction verifies that Redis never evicts keys (maxmemory-policy
// noeviction). It fails with another error when Redis does not allow
// CONFIG GET (some managed services); check the setting by hand then.
func (r *Register) CheckNoEviction(ctx context.Context) error {
	m, err := r.c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return fmt.Errorf("redisreplay: reading maxmemory-policy: %w", err)
	}
	if m["maxmemory-policy"] != "noeviction" {
		return ErrEvictionPolicy
	}
	return nil
}
