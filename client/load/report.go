package load

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Report is a run's result: its settings, the summary of every request,
// and with a ramp one summary per step.
type Report struct {
	Mode          string        `json:"mode"` // "closed", "open" or "ramp"
	Concurrency   int           `json:"concurrency,omitempty"`
	Rate          float64       `json:"rate,omitempty"`
	Count         int           `json:"count,omitempty"`
	DurationS     float64       `json:"duration_s,omitempty"`
	PromptWords   string        `json:"prompt_words"`
	MaxTokens     string        `json:"max_tokens"`
	Turns         int           `json:"turns"`
	Cache         bool          `json:"cache"`
	SLOTTFTMs     float64       `json:"slo_ttft_ms"`
	SLOInterP95Ms float64       `json:"slo_inter_token_p95_ms"`
	Seed          uint64        `json:"seed"`
	Summary       Summary       `json:"summary"`
	Steps         []StepSummary `json:"steps,omitempty"`
	LoadAverage1m float64       `json:"load_average_1m"`
	Samples       []Sample      `json:"-"`
}

// StepSummary is the summary of one ramp step's conversations.
type StepSummary struct {
	Rate float64 `json:"rate"`
	Summary
}

func (r *runner) report(cpu time.Duration) *Report {
	c := r.cfg
	rep := &Report{Mode: "closed", Concurrency: c.Concurrency, Rate: c.Rate, Count: c.Count,
		DurationS: c.Duration.Seconds(), PromptWords: c.Workload.PromptWords.String(),
		MaxTokens: c.Workload.MaxTokens.String(), Turns: c.Workload.Turns, Cache: c.Workload.Cache,
		SLOTTFTMs: millis(c.SLO.TTFT), SLOInterP95Ms: millis(c.SLO.InterP95), Seed: c.Seed,
		Samples: r.samples, LoadAverage1m: LoadAverage()}
	switch {
	case len(c.Ramp) > 0:
		rep.Mode = "ramp"
	case c.Rate > 0:
		rep.Mode = "open"
	}
	wall := time.Since(r.begin)
	rep.Summary = Summarize(r.samples, wall, c.SLO)
	rep.Summary.ClientCPUSeconds = cpu.Seconds()
	if wall > 0 {
		rep.Summary.ClientCPUFraction = cpu.Seconds() / wall.Seconds()
	}
	for i, st := range c.Ramp {
		var in []Sample
		for _, s := range r.samples {
			if s.Step == i {
				in = append(in, s)
			}
		}
		// A step's requests per second are over its own length: the
		// arrivals stop at its end, the replies may run past it.
		rep.Steps = append(rep.Steps, StepSummary{Rate: st.Rate, Summary: Summarize(in, max(st.For, span(in)), c.SLO)})
	}
	return rep
}

// WriteJSON writes rep as one JSON line.
func (rep *Report) WriteJSON(w io.Writer) error { return json.NewEncoder(w).Encode(rep) }

// csvHeader are the columns of WriteCSV, one row per step then "all".
var csvHeader = strings.Fields(`step rate requests ok refused failed refusals errors wall_s
	requests_per_s ttft_ms_p50 ttft_ms_p95 ttft_ms_p99 inter_token_ms_p50 inter_token_ms_p95
	inter_token_ms_p99 e2e_ms_p50 e2e_ms_p95 e2e_ms_p99 prompt_tokens completion_tokens
	tokens_per_s tokens_per_s_per_stream good goodput_per_s good_fraction slo_met missed_ttft missed_inter_token`)

// WriteCSV writes a header and one row per ramp step, then the row "all".
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for i, st := range rep.Steps {
		_ = cw.Write(csvRow(strconv.Itoa(i+1), st.Rate, st.Summary))
	}
	_ = cw.Write(csvRow("all", rep.Rate, rep.Summary))
	cw.Flush()
	return cw.Error()
}

func csvRow(step string, rate float64, s Summary) []string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }
	d := strconv.Itoa
	return []string{step, f(rate), d(s.Requests), d(s.OK), d(s.Refused), d(s.Failed),
		counts(s.Refusals), counts(s.Errors), f(s.WallS), f(s.RequestsPerS),
		f(s.TTFTMs.P50), f(s.TTFTMs.P95), f(s.TTFTMs.P99), f(s.InterTokenMs.P50),
		f(s.InterTokenMs.P95), f(s.InterTokenMs.P99), f(s.E2EMs.P50), f(s.E2EMs.P95),
		f(s.E2EMs.P99), d(s.PromptTokens), d(s.CompletionTokens), f(s.TokensPerS),
		f(s.TokensPerSStream), d(s.Good), f(s.GoodputPerS), f(s.GoodFraction), strconv.FormatBool(s.SLOMet),
		d(s.MissedTTFT), d(s.MissedInterToken)}
}

// counts renders a by-name count as "name=n;name=n" in name order.
func counts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAverage is the 1-minute load average (0 when unknown): a busy
// machine is part of a benchmark's result.
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
