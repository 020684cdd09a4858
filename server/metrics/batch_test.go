package metrics

import "testing"

// TestBatchedPublication: with a batch of 3 the scraped token counters and
// the locked-memory gauge stay at the snapshot until the third finished
// request, then show all three together; live metrics move at once.
func TestBatchedPublication(t *testing.T) {
	m := New()
	budget := &fakeBudget{limit: 1 << 20}
	m.SetLockedBudget(budget)
	m.SetBatch(3)
	value := func(name string) float64 {
		f := parse(t, scrape(t, m))["sotto_"+name]
		if f == nil {
			t.Fatalf("%s missing", name)
		}
		if c := f.GetMetric()[0].GetCounter(); c != nil {
			return c.GetValue()
		}
		return f.GetMetric()[0].GetGauge().GetValue()
	}
	for i, tokens := range []float64{5, 7, 11} {
		m.PromptTokens.Add(tokens)
		budget.inUse = int64(1000 * (i + 1))
		if i < 2 {
			m.RequestFinished()
			if p, l := value("prompt_tokens_total"), value("locked_bytes_in_use"); p != 0 || l != 0 {
				t.Fatalf("after %d requests: prompt tokens %v, locked %v published, want the snapshot's 0", i+1, p, l)
			}
		}
	}
	m.RequestFinished()
	if p, l := value("prompt_tokens_total"), value("locked_bytes_in_use"); p != 23 || l != 3000 {
		t.Fatalf("after the batch: prompt tokens %v, locked %v; want 23 and 3000", p, l)
	}
	m.SetBatch(0)
	m.PromptTokens.Add(1)
	if p := value("prompt_tokens_total"); p != 24 {
		t.Fatalf("live: %v, want 24", p)
	}
}
