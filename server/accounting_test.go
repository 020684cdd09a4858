package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTokenAccounts: per-device totals land in the right buckets, the
// exposition carries no device id, and the table stays bounded.
func TestTokenAccounts(t *testing.T) {
	a := newTokenAccounts(3)
	a.add("dev-a", 10, 50)
	a.add("dev-a", 10, 60) // 110 completion tokens
	a.add("dev-b", 5, 5_000)
	a.add("dev-c", 1, 20)
	reg := prometheus.NewRegistry()
	reg.MustRegister(a)
	want := `# HELP sotto_device_completion_tokens Distribution of generated tokens per device since start (one observation per device; no device ids).
# TYPE sotto_device_completion_tokens histogram
sotto_device_completion_tokens_bucket{le="100"} 1
sotto_device_completion_tokens_bucket{le="1000"} 2
sotto_device_completion_tokens_bucket{le="10000"} 3
sotto_device_completion_tokens_bucket{le="100000"} 3
sotto_device_completion_tokens_bucket{le="1e+06"} 3
sotto_device_completion_tokens_bucket{le="1e+07"} 3
sotto_device_completion_tokens_bucket{le="+Inf"} 3
sotto_device_completion_tokens_sum 5130
sotto_device_completion_tokens_count 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	a.add("dev-d", 1, 1) // evicts the smallest account (dev-c, 20)
	if got := a.snapshot(); len(got) != 3 || got[0] != 1 || got[1] != 110 || got[2] != 5000 {
		t.Fatalf("after eviction: %v, want [1 110 5000]", got)
	}
}

// TestTokenAccountsEvictSmallestAtScale: a full table of 100k accounts
// keeps evicting the smallest account as new devices arrive.
func TestTokenAccountsEvictSmallestAtScale(t *testing.T) {
	a := newTokenAccounts(maxTokenAccounts)
	for i := range maxTokenAccounts {
		a.add("dev-"+strconv.Itoa(i), 1, 1000+i)
	}
	a.add("dev-0", 1, 5000) // dev-0 now 6000: dev-1 (1001) is the smallest
	for i := range 3 {
		a.add("new-"+strconv.Itoa(i), 1, 2000)
	}
	got := a.snapshot()
	if len(got) != maxTokenAccounts || got[0] != 1004 {
		t.Fatalf("%d accounts, smallest %d; want %d, 1004 (1001..1003 evicted)", len(got), got[0], maxTokenAccounts)
	}
	for _, gone := range []string{"dev-1", "dev-2", "dev-3"} {
		if a.accounts[gone] != nil {
			t.Fatalf("%s not evicted", gone)
		}
	}
}

// BenchmarkTokenAccountsNewDeviceFull: one new device in a full table.
func BenchmarkTokenAccountsNewDeviceFull(b *testing.B) {
	a := newTokenAccounts(maxTokenAccounts)
	for i := range maxTokenAccounts {
		a.add("dev-"+strconv.Itoa(i), 1, i)
	}
	i := 0
	for b.Loop() {
		a.add("new-"+strconv.Itoa(i), 1, maxTokenAccounts+i)
		i++
	}
}
