package ratelimit

import (
	"errors"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

func TestSealedKeyer(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	k, err := NewSealedKeyer(budget)
	if err != nil {
		t.Fatal(err)
	}
	key := func(kind string, id []byte) string {
		t.Helper()
		s, err := k.Key(kind, id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := key("ip", []byte{192, 0, 2, 1})
	if a != key("ip", []byte{192, 0, 2, 1}) {
		t.Fatal("Key is not deterministic within a process")
	}
	if !strings.HasPrefix(a, "ip:") || len(a) != len("ip:")+22 {
		t.Fatalf("Key = %q", a)
	}
	if a == key("ip", []byte{192, 0, 2, 2}) || a[3:] == key("device", []byte{192, 0, 2, 1})[7:] {
		t.Fatal("distinct ids or kinds share a key")
	}
	if strings.Contains(a, "192") {
		t.Fatal("key shows the id")
	}
	other, _ := NewSealedKeyer(budget)
	if s, _ := other.Key("ip", []byte{192, 0, 2, 1}); s == a {
		t.Fatal("two keyers share a process key")
	}
	if budget.InUse() != 0 {
		t.Fatalf("opened key not destroyed: %d bytes in use", budget.InUse())
	}
	k.budget = locked.NewBudget(0)
	if _, err := k.Key("ip", nil); !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("Key with a full budget = %v", err)
	}
}
