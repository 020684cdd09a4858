package redisreplay

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay"
)

var _ replay.Releaser = (*Register)(nil)

// releaseScript deletes KEYS[1] only while its expiry is the Unix
// millisecond ARGV[1]: the key Add set for this claim. No two live claims
// of one rid exist (SET NX), and a claim whose expiry has passed is
// refused, so the rid and its expiry name one claim; a key set by another
// claim since (after this one expired) is kept. PEXPIRETIME needs Redis
// 7.0; an older Redis fails the release, and the claim stays.
var releaseScript = redis.NewScript(`
if redis.call('PEXPIRETIME', KEYS[1]) == tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// Release withdraws the claim Add made for rid until expires.
func (r *Register) Release(ctx context.Context, rid [16]byte, expires time.Time) error {
	at := expiryMillis(expires)
	if err := releaseScript.Run(ctx, r.c, []string{r.key(rid)}, at).Err(); err != nil {
		return fmt.Errorf("redisreplay: release: %w", err)
	}
	return nil
}

// expiryMillis is expires rounded up to Redis's millisecond.
func expiryMillis(expires time.Time) int64 { return expires.Add(time.Millisecond - 1).UnixMilli() }
