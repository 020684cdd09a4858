package metrics

import (
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// promptTokenMetrics are the prefix cache's counters (issue 11), expected
// in every scrape once the engine's stats are set.
var promptTokenMetrics = map[string]dto.MetricType{
	"sotto_prompt_tokens_prefilled_total": dto.MetricType_COUNTER,
	"sotto_prompt_tokens_cached_total":    dto.MetricType_COUNTER,
}

// TestPromptTokenCounters: the engine's prompt tokens prefilled and reused
// from conversations' cached prefixes are counters with its values.
func TestPromptTokenCounters(t *testing.T) {
	m := New()
	m.SetEngineStats(func() EngineStats { return EngineStats{PromptTokensPrefilled: 120, PromptTokensCached: 80} })
	fams := parse(t, scrape(t, m))
	for name, want := range map[string]float64{"sotto_prompt_tokens_prefilled_total": 120, "sotto_prompt_tokens_cached_total": 80} {
		f, ok := fams[name]
		if !ok || f.GetType() != dto.MetricType_COUNTER {
			t.Fatalf("%s missing or not a counter", name)
		}
		if got := f.GetMetric()[0].GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}
