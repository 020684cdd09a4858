package crypto

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// TestParseRequestCache: a valid cache member yields the decoded 16-byte
// secret as a view into the input and the ttl; each malformed form has
// its code.
func TestParseRequestCache(t *testing.T) {
	secret := []byte("0123456789abcdef")
	enc := base64.RawURLEncoding.EncodeToString(secret)
	js := `{"messages":[{"role":"user","content":"hi"}],"cache":{"ttl":600,"secret":"` + enc + `"}}`
	buf := []byte(js)
	req, err := ParseRequest(buf, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(req.CacheSecret, secret) || req.CacheTTL != 600 {
		t.Fatalf("secret %x ttl %d", req.CacheSecret, req.CacheTTL)
	}
	if &req.CacheSecret[0] != &buf[bytes.Index([]byte(js), []byte(enc))] {
		t.Error("secret is not a view into the input")
	}
	req, err = parse(t, `{"messages":[{"role":"user","content":"hi"}],"cache":{"secret":"`+enc+`"}}`, Limits{})
	if err != nil || req.CacheTTL != 0 || len(req.CacheSecret) != CacheSecretSize {
		t.Fatalf("without ttl: %+v %v", req, err)
	}
	req, err = parse(t, `{"messages":[{"role":"user","content":"hi"}]}`, Limits{})
	if err != nil || req.CacheSecret != nil {
		t.Fatalf("without cache: %+v %v", req, err)
	}
	// A secret of all 0xff bytes uses '_' and ends in 'w' (unused bits 0).
	all := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 16))
	if req, err = parse(t, `{"messages":[{"role":"user","content":"x"}],"cache":{"secret":"`+all+`"}}`, Limits{}); err != nil ||
		!bytes.Equal(req.CacheSecret, bytes.Repeat([]byte{0xff}, 16)) {
		t.Fatalf("all ones: %x %v", req.CacheSecret, err)
	}
}

func TestParseRequestCacheRefused(t *testing.T) {
	const m = `{"messages":[{"role":"user","content":"x"}],"cache":`
	const ok = `"AAAAAAAAAAAAAAAAAAAAAA"`
	for _, c := range []struct{ cache, want string }{
		{`"AAAAAAAAAAAAAAAAAAAAAA"`, CodeCache},                      // not an object
		{`{}`, CodeCache},                                            // no secret
		{`{"ttl":60}`, CodeCache},                                    // no secret
		{`{"secret":"AAAAAAAAAAAAAAAAAAAAA"}`, CodeCache},            // 21 characters
		{`{"secret":"AAAAAAAAAAAAAAAAAAAAAAA"}`, CodeCache},          // 23 characters
		{`{"secret":"AAAAAAAAAAAAAAAAAAAAAA=="}`, CodeCache},         // padded
		{`{"secret":"AAAAAAAAAAAAAAAAAAAAA+"}`, CodeCache},           // standard alphabet
		{`{"secret":"AAAAAAAAAAAAAAAAAAAAAB"}`, CodeCache},           // unused bits set
		{`{"secret":16}`, CodeCache},                                 // not a string
		{`{"secret":` + ok + `,"ttl":0}`, CodeCacheTTL},              // below 1
		{`{"secret":` + ok + `,"ttl":86401}`, CodeCacheTTL},          // above a day
		{`{"secret":` + ok + `,"ttl":60.0}`, CodeCacheTTL},           // not an integer
		{`{"secret":` + ok + `,"ttl":"60"}`, CodeCacheTTL},           // a string
		{`{"secret":` + ok + `,"key":1}`, CodeMember},                // unknown member
		{`{"secret":` + ok + `,"secret":` + ok + `}`, CodeDuplicate}, // twice
		{`{"secret":` + ok + ` "ttl":1}`, CodeJSON},                  // no comma
	} {
		if _, err := parse(t, m+c.cache+`}`, Limits{}); code(err) != c.want {
			t.Errorf("cache %s: %v, want %s", c.cache, err, c.want)
		}
	}
	if _, err := parse(t, m+`{"secret":`+ok+`},"cache":{"secret":`+ok+`}}`, Limits{}); code(err) != CodeDuplicate {
		t.Errorf("two cache members: %v", err)
	}
}
