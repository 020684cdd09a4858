package redisreplay

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/testenv"
)

// startRedis runs a private redis-server for the test (testenv.Redis).
func startRedis(t *testing.T, args ...string) *redis.Client {
	t.Helper()
	c, _ := testenv.Redis(t, args...)
	return c
}

func rid(i byte) [16]byte { return [16]byte{0: i, 15: 0x55} }

func TestRegister(t *testing.T) {
	ctx := context.Background()
	c := startRedis(t, "--maxmemory-policy", "noeviction")
	r := New(c, "test:")
	if err := r.CheckNoEviction(ctx); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute)
	if seen, err := r.Seen(ctx, rid(1)); seen || err != nil {
		t.Fatalf("Seen on empty register: %v, %v", seen, err)
	}
	if err := r.Add(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if seen, err := r.Seen(ctx, rid(1)); !seen || err != nil {
		t.Fatalf("Seen after Add: %v, %v", seen, err)
	}
	if err := r.Add(ctx, rid(1), exp); !errors.Is(err, replay.ErrReplay) {
		t.Fatalf("second Add = %v, want ErrReplay", err)
	}
	pexp, err := c.PExpireTime(ctx, r.key(rid(1))).Result()
	if err != nil || pexp != time.Duration(exp.Add(time.Millisecond-1).UnixMilli())*time.Millisecond {
		t.Fatalf("expiry %v (%v), want ts + window rounded up to the ms", pexp, err)
	}
	if err := r.Add(ctx, rid(2), time.Now().Add(-time.Second)); !errors.Is(err, replay.ErrExpired) {
		t.Fatalf("Add of an expired rid = %v, want ErrExpired", err)
	}
	if n, _ := c.Exists(ctx, r.key(rid(2))).Result(); n != 0 {
		t.Fatal("expired rid stored")
	}
}

func TestRegisterRace(t *testing.T) {
	c := startRedis(t)
	r := New(c, "")
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			switch err := r.Add(context.Background(), rid(7), time.Now().Add(time.Minute)); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, replay.ErrReplay):
				replays.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 15 {
		t.Fatalf("%d wins, %d replays; want 1 and 15", wins.Load(), replays.Load())
	}
}

// TestRegisterExpiredOnRedisClock: an expiry this node still sees in the
// future but Redis's clock has passed (a node whose clock runs slow) is
// refused by Redis itself, so skewed nodes cannot each register it.
func TestRegisterExpiredOnRedisClock(t *testing.T) {
	ctx := context.Background()
	c := startRedis(t)
	r := New(c, "")
	r.now = func() time.Time { return time.Now().Add(-time.Hour) }
	if err := r.Add(ctx, rid(3), time.Now().Add(-time.Second)); !errors.Is(err, replay.ErrExpired) {
		t.Fatalf("Add past Redis's clock = %v, want ErrExpired", err)
	}
	if n, _ := c.Exists(ctx, r.key(rid(3))).Result(); n != 0 {
		t.Fatal("expired rid stored")
	}
}

// TestRegisterRaceAtWindowEdge: copies of one request registered around
// the end of its window, as slowly sent bodies complete: at most one is
// registered, every other is refused as a replay or as expired.
func TestRegisterRaceAtWindowEdge(t *testing.T) {
	c := startRedis(t)
	r := New(c, "")
	expires := time.Now().Add(100 * time.Millisecond)
	var wins, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			time.Sleep(time.Until(expires.Add(time.Duration(i-12) * 10 * time.Millisecond)))
			switch err := r.Add(context.Background(), rid(8), expires); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, replay.ErrReplay), errors.Is(err, replay.ErrExpired):
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() > 1 || wins.Load()+refused.Load() != 24 {
		t.Fatalf("%d registered, %d refused; want at most 1 registered", wins.Load(), refused.Load())
	}
}

func TestFullAndPolicy(t *testing.T) {
	ctx := context.Background()
	c := startRedis(t, "--maxmemory", "1mb", "--maxmemory-policy", "noeviction")
	r := New(c, "")
	// Fill Redis with a large value, then registering must fail as full.
	if err := c.Set(ctx, "ballast", make([]byte, 2<<20), 0).Err(); err != nil && !redis.IsOOMError(err) {
		t.Fatal(err)
	}
	if err := r.Add(ctx, rid(1), time.Now().Add(time.Minute)); !errors.Is(err, replay.ErrFull) {
		t.Fatalf("Add to a full Redis = %v, want ErrFull", err)
	}
	c2 := startRedis(t, "--maxmemory-policy", "allkeys-lru")
	if err := New(c2, "").CheckNoEviction(ctx); !errors.Is(err, ErrEvictionPolicy) {
		t.Fatalf("CheckNoEviction under allkeys-lru = %v", err)
	}
}

// TestRelease: a released claim frees its rid in Redis; a release naming
// another expiry (a later claim of the same rid) deletes nothing.
func TestRelease(t *testing.T) {
	ctx := context.Background()
	r := New(startRedis(t), "test:")
	exp := time.Now().Add(time.Minute)
	if err := r.Add(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(ctx, rid(1), exp.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if seen, err := r.Seen(ctx, rid(1)); !seen || err != nil {
		t.Fatalf("after releasing another claim: seen %v (%v)", seen, err)
	}
	if err := r.Release(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if seen, err := r.Seen(ctx, rid(1)); seen || err != nil {
		t.Fatalf("after its release: seen %v (%v)", seen, err)
	}
	if err := r.Add(ctx, rid(1), exp); err != nil {
		t.Fatalf("Add after release: %v", err)
	}
}
