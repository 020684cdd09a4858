package router

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// upstreamMetrics are the router's per-worker series. The upstream label
// is the worker's configured name ("w1", ...): a bounded set chosen by
// the operator, never request data.
type upstreamMetrics struct {
	requests    *prometheus.CounterVec
	firstByte   *prometheus.HistogramVec
	inFlight    *prometheus.GaugeVec
	breaker     *prometheus.GaugeVec
	healthy     *prometheus.GaugeVec
	stateErrors *prometheus.CounterVec
}

// outcomes of one attempt on a worker.
// first_byte_timeout and stream_error count against the worker's
// breaker, client_gone and total_timeout do not.
var outcomes = []string{"ok", "client_gone", "refused", "connect_error", "stream_error", "first_byte_timeout", "total_timeout"}

func newUpstreamMetrics(reg prometheus.Registerer) (*upstreamMetrics, error) {
	l := []string{"upstream"}
	m := &upstreamMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sotto", Name: "upstream_requests_total",
			Help: "Attempts on a worker by outcome: ok, client_gone, refused (503), connect_error, stream_error, first_byte_timeout, total_timeout."},
			[]string{"upstream", "outcome"}),
		firstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "sotto", Name: "upstream_first_byte_seconds",
			Help:    "Router-to-worker latency: from sending a request to the worker's response headers.",
			Buckets: prometheus.ExponentialBucketsRange(0.0005, 120, 20)}, l),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sotto", Name: "upstream_in_flight",
			Help: "Requests this router has running on a worker."}, l),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sotto", Name: "upstream_circuit_state",
			Help: "Circuit breaker per worker: 0 closed, 1 half-open, 2 open."}, l),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "sotto", Name: "upstream_healthy",
			Help: "1 while the worker passes its active health checks."}, l),
		stateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "sotto", Name: "shared_state_errors_total",
			Help: "Requests refused (503) because the replay register or a rate limiter could not answer (Redis down): both fail closed."},
			[]string{"store"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.firstByte, m.inFlight, m.breaker, m.healthy, m.stateErrors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stateError counts one refusal because store ("replay", "ratelimit")
// could not answer.
func (m *upstreamMetrics) stateError(store string) { m.stateErrors.WithLabelValues(store).Inc() }

// init creates u's series so they exist before the first event.
func (m *upstreamMetrics) init(u *Upstream) {
	for _, o := range outcomes {
		m.requests.WithLabelValues(u.Name, o)
	}
	m.inFlight.WithLabelValues(u.Name)
	m.firstByte.WithLabelValues(u.Name)
	m.breaker.WithLabelValues(u.Name).Set(0)
	m.healthy.WithLabelValues(u.Name).Set(0)
	m.stateErrors.WithLabelValues("replay")
	m.stateErrors.WithLabelValues("ratelimit")
}

func (m *upstreamMetrics) outcome(u *Upstream, o string) { m.requests.WithLabelValues(u.Name, o).Inc() }

func (m *upstreamMetrics) setHealthy(u *Upstream, ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	m.healthy.WithLabelValues(u.Name).Set(v)
}

func (m *upstreamMetrics) setBreaker(u *Upstream, s gobreaker.State) {
	v := map[gobreaker.State]float64{gobreaker.StateClosed: 0, gobreaker.StateHalfOpen: 1, gobreaker.StateOpen: 2}[s]
	m.breaker.WithLabelValues(u.Name).Set(v)
}
