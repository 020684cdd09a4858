package replay

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func memoryAt(capacity int, now *time.Time) *Memory {
	m := NewMemory(capacity)
	m.now = func() time.Time { return *now }
	return m
}

func rid(i byte) [16]byte { return [16]byte{0: i, 15: 0xAA} }

func TestCheckTime(t *testing.T) {
	w := 60 * time.Second
	for _, c := range []struct {
		off  time.Duration
		want error
	}{
		{0, nil}, {w, nil}, {-w, nil},
		{w + time.Millisecond, ErrStale}, {-w - time.Millisecond, ErrStale},
	} {
		if err := CheckTime(t0.Add(c.off), t0, w); err != c.want {
			t.Errorf("CheckTime(now%+v) = %v, want %v", c.off, err, c.want)
		}
	}
}

func TestMemoryReplayAndExpiry(t *testing.T) {
	ctx := context.Background()
	now := t0
	m := memoryAt(10, &now)
	ts := t0.Add(30 * time.Second) // future-dated within the window
	exp := Expiry(ts, DefaultWindow)
	if seen, _ := m.Seen(ctx, rid(1)); seen {
		t.Fatal("empty register saw a rid")
	}
	if err := m.Add(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if seen, _ := m.Seen(ctx, rid(1)); !seen {
		t.Fatal("registered rid not seen")
	}
	if err := m.Add(ctx, rid(1), exp); !errors.Is(err, ErrReplay) {
		t.Fatalf("second Add = %v, want ErrReplay", err)
	}
	// Still registered one nanosecond before ts + window, long after
	// arrival + window.
	now = exp.Add(-time.Nanosecond)
	if seen, _ := m.Seen(ctx, rid(1)); !seen {
		t.Fatal("rid forgotten before ts + window")
	}
	now = exp
	if seen, _ := m.Seen(ctx, rid(1)); seen {
		t.Fatal("rid seen at ts + window")
	}
	now = exp.Add(time.Second) // sweeps go by whole seconds
	_, _ = m.Seen(ctx, rid(2))
	if m.Len() != 0 {
		t.Fatalf("expired entry not swept: Len = %d", m.Len())
	}
	if err := m.Add(ctx, rid(1), exp.Add(time.Minute)); err != nil {
		t.Fatalf("Add after expiry: %v", err)
	}
	if err := m.Add(ctx, rid(2), now); !errors.Is(err, ErrExpired) || m.Len() != 1 {
		t.Fatalf("Add of an already expired rid: %v, Len %d; want ErrExpired, 1", err, m.Len())
	}
}

func TestMemoryFullNeverEvicts(t *testing.T) {
	ctx := context.Background()
	now := t0
	m := memoryAt(3, &now)
	for i := range byte(3) {
		if err := m.Add(ctx, rid(i), t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Add(ctx, rid(9), t0.Add(time.Minute)); !errors.Is(err, ErrFull) {
		t.Fatalf("Add to a full register = %v, want ErrFull", err)
	}
	for i := range byte(3) {
		if seen, _ := m.Seen(ctx, rid(i)); !seen {
			t.Fatalf("live entry %d evicted", i)
		}
	}
	now = t0.Add(1500 * time.Millisecond) // rid(0) expired
	if err := m.Add(ctx, rid(9), t0.Add(time.Minute)); err != nil {
		t.Fatalf("Add after an entry expired: %v", err)
	}
	now = t0.Add(24 * time.Hour) // long idle: sweep by bucket
	if seen, _ := m.Seen(ctx, rid(9)); seen || m.Len() != 0 {
		t.Fatalf("after a day: seen %v, Len %d", seen, m.Len())
	}
}

// TestMemoryRace: of many goroutines adding the same rid, exactly one wins.
func TestMemoryRace(t *testing.T) {
	m := NewMemory(100)
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			switch err := m.Add(context.Background(), rid(7), time.Now().Add(time.Minute)); err {
			case nil:
				wins.Add(1)
			case ErrReplay:
				replays.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 15 {
		t.Fatalf("%d wins, %d replays; want 1 and 15", wins.Load(), replays.Load())
	}
}

// TestMemoryRaceAtWindowEdge: copies of one request registered around the
// end of its window (slowly sent bodies completing): at most one is
// registered; every other is refused as a replay or as expired.
func TestMemoryRaceAtWindowEdge(t *testing.T) {
	m := NewMemory(100)
	expires := time.Now().Add(50 * time.Millisecond)
	var wins, refused atomic.Int32
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			time.Sleep(time.Until(expires.Add(time.Duration(i-12) * 5 * time.Millisecond)))
			switch err := m.Add(context.Background(), rid(9), expires); {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrReplay), errors.Is(err, ErrExpired):
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

func BenchmarkMemoryAdd(b *testing.B) {
	m := NewMemory(1 << 20)
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	var r [16]byte
	for i := 0; b.Loop(); i++ {
		r[0], r[1], r[2] = byte(i), byte(i>>8), byte(i>>16)
		if err := m.Add(ctx, r, exp); err != nil && err != ErrReplay {
			b.Fatal(err)
		}
	}
}

// TestMemoryRelease: a released claim frees its rid; a release naming
// another expiry (a later claim of the same rid) removes nothing.
func TestMemoryRelease(t *testing.T) {
	ctx, now := context.Background(), t0
	m := memoryAt(10, &now)
	exp := now.Add(time.Minute)
	if err := m.Add(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if err := m.Release(ctx, rid(1), exp.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, rid(1), exp); !errors.Is(err, ErrReplay) {
		t.Fatalf("after releasing another claim: Add = %v, want ErrReplay", err)
	}
	if err := m.Release(ctx, rid(1), exp); err != nil {
		t.Fatal(err)
	}
	if seen, _ := m.Seen(ctx, rid(1)); seen || m.Len() != 0 {
		t.Fatalf("after its release: seen %v, %d entries", seen, m.Len())
	}
	if err := m.Add(ctx, rid(1), exp); err != nil {
		t.Fatalf("Add after release: %v", err)
	}
}
