package locked

import (
	"bytes"
	"errors"
	"testing"
)

// TestEnclaveRoundTrip: a sealed secret opens to the same bytes in a
// locked buffer charged to the budget; Seal wipes and frees the source.
func TestEnclaveRoundTrip(t *testing.T) {
	b := NewBudget(Unlimited)
	src, err := b.Alloc(32)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{0xA5}, 32)
	copy(src.Bytes(), want)
	e := Seal(src)
	if b.InUse() != 0 || e.Size() != 32 {
		t.Fatalf("after Seal: in use %d, size %d", b.InUse(), e.Size())
	}
	for range 2 {
		buf, err := b.Open(e)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) || b.InUse() != Cost(32) {
			t.Fatalf("opened %x, in use %d", buf.Bytes(), b.InUse())
		}
		buf.Destroy()
	}
	if b.InUse() != 0 || b.Peak() != Cost(32)+openOverhead {
		t.Fatalf("in use %d, peak %d", b.InUse(), b.Peak())
	}
	if _, err := b.Open(nil); !errors.Is(err, ErrSealed) {
		t.Fatalf("Open(nil) = %v", err)
	}
	full := NewBudget(Cost(32))
	if _, err := full.Open(e); !errors.Is(err, ErrExhausted) || full.InUse() != 0 {
		t.Fatalf("Open over the budget = %v, in use %d", err, full.InUse())
	}
}

// BenchmarkEnclaveUse32 is the cost of one use of a 32-byte secret kept
// in an enclave: open into a locked buffer, read, destroy.
func BenchmarkEnclaveUse32(b *testing.B) {
	budget := NewBudget(Unlimited)
	e, err := budget.NewRandomEnclave(32)
	if err != nil {
		b.Fatal(err)
	}
	var sink byte
	for b.Loop() {
		if err := budget.Use(e, func(s []byte) { sink ^= s[0] }); err != nil {
			b.Fatal(err)
		}
	}
	_ = sink
}

// BenchmarkLockedAlloc32 is the reference: allocate and destroy one
// locked buffer (what every request already does several times).
func BenchmarkLockedAlloc32(b *testing.B) {
	budget := NewBudget(Unlimited)
	for b.Loop() {
		buf, err := budget.Alloc(32)
		if err != nil {
			b.Fatal(err)
		}
		buf.Destroy()
	}
}
