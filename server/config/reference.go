package config

import (
	"fmt"
	"reflect"
	"strings"
)

// varDoc documents one variable for the reference in docs/operations.md.
// def replaces the envDefault tag where the default depends on other
// settings; secret masks the value in `sotto config check`.
type varDoc struct {
	def     string
	meaning string
	secret  bool
}

// docs holds the meaning of every variable Config reads; a test requires
// exactly the variables of Config, and the reference in
// docs/operations.md to be Reference()'s output.
var docs = map[string]varDoc{
	"ENVIRONMENT":                        {meaning: "`development` or `production`. Production refuses `SOTTO_DEVICE_POLICY=open`, requires `SOTTO_METRICS_LISTEN`, and has no default key directory or allow-list. The systemd unit sets `production`."},
	"STREAMING_ENABLED":                  {meaning: "Stream sealed tokens as they are generated. `false` sends the whole reply when generation ends, in sealed chunks of at most 4 KiB of text (the stream then carries no per-token timing; replies longer than the 64 KiB locked pending buffer end with `finish_reason` `error`, code `slow_client`)."},
	"REQUEST_TTL_SECONDS":                {meaning: "Accepted clock difference for a request's `ts` (1..3600); also how long a rid stays registered."},
	"RATE_LIMIT_PER_MINUTE":              {meaning: "Sustained requests per minute per verified device."},
	"RATE_LIMIT_BURST":                   {meaning: "Requests a device may send at once."},
	"IP_RATE_LIMIT_PER_MINUTE":           {meaning: "Sustained requests per minute per client address (IPv4 address or IPv6 /64)."},
	"IP_RATE_LIMIT_BURST":                {meaning: "Requests an address may send at once."},
	"SOTTO_LISTEN":                       {meaning: "Public listener: `host:port`, or `unix:/path` for a UNIX socket behind a reverse proxy."},
	"SOTTO_TLS_CERT":                     {meaning: "PEM certificate chain for HTTPS on the public listener. Required unless `SOTTO_LISTEN` is a loopback address or a UNIX socket (and always for a worker); set with `SOTTO_TLS_KEY` or not at all."},
	"SOTTO_TLS_KEY":                      {meaning: "PEM private key of `SOTTO_TLS_CERT`."},
	"SOTTO_METRICS_LISTEN":               {def: "none; required in production", meaning: "Separate private listener for `/metrics` (`host:port` or `unix:/path`). Must differ from `SOTTO_LISTEN`. Empty (development only): `/metrics` is served on the public listener, with a warning at start; its live KV cells and token counters would give an observer the token counts of a lone request."},
	"SOTTO_MODEL":                        {def: "none (required in production, except for a router)", meaning: "Path of the GGUF model. Unset in development: the first `./models/*.gguf` (`make model` puts one there), else the embedded demo model stories260K (docs/models.md), announced in the log. A router runs no model and refuses it."},
	"SOTTO_MODEL_SHA256":                 {meaning: "Expected sha256 of the model file (64 hex digits; `sotto model pull` prints it). Set: `serve` hashes the file it opened at start and refuses a model that changed, and loads that same open file; `sotto doctor` checks it too. A router refuses it."},
	"SOTTO_MLOCK_WEIGHTS":                {meaning: "Lock the model weights in memory. Refused at start unless locked memory is unlimited (`LimitMEMLOCK=infinity`, or `CAP_IPC_LOCK`): under a finite limit llama.cpp would lock weights up to it and leave nothing for the prompt buffers."},
	"SOTTO_KEY_DIR":                      {def: "`./dev/keys` in development (created on first start); required in production", meaning: "Directory of the HPKE private keys and the key-config signing key. A router holds no keys and refuses it."},
	"SOTTO_DEVICE_POLICY":                {meaning: "`allowlist` (enrolled devices only), `open` (any validly signed device; refused in production), `attested` (devices holding an enrolment credential from App Attest or Play Integrity, docs/enrolment.md) or `attested+allowlist` (enrolled and listed). A router with an attested policy relays enrolment to its workers and leaves credentials to them (it checks signatures, limits, and under `attested+allowlist` its allow-list)."},
	"SOTTO_ALLOW_LIST":                   {def: "`./dev/allow-list` in development; required in production with `allowlist` or `attested+allowlist`", meaning: "Enrolled device keys, one per line. Re-read when the file changes (within about a second) and on SIGHUP; a file that does not parse keeps the previous list. In development a missing file is created with a new development device (its key beside the list, `device.key`), as the key directory is."},
	"SOTTO_ENROL_APPLE_APP_IDS":          {meaning: "App IDs (`<team ID>.<bundle ID>`, comma-separated) whose App Attest attestations enrol devices, verified against Apple's App Attestation Root CA compiled in (docs/enrolment.md). Empty: iOS enrolment is off."},
	"SOTTO_ENROL_ANDROID_PACKAGES":       {meaning: "Android application ids (comma-separated) whose Play Integrity verdicts enrol devices; needs `SOTTO_ENROL_ANDROID_KEYS`. Empty: Android enrolment is off."},
	"SOTTO_ENROL_ANDROID_CERT_DIGESTS":   {meaning: "Accepted app signing certificate SHA-256 digests (base64url, as Play Integrity reports them), comma-separated. Empty: any certificate Play recognises."},
	"SOTTO_ENROL_ANDROID_KEYS":           {meaning: "Secret file (mode 0600) with the Play Integrity response decryption and verification keys from the Play Console (`decryption_key: <base64>` and `verification_key: <base64>`); verdicts are decrypted locally, with no call to Google.", secret: true},
	"SOTTO_ENROL_DEVELOPMENT":            {meaning: "Accept development-environment attestations (App Attest `appattestdevelop`, Play `UNRECOGNIZED_VERSION`), recorded as environment `development`. Refused in production."},
	"SOTTO_ENROL_SOFTWARE":               {meaning: "Accept the software attester of `sotto chat --enrol-software` and the tests; it proves nothing about the app or device. Refused in production."},
	"SOTTO_ENROL_TTL_SECONDS":            {meaning: "Lifetime of an enrolment credential, and so the interval at which devices re-check (a new Play Integrity verdict, or an App Attest assertion) (60..2592000)."},
	"SOTTO_ENROL_REVOKED":                {meaning: "Revocation file, re-read on SIGHUP: lines `device <Sotto-Device value>`, `app_version <platform> <version>`, `environment <environment>` (docs/enrolment.md). Empty: nothing revoked."},
	"SOTTO_SLOTS":                        {meaning: "Concurrent generations (1..256)."},
	"SOTTO_CONTEXT":                      {meaning: "Context tokens per slot (64..1048576)."},
	"SOTTO_QUEUE_DEPTH":                  {meaning: "Requests waiting for a slot before new ones get 503 `#overloaded` (0..100000)."},
	"SOTTO_PROMPT_CHUNK":                 {meaning: "Most prompt tokens one decode step takes (1..512). Every step also carries the next token of each stream already generating, so a smaller chunk bounds how long an arriving prompt delays them (their inter-token latency) and spreads its prefill over more steps (its time to first token)."},
	"SOTTO_STEP_TOKENS":                  {meaning: "Most tokens one decode step takes while any stream is generating (0..512; 0: no limit but `SOTTO_PROMPT_CHUNK`). Each generating stream's next token goes first; arriving prompts fill the rest, and always get at least a quarter of it. Bounds how much an arrival stretches the other streams' inter-token latency, at the cost of its own time to first token (docs/benchmarks.md, \"Which part of the SLO binds at the knee\")."},
	"SOTTO_THREADS":                      {meaning: "CPU threads for inference; 0 uses all cores."},
	"MAX_BODY_BYTES":                     {meaning: "Largest request body: 32 + 1120 + 262144 + 16, the protocol's largest request. Between 336 and 263312."},
	"MAX_TOKENS_CAP":                     {meaning: "Upper bound on a request's `max_tokens`."},
	"DEFAULT_MAX_TOKENS":                 {meaning: "`max_tokens` when a request has none, clamped to the context left after the prompt (1..`MAX_TOKENS_CAP`)."},
	"MAX_STREAMS_PER_DEVICE":             {meaning: "Concurrent streams per device (1..1000)."},
	"SOTTO_PAD_QUANTUM":                  {meaning: "Response chunks are padded to a multiple of this many bytes (1..4096)."},
	"SOTTO_COALESCE_MS":                  {meaning: "0 sends each token as generated; otherwise tokens are sent at this fixed cadence, hiding per-token timing (0..10000)."},
	"SOTTO_STREAM_SHAPE":                 {def: "`constant` in production, `off` in development", meaning: "Traffic shape of reply streams (docs/protocol.md 5.5). `constant`: to clients that ask for it, fixed-size frames at the `SOTTO_STREAM_FRAME_MS` cadence from the stream's start, padding frames before the first and after the last token up to a power-of-two number of frames (at least 16), so an observer learns the start, the duration bucket and nothing of the token count or prefill time. `off`: text leaves as generated (or per `SOTTO_COALESCE_MS`). Clients that do not ask get the unshaped stream."},
	"SOTTO_STREAM_FRAME_MS":              {meaning: "Interval between a shaped stream's frames, in ms (1..1000). The first frame leaves one interval after the request arrived; each carries up to 244 bytes of text. 50 ms: the first text at least 50 ms after arrival, a token waits on average 25 ms for its frame, 7.4 KB/s per stream, the smallest bucket 0.8 s (docs/benchmarks.md, \"Traffic shape\")."},
	"SOTTO_METRICS_BATCH":                {meaning: "Worker only: `/metrics` is a snapshot taken every this many finished requests, so the router's host, which scrapes it and relays every request, learns token counts, cache hits and locked memory only summed over that many (docs/deployment.md, \"Metrics and the router\"). 1 publishes live values, and with them each request's counts (1..100000). A single node's metrics are always live."},
	"SOTTO_WRITE_TIMEOUT_SECONDS":        {meaning: "Longest one write and flush of a stream may wait for a client that stops reading; then the stream is cancelled and its slot, locked buffers and device quota are freed (1..3600)."},
	"SOTTO_INFLIGHT_BODY_BYTES":          {meaning: "Bytes of request bodies all clients together may have in flight before admission (64 MiB, about 250 of the largest requests); beyond it new requests get 503 `#overloaded` before their body is read (`MAX_BODY_BYTES`..16 GiB). A router applies it too, before its checks."},
	"SOTTO_PREFIX_CACHE_BYTES":           {meaning: "Locked memory for conversations' KV prefixes (private multi-turn, docs/protocol.md 3.2.1); 0 turns the cache off. Split into `SOTTO_PREFIX_CACHE_DEVICES` equal device shares; a device's entries are evicted least recently used past its share (or past 16 entries) and wiped on expiry, eviction and shutdown. Refused at start when, full, it would leave the slots' prompts no room under the locked-memory limit (0..1 TiB)."},
	"SOTTO_PREFIX_CACHE_DEVICES":         {meaning: "How many devices hold conversations in the cache at once, each in an equal share of `SOTTO_PREFIX_CACHE_BYTES`; another device's conversation is not kept while they all do. One device never evicts another's entries, so it cannot learn their sizes (1..4096)."},
	"SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS": {meaning: "The longest a conversation's prefix is kept after its last request; a client's `cache.ttl` is capped to it (1..86400)."},
	"POW_MODE":                           {meaning: "Proof of work: `off`, `always`, or `auto` (only while load exceeds `POW_AUTO_THRESHOLD`)."},
	"POW_BITS":                           {meaning: "Leading zero bits a proof of work needs (1..32)."},
	"POW_AUTO_THRESHOLD":                 {meaning: "Fraction of capacity above which `auto` demands proof of work (0 < x <= 1)."},
	"SOTTO_TRUSTED_PROXIES":              {meaning: "Comma-separated CIDR prefixes or addresses whose `X-Forwarded-For` is believed (see below)."},
	"LOG_LEVEL":                          {meaning: "`debug`, `info`, `warn` or `error`. `info` logs one line per request (hashed rid, outcome); `debug` adds its token counts and duration. No level logs content."},
	"LOG_FORMAT":                         {meaning: "`json`, `text` or `auto`: text when standard error is a terminal in development, JSON otherwise (under systemd, in production, into a pipe)."},
	"SOTTO_CORS_ORIGINS":                 {def: "none (no CORS)", meaning: "Comma-separated origins (`https://chat.example`, `http://localhost:5173`) whose pages may call `/api/pubkey` and `/api/chat` from a browser; `null` allows pages opened from a file (docs/clients.md: the trust model). No wildcard, no credentials."},
	"SHUTDOWN_GRACE_SECONDS":             {meaning: "Time running streams get to finish on shutdown (0..3600)."},
	"REPLAY_REGISTER_SIZE":               {meaning: "Request ids the replay register holds; when full, new requests get 503."},

	"SOTTO_ROLE":                        {meaning: "`all` (single node), `worker` (opens, generates and seals behind a router; mutual TLS only) or `router` (the blind public edge; no model, no keys). See docs/deployment.md."},
	"INFERENCE_ENDPOINTS":               {meaning: "Router only, required: comma-separated `https://host:port` base URLs of the workers. Each worker's certificate must have a SAN matching its host (name or IP address). `https://host:port#spki=PIN` pins that worker's key (base64 SHA-256 of its SPKI), in place of `SOTTO_PEER_SPKI` for it."},
	"SOTTO_TLS_CLIENT_CA":               {meaning: "Worker and router, required: PEM CA that issues the peers' certificates (routers' for a worker, workers' for a router)."},
	"SOTTO_TLS_CLIENT_CERT":             {meaning: "Router only, required: PEM client certificate the router presents to workers."},
	"SOTTO_TLS_CLIENT_KEY":              {meaning: "Router only, required: PEM private key of `SOTTO_TLS_CLIENT_CERT`."},
	"SOTTO_PEER_SPKI":                   {meaning: "Worker and router: comma-separated base64 SHA-256 SPKI pins the peer's certificate must also match."},
	"CIRCUIT_BREAKER_THRESHOLD":         {meaning: "Consecutive failures after which the router stops sending to a worker (1..1000)."},
	"CIRCUIT_RESET_SECONDS":             {meaning: "Time before the router tries an open circuit's worker again (1..3600)."},
	"SOTTO_HEALTH_INTERVAL_MS":          {meaning: "How often the router checks each worker's health (50..600000)."},
	"SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS": {meaning: "Router: time to connect to a worker (10..60000)."},
	"SOTTO_UPSTREAM_FIRST_BYTE_SECONDS": {meaning: "Router: time a worker has to start answering (1..3600)."},
	"SOTTO_UPSTREAM_IDLE_SECONDS":       {meaning: "Router: longest silence within a worker's stream (1..3600)."},
	"SOTTO_UPSTREAM_TOTAL_SECONDS":      {meaning: "Router: longest a relayed request may take in total (1..86400)."},
	"REDIS_URL":                         {secret: true, meaning: "Router only: `redis://`, `rediss://` or `unix://` URL of a Redis shared by routers (replay register, rate limits). Empty: in-process state. Masked by `sotto config check`."},
	"SOTTO_SHARED_SECRET_FILE":          {meaning: "Router only: file holding the secret routers sharing `REDIS_URL` use for rate-limit keys and proof of work; required for such routers."},
}

// Reference returns the configuration reference as a Markdown table, one
// row per variable in Config's field order: name, default, meaning.
func Reference() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name := envName(f)
		d := docs[name]
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", name, defaultText(f, d), d.meaning)
	}
	return b.String()
}

// defaultText is the default column: the override, the envDefault tag, or
// "none".
func defaultText(f reflect.StructField, d varDoc) string {
	if d.def != "" {
		return d.def
	}
	if v, ok := f.Tag.Lookup("envDefault"); ok {
		return "`" + v + "`"
	}
	return "none"
}

// Secret reports whether name's value must not be shown.
func Secret(name string) bool { return docs[name].secret }
