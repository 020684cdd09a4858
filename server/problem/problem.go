// Package problem writes the protocol's errors before a stream starts as
// RFC 9457 problem documents (application/problem+json), as listed in
// section 6 of the protocol design record.
//
// A problem never carries request content: its members are the fixed type,
// title and status, plus Extra members the server itself produces (a signed
// key config, a proof-of-work challenge, an error code from a fixed set).
// Handlers build a Problem with New or one of the helpers and hand it to
// Write at the HTTP edge; everything below the edge returns wrapped errors.
package problem

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/sottolabs/sotto/crypto/wire"
)

// TypeBase is the prefix of every problem's type URI (wire.ProblemTypeBase).
const TypeBase = wire.ProblemTypeBase

// The problem names, from the protocol's catalogue in crypto/wire.
const (
	Envelope    = wire.ProblemEnvelope
	Date        = wire.ProblemDate
	Replay      = wire.ProblemReplay
	Device      = wire.ProblemDevice
	TooLarge    = wire.ProblemTooLarge
	MediaType   = wire.ProblemMediaType
	Key         = wire.ProblemKey
	RateLimited = wire.ProblemRateLimited
	PoW         = wire.ProblemPoW
	Overloaded  = wire.ProblemOverloaded
	Request     = wire.ProblemRequest
	Internal    = wire.ProblemInternal
	// The router's, when a worker sent no response headers.
	WorkerLost    = wire.ProblemWorkerLost
	WorkerTimeout = wire.ProblemWorkerTimeout
	// Enrolment refused (docs/protocol.md section 6b).
	Attestation = wire.ProblemAttestation
)

// PoWChallengeHeader carries the proof-of-work challenge beside the
// problem's challenge member.
const PoWChallengeHeader = wire.HeaderPoWChallenge

// Problem is one problem document. Status and Title come from the name's
// entry in the table unless set otherwise. RetryAfter, when positive, is
// sent as a Retry-After header in whole seconds, rounded up. Extra holds
// additional members; the reserved members (type, title, status, detail,
// instance) are ignored there.
type Problem struct {
	Status     int
	Name       string
	Title      string
	RetryAfter time.Duration
	Extra      map[string]json.RawMessage
}

// Names returns every problem name in a fixed order, for metrics labels.
func Names() []string { return wire.ProblemNames() }

// Known reports whether name is one of the problem names.
func Known(name string) bool {
	_, ok := wire.LookupProblem(name)
	return ok
}

// New returns the problem called name with its status and title. An
// unknown name yields the internal problem, so a typo cannot produce a
// document clients do not understand.
func New(name string) Problem {
	k, ok := wire.LookupProblem(name)
	if !ok {
		name, k = Internal, internalKind()
	}
	return Problem{Status: k.Status, Name: name, Title: k.Title}
}

// WithRetryAfter returns p with RetryAfter set to d.
func (p Problem) WithRetryAfter(d time.Duration) Problem {
	p.RetryAfter = d
	return p
}

// With returns p with the member name set to the JSON encoding of v. It
// copies Extra, so problems built from a shared value stay independent.
// A value that cannot be encoded leaves p unchanged; callers pass plain
// strings and raw JSON, which always encode.
func (p Problem) With(name string, v any) Problem {
	raw, err := json.Marshal(v)
	if err != nil {
		return p
	}
	extra := make(map[string]json.RawMessage, len(p.Extra)+1)
	maps.Copy(extra, p.Extra)
	extra[name] = raw
	p.Extra = extra
	return p
}

// RateLimitedAfter is the 429 rate-limited problem with its Retry-After.
func RateLimitedAfter(d time.Duration) Problem { return New(RateLimited).WithRetryAfter(d) }

// OverloadedAfter is the 503 overloaded problem with its Retry-After.
func OverloadedAfter(d time.Duration) Problem { return New(Overloaded).WithRetryAfter(d) }

// KeyConfig is the 422 key problem carrying the signed key configuration
// document (the JSON of GET /api/pubkey) as member key_config.
func KeyConfig(doc json.RawMessage) Problem { return New(Key).With("key_config", doc) }

// PoWRequired is the 429 pow problem carrying the challenge as member
// challenge; Write also sends it in the Sotto-PoW-Challenge header.
func PoWRequired(challenge string) Problem { return New(PoW).With("challenge", challenge) }

// InvalidRequest is the 400 request problem with member code, one of the
// inner-request error codes the chat handler defines (a fixed set; never
// text taken from the request).
func InvalidRequest(code string) Problem { return New(Request).With("code", code) }

// AttestationRefused is 403 #attestation with its refusal code (protocol
// section 6b), from enrol's fixed vocabulary.
func AttestationRefused(code string) Problem { return New(Attestation).With("code", code) }

func internalKind() wire.ProblemKind {
	k, _ := wire.LookupProblem(Internal)
	return k
}
