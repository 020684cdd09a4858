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
	"github.com/sottolabs/sotto/server/intake"
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

// Causes of an attempt's cancellation, and the breaker's neutral verdict.
var (
	errFirstByte = errors.New("router: no response headers within the first-byte timeout")
	errIdle      = errors.New("router: worker stream silent for the idle timeout")
	errNotAFault = errors.New("router: attempt ended for a reason not the worker's")
)

// result is what one attempt on a worker left behind.
type result struct {
	retry bool // nothing was sent to the client; another worker may be tried
	spent bool // the worker may have registered the rid: the router's claim stays
}

// handleChat serves POST /api/chat: the router's checks, then the relay.
// The rid claimed in the last check is released again when no worker
// registered it (docs/protocol.md section 12, "The router's register").
func (r *Router) handleChat(c echo.Context) error {
	start := r.d.Now()
	ch := &chat{r: c.Request(), arrived: start}
	defer ch.cleanup()
	w := c.Response()
	for _, s := range r.steps() {
		if p := s(ch); p != nil {
			if ch.body == nil {
				intake.CloseUnread(w, ch.r)
			}
			r.refuse(w, p)
			return nil
		}
	}
	if spent := r.forward(w, ch); !spent {
		r.unclaim(ch)
	}
	r.d.Metrics.RequestDuration.Observe(r.d.Now().Sub(start).Seconds())
	return nil
}

// refuse writes the router's own problem, counts it and logs it: the
// problem's name and status only, as the worker logs its refusals (no
// address, header or body byte).
func (r *Router) refuse(w http.ResponseWriter, p *problem.Problem) {
	r.d.Metrics.ObserveRequest(p.Status, p.Name)
	r.log.Info("refused", "problem", p.Name, "status", p.Status)
	if p.Name == problem.Date {
		w.Header().Set("Date", r.d.Now().UTC().Format(http.TimeFormat))
	}
	problem.Write(w, *p)
}

// forward tries workers until one answers with anything but 503, and
// relays that answer. A worker is retried elsewhere only when it provably
// did not start the request: the request was never written to it, or it
// answered 503, which a worker sends only before it claims the rid
// (docs/protocol.md). A request written to a worker that then sends no
// response headers (lost, or silent for FirstByteTimeout) is not sent
// again: the worker may have opened it; the client gets 502 #worker-lost
// or 504 #worker-timeout. A started generation is never duplicated.
// forward reports whether a worker may have registered the rid.
func (r *Router) forward(w http.ResponseWriter, c *chat) (spent bool) {
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
		if res := r.attempt(ctx, w, u, c); !res.retry {
			return res.spent
		}
		select {
		case <-ctx.Done():
			r.refuse(w, reject(problem.OverloadedAfter(time.Second)))
			return false
		case <-time.After(bo.NextBackOff()):
		}
	}
	r.refuse(w, reject(problem.OverloadedAfter(time.Second)))
	return false
}

