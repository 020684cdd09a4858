package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/client/load"
	"github.com/sottolabs/sotto/crypto/device"
)

type benchChatFlags struct {
	server, pin, deviceKey, caFile, suite string
	clientCert, clientKey                 string
	parallel, requests, words, maxTokens  int
	warmup                                int
	seed                                  uint64
	timeout                               time.Duration
}

var benchChatOpts benchChatFlags

var benchChatCmd = &cobra.Command{
	Use:   "chat --server URL --pin KEY --device-key F [--parallel N --requests R]",
	Short: "Measure a running server end to end through the Go client: TTFT, tokens/s, latency",
	Long: "Send --requests chat requests (default --parallel), --parallel at a time, each a\n" +
		"synthetic prompt of --prompt-words pseudo-random words (no user text), greedy,\n" +
		"--max-tokens tokens, through the real client (HPKE, device signature, sealed SSE),\n" +
		"and print one JSON line. The server's per-device and per-IP limits refuse a\n" +
		"benchmark unless raised (RATE_LIMIT_*, IP_RATE_LIMIT_*, MAX_STREAMS_PER_DEVICE);\n" +
		"refusals are counted by problem name. See docs/benchmarks.md.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		return runChatBench(cmd, func(ctx context.Context) (*benchChatResult, error) { return benchChat(ctx, benchChatOpts) })
	},
}

func init() {
	f := benchChatCmd.Flags()
	o := &benchChatOpts
	f.StringVar(&o.server, "server", "", "server base URL (required)")
	f.StringVar(&o.pin, "pin", "", "pinned signing public key, ed25519:<base64url> (required; sotto keys show --pin)")
	f.StringVar(&o.deviceKey, "device-key", "", "enrolled device key file (default $XDG_CONFIG_HOME/sotto/device.key)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM certificates to trust for an https server (default: the system roots)")
	f.StringVar(&o.clientCert, "client-cert", "", "PEM client certificate for a mutual-TLS server (a worker: measures the router hop)")
	f.StringVar(&o.clientKey, "client-key", "", "the private key of --client-cert (PEM)")
	f.StringVar(&o.suite, "suite", "x25519", "HPKE suite: x25519 or xwing")
	f.IntVar(&o.parallel, "parallel", 1, "requests in flight at once")
	f.IntVar(&o.requests, "requests", 0, "total requests (0 = --parallel)")
	f.IntVar(&o.words, "prompt-words", 16, "words in each synthetic prompt")
	f.IntVar(&o.maxTokens, "max-tokens", 128, "max_tokens of each request")
	f.IntVar(&o.warmup, "warmup", 1, "untimed requests (max_tokens 1) before the run: key configuration fetch, connection, model pages")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic prompts (request i uses seed+i)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	_ = benchChatCmd.MarkFlagRequired("server")
	_ = benchChatCmd.MarkFlagRequired("pin")
	benchCmd.AddCommand(benchChatCmd)
}

// runChatBench runs one chat-style benchmark until it ends or the process
// is interrupted, prints its JSON line, and fails when requests failed.
func runChatBench(cmd *cobra.Command, run func(context.Context) (*benchChatResult, error)) error {
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, err := run(ctx)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(cmd.OutOrStdout()).Encode(out); err != nil {
		return err
	}
	if out.RequestsFailed > 0 {
		return fmt.Errorf("bench: %d of %d requests failed", out.RequestsFailed, out.Requests)
	}
	return nil
}

