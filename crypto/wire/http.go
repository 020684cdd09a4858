package wire

// Paths of the API.
const (
	PathChat        = "/api/chat"     // POST: a sealed request; answers a sealed SSE stream
	PathPubkey      = "/api/pubkey"   // GET: the signed key configuration
	PathHealth      = "/health"       // GET: same answer as PathHealthReady
	PathHealthLive  = "/health/live"  // GET: the process runs
	PathHealthReady = "/health/ready" // GET: the process accepts chats
	PathMetrics     = "/metrics"      // GET: Prometheus exposition (private listener in production)
	PathCapacity    = "/api/capacity" // GET, workers only (mutual TLS): load for the router's admission
	// Enrolment (docs/protocol.md section 6b, docs/enrolment.md).
	PathEnrollChallenge = "/api/enroll/challenge" // POST: a fresh single-use challenge
	PathEnroll          = "/api/enroll"           // POST: attestation evidence; answers an enrolment credential
)

// Header names of a chat request and its refusals.
const (
	// HeaderDevice carries the device's public key (protocol section 7).
	HeaderDevice = "Sotto-Device"
	// HeaderSignature carries the device's signature of the body's SHA-256.
	HeaderSignature = "Sotto-Signature"
	// HeaderPoW carries a proof-of-work answer.
	HeaderPoW = "Sotto-PoW"
	// HeaderPoWChallenge carries a proof-of-work challenge beside the pow
	// problem's challenge member.
	HeaderPoWChallenge = "Sotto-PoW-Challenge"
	// HeaderEnrolment carries the device's enrolment credential (section
	// 6b) under the device policies attested and attested+allowlist.
	HeaderEnrolment = "Sotto-Enrolment"
)

// Media types.
const (
	MediaTypeRequest   = "application/sotto-request" // a sealed chat request body
	MediaTypeStream    = "text/event-stream"         // the sealed SSE reply
	MediaTypeProblem   = "application/problem+json"  // RFC 9457 problem documents
	MediaTypeKeyConfig = "application/json"          // the signed key configuration
	MediaTypeJSON      = "application/json"          // health answers
)
