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
)

// TypeBase is the prefix of every problem's type URI; clients match the
// fragment (the problem's name).
const TypeBase = "https://sotto.invalid/problems/v1#"

// The problem names of the protocol (section 6), plus request and internal.
const (
	Envelope    = "envelope"     // 400: malformed envelope or failed decryption, one answer for all
	Date        = "date"         // 400: ts outside the window; the Date header carries server time
	Replay      = "replay"       // 400: rid already registered
	Device      = "device"       // 401: missing or invalid signature, untrusted device
	TooLarge    = "too-large"    // 413: body over the limit
	MediaType   = "media-type"   // 415: wrong Content-Type
	Key         = "key"          // 422: unknown or expired key, suite mismatch; member key_config
	RateLimited = "rate-limited" // 429: with Retry-After
	PoW         = "pow"          // 429: proof of work required; member challenge
	Overloaded  = "overloaded"   // 503: admission refused or replay register full; Retry-After
	Request     = "request"      // 400: well-formed encrypted request whose inner JSON is invalid; member code
	Internal    = "internal"     // 500: a server fault; says nothing more
)

// PoWChallengeHeader carries the proof-of-work challenge beside the
// problem's challenge member.
const PoWChallengeHeader = "Sotto-PoW-Challenge"

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

// kind is a name's fixed status and title.
type kind struct {
	status int
	title  string
}

// kinds maps every known name to its status and title. The titles are
// constant strings: nothing a client sent can reach them.
var kinds = map[string]kind{
	Envelope:    {400, "Malformed or undecryptable request"},
	Date:        {400, "Request time outside the accepted window"},
	Replay:      {400, "Request already received"},
	Device:      {401, "Device not authenticated"},
	TooLarge:    {413, "Request body too large"},
	MediaType:   {415, "Unsupported media type"},
	Key:         {422, "Unknown or expired key"},
	RateLimited: {429, "Too many requests"},
	PoW:         {429, "Proof of work required"},
	Overloaded:  {503, "Server overloaded"},
	Request:     {400, "Invalid request"},
	Internal:    {500, "Internal server error"},
}

// Names returns every problem name in a fixed order, for metrics labels.
func Names() []string {
	return []string{Envelope, Date, Replay, Device, TooLarge, MediaType, Key,
		RateLimited, PoW, Overloaded, Request, Internal}
}

// Known reports whether name is one of the problem names.
func Known(name string) bool {
	_, ok := kinds[name]
	return ok
}

// New returns the problem called name with its status and title. An
// unknown name yields the internal problem, so a typo cannot produce a
// document clients do not understand.
func New(name string) Problem {
	k, ok := kinds[name]
	if !ok {
		name, k = Internal, kinds[Internal]
	}
	return Problem{Status: k.status, Name: name, Title: k.title}
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