// benchChatResult is the JSON line `sotto bench chat` prints. Token counts
// and rates cover the successful requests only.
type benchChatResult struct {
	Suite            string         `json:"suite"`
	Parallel         int            `json:"parallel"`
	Requests         int            `json:"requests"`
	PromptWords      int            `json:"prompt_words"`
	MaxTokens        int            `json:"max_tokens"`
	RequestsOK       int            `json:"requests_ok"`
	RequestsFailed   int            `json:"requests_failed"`
	Failures         map[string]int `json:"failures"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	Chunks           int            `json:"chunks"`
	TTFTP50Ms        float64        `json:"ttft_ms_p50"`
	TTFTP95Ms        float64        `json:"ttft_ms_p95"`
	E2EP50Ms         float64        `json:"e2e_ms_p50"`
	E2EP95Ms         float64        `json:"e2e_ms_p95"`
	// Traffic shape (docs/protocol.md 5.5): the last text's arrival and
	// the reply bytes per stream (all requests, failed ones included).
	LastTokenP50Ms   float64 `json:"last_token_ms_p50"`
	LastTokenP95Ms   float64 `json:"last_token_ms_p95"`
	BytesPerStream   float64 `json:"bytes_per_stream"`
	GenTokPerS       float64 `json:"gen_tokens_per_s"`
	GenTokPerSDecode float64 `json:"gen_tokens_per_s_decode"`
	GenTokPerSStream float64 `json:"gen_tokens_per_s_per_stream"`
	WallS            float64 `json:"wall_s"`
	LoadAverage1m    float64 `json:"load_average_1m"`
}

// chatTiming is one request's timeline on the client's clock.
type chatTiming struct {
	start, first, end time.Time
	last              time.Time // the last text's arrival
	res               client.Result
	chunks            int
	failure           string // "" when the request succeeded
}

func (o *benchChatFlags) validate() error {
	if o.requests == 0 {
		o.requests = o.parallel
	}
	checks := []struct {
		name string
		v    int
	}{{"parallel", o.parallel}, {"requests", o.requests}, {"prompt-words", o.words}, {"max-tokens", o.maxTokens}}
	for _, c := range checks {
		if c.v < 1 {
			return fmt.Errorf("bench: --%s must be at least 1", c.name)
		}
	}
	if o.warmup < 0 {
		return errors.New("bench: --warmup must not be negative")
	}
	return nil
}

func benchChat(ctx context.Context, o benchChatFlags) (*benchChatResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	c, closeKey, err := newBenchClient(o)
	if err != nil {
		return nil, err
	}
	defer closeKey()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	if err := benchWarmup(ctx, c, o); err != nil {
		return nil, err
	}
	var replyBytes atomic.Int64 // every reply's body bytes (bench_bytes.go)
	timings, wall, err := runChatRequests(withByteCounter(ctx, &replyBytes), c, o)
	if err != nil {
		return nil, err
	}
	res := summarizeChat(timings, wall)
	if len(timings) > 0 {
		res.BytesPerStream = float64(replyBytes.Load()) / float64(len(timings))
	}
	res.Suite, res.Parallel, res.Requests = o.suite, o.parallel, o.requests
	res.PromptWords, res.MaxTokens = o.words, o.maxTokens
	res.LoadAverage1m = loadAverage()
	return res, nil
}

// newBenchClient builds one client shared by all workers, as an app
// would. closeKey destroys the device key held in locked memory.
func newBenchClient(o benchChatFlags) (*client.Client, func(), error) {
	pin, err := parsePin(o.pin)
	if err != nil {
		return nil, nil, err
	}
	hc, err := benchHTTPClient(o.caFile, o.parallel)
	if err != nil {
		return nil, nil, err
	}
	if err := withClientCert(hc, o.clientCert, o.clientKey); err != nil {
		return nil, nil, err
	}
	countBytes(hc)
	// No StatePath: each run verifies the server's key configuration afresh.
	return openClient(client.Config{BaseURL: o.server, SigningKey: pin, HTTPClient: hc}, o.suite, o.deviceKey)
}

// benchHTTPClient is chat's HTTP client with an idle pool as large as the
// parallelism: the default keeps 2 idle connections per host, so over
// HTTP/1.1 every later wave would pay a new connection (and a TLS
// handshake) inside its TTFT.
func benchHTTPClient(caFile string, parallel int) (*http.Client, error) {
	hc, err := chatHTTPClient(caFile)
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if tr, ok := hc.Transport.(*http.Transport); ok {
		tr.MaxIdleConnsPerHost = parallel + 1
		tr.MaxIdleConns = max(tr.MaxIdleConns, parallel+1)
	}
	return hc, nil
}

// withClientCert makes hc present the certificate in certFile and
// keyFile (none when certFile is empty), as a router does to its workers.
func withClientCert(hc *http.Client, certFile, keyFile string) error {
	if certFile == "" {
		return nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("bench: --client-cert: %w", err)
	}
	tr, ok := hc.Transport.(*http.Transport)
	if !ok || tr.TLSClientConfig == nil {
		return errors.New("bench: --client-cert needs an https server and --ca-file")
	}
	tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	return nil
}

// benchWarmup sends o.warmup untimed one-token requests, so that the
// timed run does not include the key configuration fetch or the first
// connection. A failure here is a setup problem (pin, device, limits):
// the run stops with it.
func benchWarmup(ctx context.Context, c *client.Client, o benchChatFlags) error {
	for i := range o.warmup {
		req := benchRequest(o, o.seed+uint64(o.requests+i))
		req.MaxTokens = 1
		if _, err := c.Chat(ctx, req, nil); err != nil {
			return fmt.Errorf("bench: warm-up request: %w", describeChatError(err, device.Key{}))
		}
	}
	return nil
}

// runChatRequests sends o.requests requests, o.parallel at a time: a
// closed loop of client/load, its samples turned into the timelines of
// this report's definitions.
func runChatRequests(ctx context.Context, c *client.Client, o benchChatFlags) ([]chatTiming, time.Duration, error) {
	rep, err := load.Run(ctx, load.Config{Target: load.Sotto{Client: c}, Concurrency: o.parallel, Count: o.requests,
		Seed: o.seed, RequestTimeout: o.timeout, Workload: load.Workload{PromptWords: load.Fixed(o.words),
			MaxTokens: load.Fixed(o.maxTokens)}})
	if err != nil {
		return nil, 0, fmt.Errorf("bench: %w", err)
	}
	timings := make([]chatTiming, len(rep.Samples))
	for i, x := range rep.Samples {
		t := chatTiming{start: x.Start, end: x.Start.Add(x.E2E), chunks: x.Chunks, failure: x.Failure,
			res: client.Result{PromptTokens: x.PromptTokens, CompletionTokens: x.CompletionTokens}}
		if x.TTFT > 0 {
			t.first = x.Start.Add(x.TTFT)
			t.last = t.first // the last text: after every gap between chunks
			for _, g := range x.Gaps {
				t.last = t.last.Add(g)
			}
		}
		timings[i] = t
	}
	return timings, time.Duration(rep.Summary.WallS * float64(time.Second)), nil
}

// benchRequest is one greedy request on a synthetic prompt. The fixed
// seed makes the sampling reproducible even if the server's default
// temperature applied.
func benchRequest(o benchChatFlags, seed uint64) client.Request {
	temp := 0.0
	return client.Request{
		Messages:    []client.Message{{Role: client.RoleUser, Content: syntheticWords(o.words, seed)}},
		MaxTokens:   o.maxTokens,
		Temperature: &temp,
		Seed:        &seed,
	}
}

// syntheticWords returns n pseudo-random words, the same for the same
// seed: client/load's prompts, shared by every bench command.
func syntheticWords(n int, seed uint64) string { return load.SyntheticWords(n, seed) }

// summarizeChat computes the report (definitions in docs/benchmarks.md).
func summarizeChat(ts []chatTiming, wall time.Duration) *benchChatResult {
	r := &benchChatResult{Failures: map[string]int{}, WallS: wall.Seconds()}
	var ttft, e2e, last []float64
	var w decodeWindow
	for _, t := range ts {
		if t.failure != "" {
			r.RequestsFailed++
			r.Failures[t.failure]++
			continue
		}
		r.RequestsOK++
		r.PromptTokens += t.res.PromptTokens
		r.CompletionTokens += t.res.CompletionTokens
		r.Chunks += t.chunks
		e2e = append(e2e, ms(t.end.Sub(t.start)))
		if !t.first.IsZero() { // a reply without text has no TTFT
			ttft = append(ttft, ms(t.first.Sub(t.start)))
			last = append(last, ms(t.last.Sub(t.start)))
			w.add(t)
		}
	}
	if wall > 0 { // JSON has no Inf
		r.GenTokPerS = float64(r.CompletionTokens) / wall.Seconds()
	}
	r.GenTokPerSDecode, r.GenTokPerSStream = w.rates()
	r.TTFTP50Ms, r.TTFTP95Ms = percentiles(ttft)
	r.E2EP50Ms, r.E2EP95Ms = percentiles(e2e)
	r.LastTokenP50Ms, r.LastTokenP95Ms = percentiles(last)
	return r
}

// decodeWindow gathers the generation after the first chunk of the
// successful requests that had one: the engine benchmark's definitions,
// on the client's clock.
type decodeWindow struct {
	afterFirst       int     // completion tokens after each first chunk
	perStream        float64 // sum of the per-request rates
	streams          int
	firstMin, endMax time.Time
}

func (w *decodeWindow) add(t chatTiming) {
	n := max(t.res.CompletionTokens-1, 0)
	w.afterFirst += n
	// The last text, not the stream's end: a shaped stream pads after it.
	if d := t.last.Sub(t.first).Seconds(); d > 0 {
		w.perStream += float64(n) / d
	}
	w.streams++
	if w.firstMin.IsZero() || t.first.Before(w.firstMin) {
		w.firstMin = t.first
	}
	w.endMax = maxTime(w.endMax, t.last)
}

// rates returns the aggregate and the mean per-stream rates (0 for none).
func (w *decodeWindow) rates() (aggregate, perStream float64) {
	d := w.endMax.Sub(w.firstMin).Seconds()
	if w.streams == 0 || d <= 0 {
		return 0, 0
	}
	return float64(w.afterFirst) / d, w.perStream / float64(w.streams)
}

// percentiles returns the nearest-rank p50 and p95 of xs (0 for none).
func percentiles(xs []float64) (p50, p95 float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return percentile(xs, 50), percentile(xs, 95)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
