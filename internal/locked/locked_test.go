package locked

import (
	"errors"
	"os"
	"testing"
)

func TestCost(t *testing.T) {
	p := int64(os.Getpagesize())
	for _, tc := range []struct {
		n    int
		want int64
	}{{0, p}, {1, p}, {int(p), p}, {int(p) + 1, 2 * p}, {3 * int(p), 3 * p}} {
		if got := Cost(tc.n); got != tc.want {
			t.Errorf("Cost(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

// TestBudgetRefusesBeforeTheLimit: allocations past the limit fail with
// ErrExhausted (and allocate nothing), and Destroy gives the pages back.
func TestBudgetRefusesBeforeTheLimit(t *testing.T) {
	p := int(Cost(1))
	b := NewBudget(int64(2 * p))
	first, err := b.Alloc(p)
	if err != nil {
		t.Fatal(err)
	}
	second, err := b.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.InUse(); got != int64(2*p) {
		t.Fatalf("InUse = %d, want %d", got, 2*p)
	}
	if _, err := b.Alloc(1); !errors.Is(err, ErrExhausted) {
		t.Fatalf("third Alloc: err %v, want ErrExhausted", err)
	}
	if got := b.InUse(); got != int64(2*p) {
		t.Fatalf("a refused Alloc changed InUse to %d", got)
	}
	first.Destroy()
	first.Destroy() // idempotent
	if got := b.InUse(); got != int64(p) {
		t.Fatalf("after Destroy InUse = %d, want %d", got, p)
	}
	third, err := b.Alloc(p)
	if err != nil {
		t.Fatalf("Alloc after Destroy: %v", err)
	}
	if b.Peak() != int64(2*p) {
		t.Fatalf("Peak = %d, want %d", b.Peak(), 2*p)
	}
	second.Destroy()
	third.Destroy()
	if b.InUse() != 0 {
		t.Fatalf("InUse = %d after destroying everything", b.InUse())
	}
}

func TestBufferZeroedAndWiped(t *testing.T) {
	b := NewBudget(Unlimited)
	buf, err := b.Alloc(100)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Destroy()
	if buf.Len() != 100 {
		t.Fatalf("Len = %d", buf.Len())
	}
	for i, c := range buf.Bytes() {
		if c != 0 {
			t.Fatalf("byte %d = %#x, want zeroed memory", i, c)
		}
	}
	copy(buf.Bytes(), "secret")
	buf.Wipe()
	if string(buf.Bytes()[:6]) != "\x00\x00\x00\x00\x00\x00" {
		t.Fatal("Wipe left data")
	}
	if _, err := b.Alloc(0); err == nil {
		t.Fatal("Alloc(0) succeeded")
	}
}
