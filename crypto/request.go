package crypto

import "fmt"

// Codes of RequestError: why an inner request (decrypted successfully) was
// refused. Servers answer 400 #request with the code; no code echoes
// content.
const (
	CodeJSON        = "json"      // malformed JSON, or not an object
	CodeTrailing    = "trailing"  // bytes after the top-level object
	CodeDuplicate   = "duplicate" // a member given twice in one object
	CodeMember      = "member"    // an unknown member
	CodeMessages    = "messages"  // messages missing, empty, too many, or a malformed message
	CodeRole        = "role"      // a role other than system, user, assistant
	CodeContent     = "content"   // content not a string, or total content over the limit
	CodeUTF8        = "utf8"      // invalid UTF-8, including lone surrogates in \u escapes
	CodeStop        = "stop"      // stop not an array of strings, too many, empty or too long
	CodeMaxTokens   = "range:max_tokens"
	CodeTemperature = "range:temperature"
	CodeTopP        = "range:top_p"
	CodeTopK        = "range:top_k"
	CodeSeed        = "range:seed"
	CodeCache       = "cache"           // cache not an object, secret missing or not 22 canonical base64url characters
	CodeCacheTTL    = "range:cache.ttl" // cache.ttl not an integer 1 .. MaxCacheTTL
	CodeShape       = "shape"           // shape other than the string "constant"
	// Codes the server answers after asking its engine, before the stream
	// (protocol section 6); ParseRequest never returns them.
	CodeNUL              = "nul"                // a message contains U+0000
	CodeTemplate         = "template"           // the model's chat template cannot render the messages
	CodeContext          = "context"            // the formatted prompt leaves no room for one token
	CodeContextMaxTokens = "context:max_tokens" // prompt plus max_tokens exceed the context
)

// RequestError is a refused inner request. Code is one of the Code*
// constants.
type RequestError struct {
	Code string
}

var _ error = (*RequestError)(nil)

func (e *RequestError) Error() string { return "crypto: invalid request: " + e.Code }

// Role is a message's author.
type Role uint8

// The roles of v1.
const (
	RoleSystem Role = iota + 1
	RoleUser
	RoleAssistant
)

func (r Role) String() string {
	switch r {
	case RoleSystem:
		return "system"
	case RoleUser:
		return "user"
	case RoleAssistant:
		return "assistant"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Message is one chat message. Content is a view into the buffer given to
// ParseRequest (locked memory on the server), JSON-unescaped in place.
type Message struct {
	Role    Role
	Content []byte
}

// Request is a parsed inner request. The Has* flags tell which optional
// parameters were present; Stop holds views like Message.Content.
type Request struct {
	Messages       []Message
	MaxTokens      int
	HasMaxTokens   bool
	Temperature    float32
	HasTemperature bool
	TopP           float32
	HasTopP        bool
	TopK           int
	HasTopK        bool
	Seed           uint64
	HasSeed        bool
	Stop           [][]byte
	// CacheSecret is the conversation-cache secret (CacheSecretSize
	// bytes, a view into the plaintext like Content), nil when the
	// request has no cache member. CacheTTL is its ttl in seconds, 0 when
	// absent (the server's maximum applies).
	CacheSecret []byte
	CacheTTL    int
	// Shape is true when the request carries "shape":"constant": the
	// client reads shaped streams (protocol section 5.5).
	Shape bool
}

// Limits bounds an inner request. A zero field takes its default.
type Limits struct {
	MaxMessages     int // default 64
	MaxContentBytes int // total unescaped content bytes; default 256 KiB
	MaxTokens       int // cap on max_tokens; default 8192
	MaxStop         int // default 4
	MaxStopBytes    int // bytes per stop sequence; default 64
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxMessages, 64)
	def(&l.MaxContentBytes, 256<<10)
	def(&l.MaxTokens, 8192)
	def(&l.MaxStop, 4)
	def(&l.MaxStopBytes, 64)
	return l
}

func reqErr(code string) error { return &RequestError{Code: code} }
