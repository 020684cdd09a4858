// Package metrics holds the server's Prometheus metrics in a registry of
// its own (namespace sotto) and serves them with promhttp.
//
// Label values are fixed enums chosen by the program: status classes,
// problem names, limiter scopes. Nothing a
// client sends (no address, device key, header or content) becomes a
// label or a value.
//
// Metrics is safe for concurrent use. Engine, locked-memory and replay-register gauges are
// read through callbacks at scrape time, so no goroutine polls.
package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sottolabs/sotto/server/problem"
)

const namespace = "sotto"

// NoProblem is the problem label of requests that ended without one.
const NoProblem = "none"

// Scope is the rate_limited_total label: which limiter refused.
type Scope string

// The rate limiter scopes.
const (
	ScopeIP     Scope = "ip"
	ScopeDevice Scope = "device"
)

// Metrics is the set of server metrics. Histograms, counters and the
// stream and queue gauges are updated by their owners directly.
type Metrics struct {
	reg *prometheus.Registry

	TimeToFirstToken  prometheus.Histogram
	InterTokenLatency prometheus.Histogram
	RequestDuration   prometheus.Histogram
	QueueWait         prometheus.Histogram

	PromptTokens    prometheus.Counter
	GeneratedTokens prometheus.Counter
	ReplayRejected  prometheus.Counter
	PoWChallenges   prometheus.Counter

	ActiveStreams prometheus.Gauge

	requests    *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	engine      *engineCollector
	locked      *lockedCollector
	replay      *replayCollector
	batch       batcher
}

// New returns the metrics, registered with a fresh registry along with the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg:               prometheus.NewRegistry(),
		TimeToFirstToken:  histogram("time_to_first_token_seconds", "Time from request arrival to the first sealed token.", 0.01, 60),
		InterTokenLatency: histogram("inter_token_latency_seconds", "Time between consecutive generated tokens.", 0.001, 5),
		RequestDuration:   histogram("request_duration_seconds", "Time from request arrival to the end of the response.", 0.005, 900),
		QueueWait:         histogram("queue_wait_seconds", "Time a request waited for a slot.", 0.001, 120),
		PromptTokens:      counter("prompt_tokens_total", "Prompt tokens processed."),
		GeneratedTokens:   counter("generated_tokens_total", "Tokens generated."),
		ReplayRejected:    counter("replay_rejected_total", "Requests refused as replays."),
		PoWChallenges:     counter("pow_challenges_total", "Proof-of-work challenges issued."),
		ActiveStreams:     gauge("active_streams", "Responses currently streaming."),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Requests by status class and problem name (none when no problem was sent).",
		}, []string{"code", "problem"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total", Help: "Requests refused by a rate or concurrency limit.",
		}, []string{"scope"}),
		engine: newEngineCollector(),
		locked: newLockedCollector(),
		replay: newReplayCollector(),
	}
	m.preinitialize()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.TimeToFirstToken, m.InterTokenLatency, m.RequestDuration, m.QueueWait,
		m.PromptTokens, m.GeneratedTokens, m.ReplayRejected, m.PoWChallenges,
		m.ActiveStreams, m.requests, m.rateLimited,
		m.engine, m.locked, m.replay,
	)
	return m
}

// preinitialize creates the label combinations that exist from the start,
// so rates over them are defined before the first event.
func (m *Metrics) preinitialize() {
	m.requests.WithLabelValues("2xx", NoProblem)
	for _, name := range problem.Names() {
		m.requests.WithLabelValues(statusClass(problem.New(name).Status), name)
	}
	m.rateLimited.WithLabelValues(string(ScopeIP))
	m.rateLimited.WithLabelValues(string(ScopeDevice))
}

// Registry returns the registry, for registering further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveRequest counts one finished request with its HTTP status and
// problem name ("" or NoProblem for none; names outside the protocol's
// set count as "other").
func (m *Metrics) ObserveRequest(status int, problemName string) {
	switch {
	case problemName == "":
		problemName = NoProblem
	case problemName != NoProblem && !problem.Known(problemName):
		problemName = "other"
	}
	m.requests.WithLabelValues(statusClass(status), problemName).Inc()
}

// RateLimited counts one request refused by the limiter of scope.
func (m *Metrics) RateLimited(scope Scope) {
	if scope != ScopeIP && scope != ScopeDevice {
		return // not an enum value: drop rather than mint a label
	}
	m.rateLimited.WithLabelValues(string(scope)).Inc()
}

// statusClass maps 200..599 to "2xx".."5xx"; anything else is "other".
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

func histogram(name, help string, lo, hi float64) prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: namespace, Name: name, Help: help,
		Buckets: prometheus.ExponentialBucketsRange(lo, hi, 16),
	})
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
}

func gauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
}
