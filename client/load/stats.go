package load

import (
	"slices"
	"time"
)

// Sample is one request's timeline on the generator's clock. Gaps are the
// times between consecutive text chunks (a chunk may carry more than one
// token). Failure is "" for a complete reply; otherwise Refused tells a
// typed refusal (a problem document, or an OpenAI error status 429/503)
// from an error.
type Sample struct {
	Step, Conv, Turn int
	Start            time.Time
	TTFT, E2E        time.Duration // TTFT 0: no text arrived
	Gaps             []time.Duration
	PromptTokens     int
	CompletionTokens int
	Chunks           int
	Failure          string
	Refused          bool
}

// SLO is a request's service-level objective: its time to first token and
// the 95th percentile of its inter-token gaps.
type SLO struct {
	TTFT     time.Duration
	InterP95 time.Duration
}

// DefaultSLO is TTFT <= 2 s and inter-token p95 <= 200 ms.
var DefaultSLO = SLO{TTFT: 2 * time.Second, InterP95: 200 * time.Millisecond}

// Good reports whether s completed within slo. A reply without text has no
// TTFT and is not good; a reply of one chunk has no gaps to violate.
func (s *Sample) Good(slo SLO) bool {
	ttft, inter := s.misses(slo)
	return s.Failure == "" && !ttft && !inter
}

// misses reports which parts of slo s missed: its time to first token (or
// it had no text), and its own inter-token p95. Both may be true.
func (s *Sample) misses(slo SLO) (ttft, inter bool) {
	ttft = s.TTFT <= 0 || s.TTFT > slo.TTFT
	if len(s.Gaps) == 0 {
		return ttft, false
	}
	ms := make([]float64, len(s.Gaps))
	for i, g := range s.Gaps {
		ms[i] = millis(g)
	}
	slices.Sort(ms)
	return ttft, Percentile(ms, 95) > millis(slo.InterP95)
}

// Percentile returns the nearest-rank p-th percentile of sorted xs (0 for
// none): the smallest value with at least p% of xs at or below it.
func Percentile(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := (p*len(sorted) + 99) / 100
	return sorted[min(max(k-1, 0), len(sorted)-1)]
}

// Quantiles are the p50, p95 and p99 of a latency in milliseconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

func quantiles(xs []float64) Quantiles {
	slices.Sort(xs)
	return Quantiles{Percentile(xs, 50), Percentile(xs, 95), Percentile(xs, 99)}
}

// Summary is the statistics of a set of samples (definitions in
// docs/benchmarks.md). Latencies are in milliseconds; token counts and
// rates cover the complete replies only.
type Summary struct {
	Requests          int            `json:"requests"`
	OK                int            `json:"ok"`
	Refused           int            `json:"refused"`
	Failed            int            `json:"failed"`
	Refusals          map[string]int `json:"refusals"`
	Errors            map[string]int `json:"errors"`
	WallS             float64        `json:"wall_s"`
	RequestsPerS      float64        `json:"requests_per_s"`
	TTFTMs            Quantiles      `json:"ttft_ms"`
	InterTokenMs      Quantiles      `json:"inter_token_ms"`
	E2EMs             Quantiles      `json:"e2e_ms"`
	PromptTokens      int            `json:"prompt_tokens"`
	CompletionTokens  int            `json:"completion_tokens"`
	Chunks            int            `json:"chunks"`
	TokensPerS        float64        `json:"tokens_per_s"`
	TokensPerSStream  float64        `json:"tokens_per_s_per_stream"`
	Good              int            `json:"good"`
	GoodputPerS       float64        `json:"goodput_per_s"`
	GoodFraction      float64        `json:"good_fraction"`
	SLOMet            bool           `json:"slo_met"`
	ClientCPUSeconds  float64        `json:"client_cpu_s,omitempty"`
	ClientCPUFraction float64        `json:"client_cpu_fraction,omitempty"`
	// MissedTTFT and MissedInterToken count the complete replies that
	// missed each part of the SLO (a reply may miss both): which part
	// binds as the rate grows.
	MissedTTFT       int `json:"missed_ttft"`
	MissedInterToken int `json:"missed_inter_token"`
}

// Summarize computes the Summary of samples over wall (the run's length:
// the first start to the last end).
func Summarize(samples []Sample, wall time.Duration, slo SLO) Summary {
	s := Summary{Requests: len(samples), Refusals: map[string]int{}, Errors: map[string]int{}, WallS: wall.Seconds()}
	var ttft, gaps, e2e []float64
	var perStream float64
	var streams int
	for i := range samples {
		x := &samples[i]
		switch {
		case x.Failure != "" && x.Refused:
			s.Refused++
			s.Refusals[x.Failure]++
			continue
		case x.Failure != "":
			s.Failed++
			s.Errors[x.Failure]++
			continue
		}
		s.OK++
		s.PromptTokens += x.PromptTokens
		s.CompletionTokens += x.CompletionTokens
		s.Chunks += x.Chunks
		e2e = append(e2e, millis(x.E2E))
		if x.TTFT > 0 {
			ttft = append(ttft, millis(x.TTFT))
			if d := (x.E2E - x.TTFT).Seconds(); d > 0 && x.CompletionTokens > 1 {
				perStream += float64(x.CompletionTokens-1) / d
				streams++
			}
		}
		for _, g := range x.Gaps {
			gaps = append(gaps, millis(g))
		}
		// x completed, so it is good when it missed neither part (Good).
		missTTFT, missInter := x.misses(slo)
		if missTTFT {
			s.MissedTTFT++
		}
		if missInter {
			s.MissedInterToken++
		}
		if !missTTFT && !missInter {
			s.Good++
		}
	}
	s.TTFTMs, s.InterTokenMs, s.E2EMs = quantiles(ttft), quantiles(gaps), quantiles(e2e)
	if sec := wall.Seconds(); sec > 0 { // JSON has no Inf
		s.RequestsPerS = float64(s.OK) / sec
		s.TokensPerS = float64(s.CompletionTokens) / sec
		s.GoodputPerS = float64(s.Good) / sec
	}
	if streams > 0 {
		s.TokensPerSStream = perStream / float64(streams)
	}
	if s.Requests > 0 {
		s.GoodFraction = float64(s.Good) / float64(s.Requests)
	}
	s.SLOMet = s.OK > 0 && s.TTFTMs.P95 <= millis(slo.TTFT) && s.InterTokenMs.P95 <= millis(slo.InterP95)
	return s
}

// span returns the first start and the last end of samples.
func span(samples []Sample) time.Duration {
	var first, last time.Time
	for _, x := range samples {
		if first.IsZero() || x.Start.Before(first) {
			first = x.Start
		}
		if end := x.Start.Add(x.E2E); end.After(last) {
			last = end
		}
	}
	return last.Sub(first)
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