// attempt sends the sealed request to u and relays the answer.
func (r *Router) attempt(ctx context.Context, w http.ResponseWriter, u *Upstream, c *chat) result {
	done, err := u.breaker.Allow()
	if err != nil {
		return result{retry: true} // open, or half-open with its probe under way
	}
	u.inFlight.Add(1)
	r.metrics.inFlight.WithLabelValues(u.Name).Inc()
	defer func() {
		u.inFlight.Add(-1)
		r.metrics.inFlight.WithLabelValues(u.Name).Dec()
	}()
	attemptCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, written, err := r.send(attemptCtx, cancel, u, c)
	if err != nil {
		return r.noHeaders(ctx, w, u, c, done, written, context.Cause(attemptCtx))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusServiceUnavailable {
		done(nil) // load, not a fault
		r.metrics.outcome(u, "refused")
		return result{retry: true}
	}
	name := ""
	if resp.StatusCode != http.StatusOK {
		name = problemName(resp)
	}
	err = r.relay(w, resp, name, cancel)
	r.settle(ctx, u, c, done, err)
	return result{spent: spends(resp.StatusCode, name)}
}

// noHeaders ends an attempt that got no response headers. Nothing was
// written: another worker may be tried. Written and the client gone: not
// the worker's fault, and nothing to answer. Written and the worker lost
// or silent: 502 or 504, a fault of the worker.
func (r *Router) noHeaders(ctx context.Context, w http.ResponseWriter, u *Upstream, c *chat,
	done func(error), written bool, cause error) result {
	switch {
	case c.r.Context().Err() != nil:
		done(errNotAFault)
		r.metrics.outcome(u, "client_gone")
		return result{spent: written}
	case !written:
		done(errUpstream)
		r.metrics.outcome(u, "connect_error")
		return result{retry: true}
	case ctx.Err() != nil: // the total timeout, shorter than the first-byte one
		done(errNotAFault)
		r.metrics.outcome(u, "total_timeout")
		r.refuse(w, reject(problem.New(problem.WorkerTimeout)))
	case errors.Is(cause, errFirstByte):
		done(errUpstream)
		r.metrics.outcome(u, "first_byte_timeout")
		r.refuse(w, reject(problem.New(problem.WorkerTimeout)))
	default:
		done(errUpstream)
		r.metrics.outcome(u, "connect_error")
		r.log.Warn("worker lost before its response headers", "upstream", u.Name)
		r.refuse(w, reject(problem.New(problem.WorkerLost)))
	}
	return result{spent: true}
}

// settle counts a relayed answer: complete, the client gone, the stream
// cut by the total timeout (neither is the worker's fault), or the
// worker lost or silent mid-stream (a fault).
func (r *Router) settle(ctx context.Context, u *Upstream, c *chat, done func(error), err error) {
	switch {
	case err == nil:
		done(nil)
		r.metrics.outcome(u, "ok")
	case errors.Is(err, errClientGone) || c.r.Context().Err() != nil:
		done(errNotAFault)
		r.metrics.outcome(u, "client_gone")
	case ctx.Err() != nil:
		done(errNotAFault)
		r.metrics.outcome(u, "total_timeout")
	default:
		done(errUpstream)
		r.metrics.outcome(u, "stream_error")
		r.log.Warn("worker lost during a stream", "upstream", u.Name)
	}
}

// send posts the sealed body and device headers to u and waits for the
// response headers, at most FirstByteTimeout. written reports whether the
// request reached the worker (when it did not, a retry is safe).
func (r *Router) send(ctx context.Context, cancel context.CancelCauseFunc, u *Upstream, c *chat) (*http.Response, bool, error) {
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
	firstByte := time.AfterFunc(r.cfg.FirstByteTimeout, func() { cancel(errFirstByte) })
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
func (r *Router) relay(w http.ResponseWriter, resp *http.Response, name string, cancel context.CancelCauseFunc) error {
	copyHeaders(w.Header(), resp.Header)
	body := io.Reader(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.d.Metrics.ObserveRequest(resp.StatusCode, name)
		body = io.LimitReader(resp.Body, maxProblemBytes)
	} else {
		r.d.Metrics.ObserveRequest(http.StatusOK, "")
		r.d.Metrics.ActiveStreams.Inc()
		defer r.d.Metrics.ActiveStreams.Dec()
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	idle := time.AfterFunc(r.cfg.IdleTimeout, func() { cancel(errIdle) })
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

// unspent are the worker refusals of protocol section 4 steps 1-9 (and
// 503, before step 10 or a full register): a worker that sends one has
// not registered the rid (section 4.1).
var unspent = map[string]bool{problem.TooLarge: true, problem.MediaType: true, problem.RateLimited: true,
	problem.PoW: true, problem.Envelope: true, problem.Key: true, problem.Date: true, problem.Device: true,
	problem.Overloaded: true}

// spends reports whether a relayed answer leaves the rid registered at
// the worker: a stream, #replay, #request, or anything the router cannot
// read (kept: the claim errs on the side of refusing a replay).
func spends(status int, name string) bool {
	return status == http.StatusOK || !unspent[name]
}
