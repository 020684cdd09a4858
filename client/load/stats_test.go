package load

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestPercentile: nearest rank, the smallest value with at least p% at or
// below it.
func TestPercentile(t *testing.T) {
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	for _, c := range []struct {
		xs   []float64
		p    int
		want float64
	}{
		{xs, 50, 50}, {xs, 95, 95}, {xs, 99, 99}, {xs, 100, 100}, {xs, 1, 1},
		{[]float64{7}, 99, 7}, {[]float64{1, 2, 3}, 50, 2}, {[]float64{1, 2, 3}, 95, 3},
		{[]float64{10, 20, 30, 40}, 50, 20}, {[]float64{10, 20, 30, 40}, 75, 30}, {nil, 50, 0},
	} {
		if got := Percentile(c.xs, c.p); got != c.want {
			t.Errorf("Percentile(%v, %d) = %v, want %v", c.xs, c.p, got, c.want)
		}
	}
}

func gaps(ms ...int) []time.Duration {
	var out []time.Duration
	for _, m := range ms {
		out = append(out, time.Duration(m)*time.Millisecond)
	}
	return out
}

// TestGood: a request meets the SLO when it completed, its TTFT is within
// bound and its own inter-token p95 is within bound.
func TestGood(t *testing.T) {
	slo := SLO{TTFT: 2 * time.Second, InterP95: 200 * time.Millisecond}
	twenty := gaps(50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 900)
	for _, c := range []struct {
		name string
		s    Sample
		want bool
	}{
		{"fast", Sample{TTFT: time.Second, Gaps: gaps(10, 20)}, true},
		{"ttft at bound", Sample{TTFT: 2 * time.Second, Gaps: gaps(200)}, true},
		{"ttft over", Sample{TTFT: 2*time.Second + time.Millisecond}, false},
		{"one slow gap of 20 is the p95", Sample{TTFT: time.Second, Gaps: twenty}, true},
		{"two slow gaps of 20", Sample{TTFT: time.Second, Gaps: append(gaps(900), twenty...)}, false},
		{"no text", Sample{}, false},
		{"failed", Sample{TTFT: time.Millisecond, Failure: "overloaded", Refused: true}, false},
		{"one chunk", Sample{TTFT: time.Millisecond}, true},
	} {
		if got := c.s.Good(slo); got != c.want {
			t.Errorf("%s: Good = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestSummarize: counts by kind and name, percentiles, rates and goodput
// of a hand-made set of samples.
func TestSummarize(t *testing.T) {
	ok := func(ttft, e2e int, tokens int, g ...int) Sample {
		return Sample{TTFT: time.Duration(ttft) * time.Millisecond, E2E: time.Duration(e2e) * time.Millisecond,
			Gaps: gaps(g...), PromptTokens: 10, CompletionTokens: tokens, Chunks: len(g) + 1}
	}
	samples := []Sample{
		ok(100, 1100, 11, 100, 100, 100),     // good; 10 tokens in 1 s after the first
		ok(3000, 4000, 6, 100, 100),          // TTFT over the SLO; 5 tokens in 1 s
		ok(500, 2500, 5, 100, 100, 100, 900), // gap p95 900 ms: not good; 4 tokens in 2 s
		{Failure: "overloaded", Refused: true},
		{Failure: "overloaded", Refused: true},
		{Failure: "rate-limited", Refused: true},
		{Failure: "stream-truncated", TTFT: time.Millisecond},
	}
	s := Summarize(samples, 2*time.Second, DefaultSLO)
	want := Summary{Requests: 7, OK: 3, Refused: 3, Failed: 1,
		Refusals: map[string]int{"overloaded": 2, "rate-limited": 1}, Errors: map[string]int{"stream-truncated": 1},
		WallS: 2, RequestsPerS: 1.5, TTFTMs: Quantiles{500, 3000, 3000}, InterTokenMs: Quantiles{100, 900, 900},
		E2EMs: Quantiles{2500, 4000, 4000}, PromptTokens: 30, CompletionTokens: 22, Chunks: 12,
		TokensPerS: 11, TokensPerSStream: (10 + 5 + 2) / 3.0, Good: 1, GoodputPerS: 0.5,
		GoodFraction: 1.0 / 7, SLOMet: false, MissedTTFT: 1, MissedInterToken: 1}
	if math.Abs(s.TokensPerSStream-want.TokensPerSStream) < 1e-9 {
		s.TokensPerSStream = want.TokensPerSStream
	}
	if !summaryEqual(s, want) {
		t.Fatalf("Summarize:\n got %+v\nwant %+v", s, want)
	}
	met := Summarize(samples[:1], time.Second, DefaultSLO)
	if !met.SLOMet || met.Good != 1 || met.GoodFraction != 1 {
		t.Fatalf("one good request: %+v", met)
	}
}

func summaryEqual(a, b Summary) bool { return reflect.DeepEqual(a, b) }

// TestArrivals: a fixed seed gives a fixed schedule; the gaps have the
// exponential's mean 1/rate, and the counts per second the Poisson's
// variance equal to the mean (evenly spaced arrivals would have none).
func TestArrivals(t *testing.T) {
	const rate, n = 50.0, 20000
	a := Arrivals([]Step{{Rate: rate}}, 42, n)
	if len(a) != n || !slices.Equal(a, Arrivals([]Step{{Rate: rate}}, 42, n)) {
		t.Fatal("same seed, different schedule")
	}
	if slices.Equal(a[:10], Arrivals([]Step{{Rate: rate}}, 43, 10)) {
		t.Fatal("different seeds, same schedule")
	}
	mean := a[n-1].At.Seconds() / n
	if math.Abs(mean*rate-1) > 0.03 {
		t.Errorf("mean gap %.5f s, want %.5f +- 3%%", mean, 1/rate)
	}
	perSecond := map[int]float64{}
	for _, x := range a {
		perSecond[int(x.At.Seconds())]++
	}
	secs := int(a[n-1].At.Seconds())
	var sum, sq float64
	for i := range secs {
		sum += perSecond[i]
		sq += perSecond[i] * perSecond[i]
	}
	m := sum / float64(secs)
	if dispersion := (sq/float64(secs) - m*m) / m; dispersion < 0.75 || dispersion > 1.25 {
		t.Errorf("variance/mean of counts per second = %.2f, want about 1", dispersion)
	}
}

// TestArrivalsRamp: each step's arrivals fall inside it, at about its rate.
func TestArrivalsRamp(t *testing.T) {
	steps, err := ParseRamp("10@100s, 40@100s")
	if err != nil {
		t.Fatal(err)
	}
	var per [2]int
	for _, a := range Arrivals(steps, 7, 0) {
		lo := time.Duration(a.Step) * 100 * time.Second
		if a.At < lo || a.At >= lo+100*time.Second {
			t.Fatalf("arrival at %v outside step %d", a.At, a.Step)
		}
		per[a.Step]++
	}
	if math.Abs(float64(per[0])/1000-1) > 0.1 || math.Abs(float64(per[1])/4000-1) > 0.1 {
		t.Fatalf("arrivals per step %v, want about [1000 4000]", per)
	}
	for _, bad := range []string{"", "5", "0@1s", "x@1s", "5@0s", "5@soon"} {
		if _, err := ParseRamp(bad); err == nil {
			t.Errorf("ParseRamp(%q) accepted", bad)
		}
	}
}

// TestParseDist: fixed and uniform, and the refusals.
func TestParseDist(t *testing.T) {
	if d, err := ParseDist("16"); err != nil || d != Fixed(16) || d.String() != "16" {
		t.Fatalf("16: %v %v", d, err)
	}
	if d, err := ParseDist("8-64"); err != nil || d != (Dist{8, 64}) || d.String() != "8-64" {
		t.Fatalf("8-64: %v %v", d, err)
	}
	for _, bad := range []string{"", "0", "-3", "9-8", "a-b", "4-x"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("ParseDist(%q) accepted", bad)
		}
	}
}
