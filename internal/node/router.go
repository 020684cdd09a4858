package node

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/replay/redisreplay"
	"github.com/sottolabs/sotto/internal/secretfile"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/ratelimit"
	"github.com/sottolabs/sotto/server/router"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// Shared state of routers in Redis: every key under this prefix.
const redisPrefix = "sotto:"

// minSharedSecret is the least a shared secret file must hold.
const minSharedSecret = 32

// buildRouter assembles the router role: no keys, no model; workers over
// mutual TLS; state in memory, or in Redis when routers share it.
func (n *Node) buildRouter() error {
	p := n.plan
	policy, err := n.devicePolicy()
	if err != nil {
		return err
	}
	secret, err := n.sharedSecret()
	if err != nil {
		return err
	}
	defer clear(secret) // what is derived from it is sealed in enclaves
	issuer, err := n.powIssuer(p.Server.PoWMode, derive(secret, "pow"))
	if err != nil {
		return err
	}
	transport, err := n.upstreamTransport()
	if err != nil {
		return err
	}
	reg, ipLim, devLim, err := n.sharedState()
	if err != nil {
		return err
	}
	keyer, err := n.routerKeyer(secret)
	if err != nil {
		return err
	}
	n.router, err = router.New(n.routerConfig(transport), router.Deps{
		Replay: reg, Devices: policy, PoW: issuer, IPLimiter: ipLim, DeviceLimiter: devLim,
		Streams: ratelimit.NewConcurrency(p.StreamsPerID, maxLimiterKeys), Keyer: keyer,
		Metrics: n.metrics, Log: n.log, ClientIP: clientip.New(p.Proxies, p.UnixListener).ClientIP,
		SharedState: n.redisReady,
	})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	return nil
}

// routerKeyer derives limiter keys under the shared secret (routers that
// share limiters must agree), or a per-process random key without one.
func (n *Node) routerKeyer(secret []byte) (*ratelimit.SealedKeyer, error) {
	if secret != nil {
		return ratelimit.NewSharedKeyer(derive(secret, "ratelimit"), n.budget), nil
	}
	k, err := ratelimit.NewSealedKeyer(n.budget)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return k, nil
}

func (n *Node) routerConfig(transport http.RoundTripper) router.Config {
	p := n.plan
	return router.Config{
		Upstreams: p.Router.Upstreams, Transport: transport, HealthInterval: p.Router.HealthInterval,
		BreakerThreshold: p.Router.BreakerThreshold, BreakerReset: p.Router.BreakerReset,
		FirstByteTimeout: p.Router.FirstByte, IdleTimeout: p.Router.Idle, TotalTimeout: p.Router.Total,
		RequestTTL: p.Server.RequestTTL, MaxBodyBytes: p.Server.MaxBodyBytes,
		PoWMode: p.Server.PoWMode, PoWAutoThreshold: p.Server.PoWAutoThreshold,
		MetricsOnMain: p.Server.MetricsOnMainListen, InflightBodyBytes: p.Server.InflightBodyBytes,
		CORSOrigins: p.Server.CORSOrigins,
	}
}

// sharedSecret reads SOTTO_SHARED_SECRET_FILE (a secret file: 0600, owned
// by the service user), or returns nil when there is none.
func (n *Node) sharedSecret() ([]byte, error) {
	if n.plan.SharedSecretFile == "" {
		return nil, nil
	}
	buf, size, err := secretfile.Read(n.plan.SharedSecretFile, 4096, n.budget)
	if err != nil {
		return nil, fmt.Errorf("node: shared secret: %w", err)
	}
	defer buf.Destroy()
	if size < minSharedSecret {
		return nil, fmt.Errorf("node: shared secret: %s holds %d bytes, want at least %d", n.plan.SharedSecretFile, size, minSharedSecret)
	}
	return derive(buf.Bytes()[:size], "sotto shared secret v1"), nil
}

// derive is HMAC-SHA256(secret, label): one independent key per use.
func derive(secret []byte, label string) []byte {
	if secret == nil {
		return nil
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// sharedState returns the router's replay register and limiters: in
// Redis when REDIS_URL is set (several routers behind one address), in
// memory otherwise. Redis down makes them fail closed (503, 429).
func (n *Node) sharedState() (replay.Register, ratelimit.Limiter, ratelimit.Limiter, error) {
	p := n.plan
	if p.RedisURL == "" {
		return replay.NewMemory(p.ReplaySize), memoryLimiter(p.IPLimit), memoryLimiter(p.DeviceLimit), nil
	}
	opts, err := redis.ParseURL(p.RedisURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("node: REDIS_URL: %w", errRedisURL)
	}
	redis.SetLogger(slogRedis{n.log})
	n.redis = redis.NewClient(opts)
	ip := ratelimit.NewRedis(n.redis, p.IPLimit.PerMinute, p.IPLimit.Burst, redisPrefix+"rl:ip:")
	dev := ratelimit.NewRedis(n.redis, p.DeviceLimit.PerMinute, p.DeviceLimit.Burst, redisPrefix+"rl:dev:")
	reg := redisreplay.New(n.redis, redisPrefix+"replay:router:")
	if err := n.checkRedisAtStart(reg); err != nil {
		return nil, nil, nil, err
	}
	n.redisReady = redisReady(n.redis, reg)
	return reg, ip, dev, nil
}

// errRedisURL replaces go-redis's parse error, whose text may quote the
// URL (and its password).
var errRedisURL = fmt.Errorf("not a valid Redis URL")

// upstreamTransport is the router's HTTP/2 connection pools to its
// workers: mutual TLS with a reloaded client certificate and CA pool, one
// pool per worker, each verifying that worker's certificate against the
// host of its own URL (a name or an IP address) and its own pin, or
// SOTTO_PEER_SPKI's when it has none.
func (n *Node) upstreamTransport() (upstreamTransports, error) {
	p := n.plan
	cert, err := tlsreload.NewCertReloader(p.MTLS.ClientCert, p.MTLS.ClientKey, n.log)
	if err != nil {
		return nil, fmt.Errorf("node: router certificate: %w", err)
	}
	cas, err := tlsreload.NewPoolReloader(p.MTLS.ClientCA, n.log)
	if err != nil {
		return nil, fmt.Errorf("node: worker CA: %w", err)
	}
	n.peerCert, n.peerCAs = cert, cas
	out := upstreamTransports{}
	for _, raw := range p.Router.Upstreams {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("node: INFERENCE_ENDPOINTS: %w", err)
		}
		out[u.Host] = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: p.Router.Connect, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     tlsreload.ClientMTLS(cert, cas, pinsOf(p, raw), u.Hostname()),
			TLSHandshakeTimeout: p.Router.Connect,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	return out, nil
}

// pinsOf is the worker's own pin, or SOTTO_PEER_SPKI's without one.
func pinsOf(p Plan, upstream string) tlsreload.Pins {
	if own := p.Router.UpstreamPins[upstream]; own != nil {
		return own
	}
	return p.MTLS.Pins
}

// upstreamTransports sends each request through the transport of the
// worker it is for (by URL host:port); a request to any other host fails.
type upstreamTransports map[string]http.RoundTripper

// errNoUpstream: a request for a host that is not a configured worker.
var errNoUpstream = errors.New("node: not a configured worker")

func (t upstreamTransports) RoundTrip(req *http.Request) (*http.Response, error) {
	rt, ok := t[req.URL.Host]
	if !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNoUpstream
	}
	return rt.RoundTrip(req)
}
