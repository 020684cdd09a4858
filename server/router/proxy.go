package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// Retry policy: at most maxAttempts workers per request, with capped
// exponential backoff and jitter between attempts.
const (
	maxAttempts      = 3
	backoffInitial   = 50 * time.Millisecond
	backoffMax       = time.Second
	maxProblemBytes  = 256 << 10
	relayBufferBytes = 32 << 10
)

// errClientGone ends a relay whose client stopped reading or left; it
// says nothing about the worker.
var errClientGone = errors.New("router: client gone")

// handleChat serves POST /api/chat: the router's checks, then the relay.
func (r *Router) handleChat(c echo.Context) error {
	start := r.d.Now()
	ch := &chat{r: c.Request()}
	defer func() {
		if ch.release != nil {
			ch.release()
		}
	}()
	w := c.Response()
	for _, s := range r.steps() {
		if p := s(ch); p != nil {
			r.refuse(w, p)
			return nil
		}
	}
	r.forward(w, ch)
	r.d.Metrics.RequestDuration.Observe(r.d.Now().Sub(start).Seconds())
	return nil
}

// refuse writes the router's own problem and counts it.
func (r *Router) refuse(w http.ResponseWriter, p *problem.Problem) {
	r.d.Metrics.ObserveRequest(p.Status, p.Name)
	if p.Name == problem.Date {
		w.Header().Set("Date", r.d.Now().UTC().Format(http.TimeFormat))
	}
	problem.Write(w, *p)
}

// forward tries workers until one answers with anything but 503, and
// relays that answer. A worker is retried elsewhere only when it provably
// did not start the request: the request was never written to it, or it
// answered 503, which a worker sends only before it claims the rid
// (docs/protocol.md). A started generation is never duplicated.
func (r *Router) forward(w http.ResponseWriter, c *chat) {
	ctx, cancel := context.WithTimeout(c.r.Context(), r.cfg.TotalTimeout)
	defer cancel()
	bo := &backoff.ExponentialBackOff{InitialInterval: backoffInitial, RandomizationFactor: 0.5,
		Multiplier: 2, MaxInterval: backoffMax}
	bo.Reset()
	tried := map[*Upstream]bool{}
	for range maxAttempts {
		u := r.pool.pick(tried, c.deviceID)
		if u == nil {
			break
		}
		tried[u] = true
		if retry := r.attempt(ctx, w, u, c); !retry {
			return
		}
		select {
		case <-ctx.Done():
			r.refuse(w, reject(problem.OverloadedAfter(time.Second)))
			return
		case <-time.After(bo.NextBackOff()):
		}
	}
	r.refuse(w, reject(problem.OverloadedAfter(time.Second)))
}

// attempt sends the sealed request to u and relays the answer. It returns
// true when nothing was relayed and another worker may be tried.
func (r *Router) attempt(ctx context.Context, w http.ResponseWriter, u *Upstream, c *chat) (retry bool) {
	done, err := u.breaker.Allow()
	if err != nil {
		return true // open, or half-open with its probe under way
	}
	u.inFlight.Add(1)
	r.metrics.inFlight.WithLabelValues(u.Name).Inc()
	defer func() {
		u.inFlight.Add(-1)
		r.metrics.inFlight.WithLabelValues(u.Name).Dec()
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, written, err := r.send(ctx, cancel, u, c)
	if err != nil {
		done(errUpstream)
		r.metrics.outcome(u, "connect_error")
		return !written
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		done(nil) // load, not a fault
		r.metrics.outcome(u, "refused")
		return true
	}
	err = r.relay(w, resp, cancel)
	if err != nil && c.r.Context().Err() != nil {
		err = errClientGone // the client left; the upstream read failed because of it
	}
	switch {
	case err == nil, errors.Is(err, errClientGone):
		done(nil)
		r.metrics.outcome(u, outcomeOf(err))
	default:
		done(errUpstream)
		r.metrics.outcome(u, "stream_error")
		r.log.Warn("worker lost during a stream", "upstream", u.Name)
	}
	return false
}

func outcomeOf(err error) string {
	if err != nil {
		return "client_gone"
	}
	return "ok"
}

// send posts the sealed body and device headers to u and waits for the
// response headers, at most FirstByteTimeout. written reports whether the
// request reached the worker (when it did not, a retry is safe).
func (r *Router) send(ctx context.Context, cancel context.CancelFunc, u *Upstream, c *chat) (*http.Response, bool, error) {
	var written atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written.Store(true) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost,
		u.URL+wire.PathChat, bytes.NewReader(c.body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", wire.MediaTypeRequest)
	req.Header.Set(wire.HeaderDevice, c.r.Header.Get(wire.HeaderDevice))
	req.Header.Set(wire.HeaderSignature, c.r.Header.Get(wire.HeaderSignature))
	if e := c.r.Header.Get(wire.HeaderEnrolment); e != "" {
		req.Header.Set(wire.HeaderEnrolment, e)
	}
	firstByte := time.AfterFunc(r.cfg.FirstByteTimeout, cancel)
	start := time.Now()
	resp, err := r.cfg.Transport.RoundTrip(req)
	firstByte.Stop()
	if err != nil {
		return nil, written.Load(), err
	}
	r.metrics.firstByte.WithLabelValues(u.Name).Observe(time.Since(start).Seconds())
	return resp, true, nil
}

// relay copies the worker's answer to the client: the status, the headers
// a client reads, and the body byte for byte, flushed after every read.
// No read for IdleTimeout cancels the upstream request. It returns
// errClientGone when the client stops reading, another error when the
// worker's stream broke.
func (r *Router) relay(w http.ResponseWriter, resp *http.Response, cancel context.CancelFunc) error {
	copyHeaders(w.Header(), resp.Header)
	body := io.Reader(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.d.Metrics.ObserveRequest(resp.StatusCode, problemName(resp))
		body = io.LimitReader(resp.Body, maxProblemBytes)
	} else {
		r.d.Metrics.ObserveRequest(http.StatusOK, "")
		r.d.Metrics.ActiveStreams.Inc()
		defer r.d.Metrics.ActiveStreams.Dec()
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	idle := time.AfterFunc(r.cfg.IdleTimeout, cancel)
	defer idle.Stop()
	buf := make([]byte, relayBufferBytes)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			idle.Reset(r.cfg.IdleTimeout)
			_ = rc.SetWriteDeadline(time.Now().Add(r.cfg.IdleTimeout))
			if _, werr := w.Write(buf[:n]); werr != nil {
				return errClientGone
			}
			if ferr := rc.Flush(); ferr != nil {
				return errClientGone
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// relayedHeaders are the response headers a client reads; nothing else of
// the worker's (its Server, its address) reaches the client.
var relayedHeaders = []string{"Content-Type", "Cache-Control", "X-Accel-Buffering", "X-Content-Type-Options",
	"Retry-After", "Date", wire.HeaderPoWChallenge}

func copyHeaders(dst, src http.Header) {
	for _, k := range relayedHeaders {
		if v := src.Get(k); v != "" {
			dst.Set(k, v)
		}
	}
}

// problemName reads the problem name of a worker's refusal for metrics.
// It reads the (bounded) document and puts it back for the relay.
func problemName(resp *http.Response) string {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), wire.MediaTypeProblem) {
		return "other"
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes))
	resp.Body = io.NopCloser(bytes.NewReader(data))
	var doc struct {
		Type string `json:"type"`
	}
	if err != nil || json.Unmarshal(data, &doc) != nil {
		return "other"
	}
	name, _ := strings.CutPrefix(doc.Type, wire.ProblemTypeBase)
	return name
}
