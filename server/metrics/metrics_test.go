package metrics

import (
	"bytes"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sottolabs/sotto/internal/testenv"
)

// scrape fetches the handler's text exposition over real HTTP.
func scrape(t *testing.T, m *Metrics) []byte {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return body
}

func parse(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

type fakeBudget struct{ inUse, limit int64 }

func (b fakeBudget) InUse() int64 { return b.inUse }
func (b fakeBudget) Limit() int64 { return b.limit }

type fakeRegister struct{ n, capacity int }

func (r fakeRegister) Len() int      { return r.n }
func (r fakeRegister) Capacity() int { return r.capacity }

// populated returns metrics with every callback set and one event each.
func populated() *Metrics {
	m := New()
	m.SetEngineStats(func() EngineStats { return EngineStats{BusySlots: 1, Slots: 4, KVCellsUsed: 300, KVCellsTotal: 8192} })
	m.SetLockedBudget(fakeBudget{inUse: 8192, limit: -1})
	m.SetReplayRegister(fakeRegister{n: 750, capacity: 1000})
	m.TimeToFirstToken.Observe(0.25)
	m.ObserveRequest(200, "")
	m.ObserveRequest(429, "rate-limited")
	m.ObserveRequest(418, "not-a-problem")
	m.RateLimited(ScopeDevice)
	m.RateLimited("bogus")
	m.GeneratedTokens.Add(7)
	return m
}

func TestNamesAndTypes(t *testing.T) {
	fams := parse(t, scrape(t, populated()))
	want := map[string]dto.MetricType{
		"sotto_time_to_first_token_seconds": dto.MetricType_HISTOGRAM,
		"sotto_inter_token_latency_seconds": dto.MetricType_HISTOGRAM,
		"sotto_request_duration_seconds":    dto.MetricType_HISTOGRAM,
		"sotto_queue_wait_seconds":          dto.MetricType_HISTOGRAM,
		"sotto_requests_total":              dto.MetricType_COUNTER,
		"sotto_prompt_tokens_total":         dto.MetricType_COUNTER,
		"sotto_generated_tokens_total":      dto.MetricType_COUNTER,
		"sotto_rate_limited_total":          dto.MetricType_COUNTER,
		"sotto_replay_rejected_total":       dto.MetricType_COUNTER,
		"sotto_pow_challenges_total":        dto.MetricType_COUNTER,
		"sotto_active_streams":              dto.MetricType_GAUGE,
		"sotto_queued_requests":             dto.MetricType_GAUGE,
		"sotto_busy_slots":                  dto.MetricType_GAUGE,
		"sotto_slots":                       dto.MetricType_GAUGE,
		"sotto_kv_cells_used":               dto.MetricType_GAUGE,
		"sotto_kv_cells_capacity":           dto.MetricType_GAUGE,
		"sotto_locked_bytes_in_use":         dto.MetricType_GAUGE,
		"sotto_locked_bytes_limit":          dto.MetricType_GAUGE,
		"sotto_replay_register_entries":     dto.MetricType_GAUGE,
		"sotto_replay_register_capacity":    dto.MetricType_GAUGE,
		"go_goroutines":                     dto.MetricType_GAUGE,
		"process_resident_memory_bytes":     dto.MetricType_GAUGE,
	}
	maps.Copy(want, promptTokenMetrics)
	for name, typ := range want {
		f, ok := fams[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s type %v, want %v", name, f.GetType(), typ)
		}
	}
	for name := range fams {
		if strings.HasPrefix(name, "sotto_") {
			if _, ok := want[name]; !ok {
				t.Errorf("unexpected metric %s", name)
			}
		}
	}
}

func TestValues(t *testing.T) {
	fams := parse(t, scrape(t, populated()))
	gauge := func(name string) float64 { return fams[name].GetMetric()[0].GetGauge().GetValue() }
	for name, want := range map[string]float64{
		"sotto_busy_slots": 1, "sotto_slots": 4, "sotto_kv_cells_used": 300, "sotto_kv_cells_capacity": 8192,
		"sotto_locked_bytes_in_use": 8192, "sotto_locked_bytes_limit": math.Inf(1),
		"sotto_replay_register_entries": 750, "sotto_replay_register_capacity": 1000,
	} {
		if got := gauge(name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := fams["sotto_generated_tokens_total"].GetMetric()[0].GetCounter().GetValue(); got != 7 {
		t.Errorf("generated tokens = %v", got)
	}
	if h := fams["sotto_time_to_first_token_seconds"].GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 0.25 {
		t.Errorf("ttft histogram = %v", h)
	}
	requests := labelled(fams["sotto_requests_total"], "code", "problem")
	for k, want := range map[string]float64{
		"2xx/none": 1, "4xx/rate-limited": 1, "4xx/other": 1, "4xx/envelope": 0, "5xx/overloaded": 0, "5xx/internal": 0,
	} {
		if got, ok := requests[k]; !ok || got != want {
			t.Errorf("requests_total{%s} = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if len(requests) != 2+15 {
		t.Errorf("requests_total series: %v", requests)
	}
	limited := labelled(fams["sotto_rate_limited_total"], "scope")
	if len(limited) != 2 || limited["ip"] != 0 || limited["device"] != 1 {
		t.Errorf("rate_limited_total = %v", limited)
	}
}

func TestCallbacksAbsentUntilSet(t *testing.T) {
	fams := parse(t, scrape(t, New()))
	for _, name := range []string{"sotto_busy_slots", "sotto_slots", "sotto_locked_bytes_limit", "sotto_replay_register_capacity"} {
		if _, ok := fams[name]; ok {
			t.Errorf("%s present before its source was set", name)
		}
	}
	m := New()
	m.SetLockedBudget(fakeBudget{inUse: 4096, limit: 65536})
	fams = parse(t, scrape(t, m))
	if got := fams["sotto_locked_bytes_limit"].GetMetric()[0].GetGauge().GetValue(); got != 65536 {
		t.Errorf("locked_bytes_limit = %v", got)
	}
}

func TestPromtoolCheck(t *testing.T) {
	promtool := testenv.RequireTool(t, "promtool", "prometheus")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape(t, populated()))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// labelled maps "v1/v2" (label values in the given order) to counter values.
func labelled(f *dto.MetricFamily, names ...string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		vals := make([]string, len(names))
		for i, n := range names {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == n {
					vals[i] = lp.GetValue()
				}
			}
		}
		out[strings.Join(vals, "/")] = m.GetCounter().GetValue()
	}
	return out
}
