package wire

// ProblemTypeBase is the prefix of every problem's type URI; clients
// match the fragment, the problem's name.
const ProblemTypeBase = "https://sotto.invalid/problems/v1#"

// The problem names of the protocol (section 6), plus request, internal
// and the router's two.
const (
	ProblemEnvelope    = "envelope"     // 400: malformed envelope or failed decryption, one answer for all
	ProblemDate        = "date"         // 400: ts outside the window; the Date header carries server time
	ProblemReplay      = "replay"       // 400: rid already registered
	ProblemDevice      = "device"       // 401: missing or invalid signature, untrusted device
	ProblemTooLarge    = "too-large"    // 413: body over the limit
	ProblemMediaType   = "media-type"   // 415: wrong Content-Type
	ProblemKey         = "key"          // 422: unknown or expired key, suite mismatch; member key_config
	ProblemRateLimited = "rate-limited" // 429: with Retry-After
	ProblemPoW         = "pow"          // 429: proof of work required; member challenge
	ProblemOverloaded  = "overloaded"   // 503: admission refused or replay register full; Retry-After
	ProblemRequest     = "request"      // 400: well-formed encrypted request whose inner JSON is invalid; member code
	ProblemInternal    = "internal"     // 500: a server fault; says nothing more
	// A router's answers when the worker it sent the request to sent no
	// response headers (docs/protocol.md section 12).
	ProblemWorkerLost    = "worker-lost"    // 502: the worker was lost after the request reached it
	ProblemWorkerTimeout = "worker-timeout" // 504: the worker sent no response headers in time
	// ProblemAttestation: 403, enrolment refused (section 6b): evidence,
	// challenge or device signature did not verify, or the device is
	// revoked; member code names which, from a fixed vocabulary.
	ProblemAttestation = "attestation"
)

// ProblemKind is a problem name's fixed status and title. The titles are
// constant strings: nothing a client sent can reach them.
type ProblemKind struct {
	Status int
	Title  string
}

// problemKinds lists every problem in a fixed order.
var problemKinds = []struct {
	name string
	kind ProblemKind
}{
	{ProblemEnvelope, ProblemKind{400, "Malformed or undecryptable request"}},
	{ProblemDate, ProblemKind{400, "Request time outside the accepted window"}},
	{ProblemReplay, ProblemKind{400, "Request already received"}},
	{ProblemDevice, ProblemKind{401, "Device not authenticated"}},
	{ProblemTooLarge, ProblemKind{413, "Request body too large"}},
	{ProblemMediaType, ProblemKind{415, "Unsupported media type"}},
	{ProblemKey, ProblemKind{422, "Unknown or expired key"}},
	{ProblemRateLimited, ProblemKind{429, "Too many requests"}},
	{ProblemPoW, ProblemKind{429, "Proof of work required"}},
	{ProblemOverloaded, ProblemKind{503, "Server overloaded"}},
	{ProblemRequest, ProblemKind{400, "Invalid request"}},
	{ProblemInternal, ProblemKind{500, "Internal server error"}},
	{ProblemWorkerLost, ProblemKind{502, "Worker lost before answering"}},
	{ProblemWorkerTimeout, ProblemKind{504, "Worker did not answer in time"}},
	{ProblemAttestation, ProblemKind{403, "Enrolment refused"}},
}

// ProblemNames returns every problem name in a fixed order (metrics
// labels, documentation).
func ProblemNames() []string {
	names := make([]string, len(problemKinds))
	for i, p := range problemKinds {
		names[i] = p.name
	}
	return names
}

// LookupProblem returns the status and title of the problem called name,
// and whether it is one of the protocol's problems.
func LookupProblem(name string) (ProblemKind, bool) {
	for _, p := range problemKinds {
		if p.name == name {
			return p.kind, true
		}
	}
	return ProblemKind{}, false
}

// ProblemType is the type URI of the problem called name.
func ProblemType(name string) string { return ProblemTypeBase + name }
