package buildtest

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
	"github.com/sottolabs/sotto/server/router"
)

// TestAlertRules runs promtool check rules and promtool test rules (one
// unit test per alert in alerts_test.yml), and promtool check config on the
// example scrape configurations (single node, router and workers).
func TestAlertRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	dir := buildFile(t, "observability")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"check", "config", "prometheus.yml"},
		{"check", "config", "prometheus-cluster.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestEveryAlertHasAUnitTest compares the alert names of alerts.yml with
// the alertnames alerts_test.yml exercises.
func TestEveryAlertHasAUnitTest(t *testing.T) {
	rules := names(t, "observability/alerts.yml", `(?m)^\s*- alert: (\w+)`)
	tested := names(t, "observability/alerts_test.yml", `(?m)^\s*- alertname: (\w+)`)
	for _, r := range rules {
		if !slices.Contains(tested, r) {
			t.Errorf("alert %s has no unit test in alerts_test.yml", r)
		}
	}
	if len(rules) < 8 {
		t.Fatalf("found %d alerts; is the pattern broken?", len(rules))
	}
}

func names(t *testing.T, rel, pattern string) []string {
	t.Helper()
	data, err := os.ReadFile(buildFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// metricRef finds the metric names of Sotto's registry in a PromQL
// expression (metric names of the Go and process collectors included).
var metricRef = regexp.MustCompile(`\b(?:sotto|go|process)_[a-z0-9_]+\b`)

// TestDashboardAndRulesUseRealMetrics checks that every metric the alert
// rules and the dashboard name is one the server exports: the registry of
// metrics.New with the engine and locked-memory callbacks installed, as
// `sotto serve` does.
func TestDashboardAndRulesUseRealMetrics(t *testing.T) {
	exported := registryNames(t)
	var exprs []string
	for _, rel := range []string{"observability/alerts.yml", "observability/alerts_test.yml"} {
		data, err := os.ReadFile(buildFile(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		exprs = append(exprs, string(data))
	}
	exprs = append(exprs, dashboardExprs(t)...)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricRef.FindAllString(e, -1) {
			used[name] = true
		}
	}
	for name := range used {
		if !exported[name] {
			t.Errorf("%s is used but not exported by the server", name)
		}
	}
	if len(used) < 12 {
		t.Fatalf("only %d metric names found; is the pattern broken?", len(used))
	}
}

// dashboardExprs returns every target expression of the Grafana dashboard.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(buildFile(t, "observability/grafana/dashboards/sotto.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard: %v (uid %q, %d panels)", err, dash.UID, len(dash.Panels))
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// registryNames returns the series names a scrape of the servers shows,
// with a histogram's _bucket, _sum and _count: a single node's (or a
// worker's) registry of metrics.New with the engine, locked-memory and
// replay-register callbacks installed, as `sotto serve` does, and a
// router's, whose metrics server/router.New registers.
func registryNames(t *testing.T) map[string]bool {
	t.Helper()
	m := metrics.New()
	m.SetEngineStats(func() metrics.EngineStats { return metrics.EngineStats{Slots: 1} })
	m.SetLockedBudget(locked.NewBudget(1 << 20))
	m.SetReplayRegister(replay.NewMemory(10))
	names := map[string]bool{}
	for _, reg := range []*prometheus.Registry{m.Registry(), routerRegistry(t)} {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			names[f.GetName()] = true
			if f.GetType() == dto.MetricType_HISTOGRAM {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f.GetName()+s] = true
				}
			}
		}
	}
	for _, want := range []string{"sotto_upstream_circuit_state", "sotto_replay_register_capacity"} {
		if !names[want] {
			t.Fatalf("%s not in the registries", want)
		}
	}
	return names
}

// routerRegistry builds a router over one worker it never contacts (Run
// is not called) and returns its metrics registry, where every series
// of that worker exists before the first request.
func routerRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	m := metrics.New()
	budget := locked.NewBudget(locked.Unlimited)
	_, err := router.New(router.Config{
		Upstreams: []string{"https://10.77.0.11:8443"}, Transport: http.DefaultTransport, HealthInterval: time.Second,
		BreakerThreshold: 5, BreakerReset: time.Second, FirstByteTimeout: time.Second, IdleTimeout: time.Second,
		TotalTimeout: time.Second, RequestTTL: time.Minute, MaxBodyBytes: 1 << 20, PoWMode: router.PoWOff,
	}, router.Deps{
		Replay: replay.NewMemory(10), Devices: device.NewOpenPolicy(),
		IPLimiter: ratelimit.NewMemory(60, 10, 10), DeviceLimiter: ratelimit.NewMemory(60, 10, 10),
		Streams: ratelimit.NewConcurrency(1, 10), Keyer: ratelimit.NewSharedKeyer(make([]byte, 32), budget),
		Metrics: m, Log: slog.New(slog.DiscardHandler), ClientIP: clientip.New(nil, true).ClientIP,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.Registry()
}
