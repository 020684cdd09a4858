package crypto

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// FuzzParseHeader checks that ParseHeader never panics, refuses only with
// ErrEnvelope, and that an accepted header describes the body exactly.
func FuzzParseHeader(f *testing.F) {
	body, _, _ := sealTest(f, SuiteX25519, innerHello)
	f.Add(body)
	f.Add(body[:HeaderSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			if !errors.Is(err, ErrEnvelope) {
				t.Fatalf("err %v", err)
			}
			return
		}
		_, nenc, _, ok := h.Suite.Sizes()
		if !ok || !bytes.Equal(h.Raw[:], b[:HeaderSize]) || h.TS < 0 || !validPaddedLen(len(b)-HeaderSize-nenc-Nt) {
			t.Fatalf("accepted %+v for %d bytes", h, len(b))
		}
	})
}

// FuzzOpen opens mutated bodies of a genuine request: every failure must be
// exactly ErrEnvelope, and a success must be the genuine request.
func FuzzOpen(f *testing.F) {
	body, _, seed := sealTest(f, SuiteX25519, innerHello)
	f.Add(body)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		o, err := Open(h, b, seed, budget(t))
		if err != nil {
			if err != ErrEnvelope {
				t.Fatalf("err %v", err)
			}
			return
		}
		defer o.Destroy()
		if !bytes.Equal(b, body) || !bytes.Equal(o.Plaintext(), innerHello) {
			t.Fatalf("opened a forged body")
		}
	})
}

// FuzzParseRequest checks the hand-written parser against its contract and,
// for accepted input, against encoding/json (used here only as a test
// oracle): the same messages and parameters.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"hi \u00e9 \ud83d\udc4b"}],"max_tokens":5,"temperature":0.5,"top_p":1,"top_k":3,"seed":9,"stop":["x"]}`,
		`{"messages":[{"role":"system","content":""},{"content":"\"\\\/\b\f\n\r\t","role":"assistant"}]}`,
		`{"messages":[{"role":"user","content":"\ud800"}]}`,
		`{"messages":[],"seed":1e3}`,
		`{"messages":[{"role":"user","content":"x"}],"cache":{"secret":"c290dG8gdmVjdG9yIGtleQ","ttl":600}}`,
		`{"messages":[{"role":"user","content":"x"}],"shape":"constant"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := ParseRequest(bytes.Clone(in), Limits{})
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Code == "" {
				t.Fatalf("err %v", err)
			}
			return
		}
		checkAgainstStdlib(t, in, req)
	})
}

func checkAgainstStdlib(t *testing.T, in []byte, req Request) {
	var std struct {
		Messages    []struct{ Role, Content string }
		MaxTokens   *int     `json:"max_tokens"`
		Temperature *float64 `json:"temperature"`
		TopP        *float64 `json:"top_p"`
		TopK        *int     `json:"top_k"`
		Seed        *uint64  `json:"seed"`
		Stop        []string `json:"stop"`
		Cache       *struct {
			Secret string
			TTL    *int `json:"ttl"`
		} `json:"cache"`
		Shape *string `json:"shape"`
	}
	d := json.NewDecoder(bytes.NewReader(in))
	d.DisallowUnknownFields()
	if err := d.Decode(&std); err != nil {
		t.Fatalf("accepted input encoding/json refuses: %v", err)
	}
	if len(std.Messages) != len(req.Messages) || len(req.Messages) == 0 || len(req.Messages) > 64 {
		t.Fatalf("%d messages, encoding/json %d", len(req.Messages), len(std.Messages))
	}
	for i, m := range req.Messages {
		if m.Role.String() != std.Messages[i].Role || string(m.Content) != std.Messages[i].Content || !utf8.Valid(m.Content) {
			t.Fatalf("message %d differs from encoding/json", i)
		}
	}
	if req.HasMaxTokens != (std.MaxTokens != nil) || (req.HasMaxTokens && req.MaxTokens != *std.MaxTokens) ||
		req.HasTopK != (std.TopK != nil) || (req.HasTopK && req.TopK != *std.TopK) ||
		req.HasSeed != (std.Seed != nil) || (req.HasSeed && req.Seed != *std.Seed) ||
		req.HasTemperature != (std.Temperature != nil) || (req.HasTemperature && req.Temperature != float32(*std.Temperature)) ||
		req.HasTopP != (std.TopP != nil) || (req.HasTopP && req.TopP != float32(*std.TopP)) {
		t.Fatalf("parameters differ from encoding/json: %+v", req)
	}
	if len(req.Stop) != len(std.Stop) {
		t.Fatalf("stop differs")
	}
	for i, s := range req.Stop {
		if string(s) != std.Stop[i] {
			t.Fatalf("stop %d differs", i)
		}
	}
	checkCacheAgainstStdlib(t, req, std.Cache != nil, stdSecret(std.Cache), stdTTL(std.Cache))
	if req.Shape != (std.Shape != nil) || (req.Shape && *std.Shape != ShapeConstant) {
		t.Fatalf("shape %v differs from encoding/json", req.Shape)
	}
}

func stdSecret(c *struct {
	Secret string
	TTL    *int `json:"ttl"`
}) string {
	if c == nil {
		return ""
	}
	return c.Secret
}

func stdTTL(c *struct {
	Secret string
	TTL    *int `json:"ttl"`
}) int {
	if c == nil || c.TTL == nil {
		return 0
	}
	return *c.TTL
}

// checkCacheAgainstStdlib: an accepted cache member is canonical
// base64url of 16 bytes, equal to the parser's secret, with its ttl.
func checkCacheAgainstStdlib(t *testing.T, req Request, has bool, secret string, ttl int) {
	if has != (req.CacheSecret != nil) {
		t.Fatalf("cache present %v, encoding/json %v", req.CacheSecret != nil, has)
	}
	if !has {
		return
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	if err != nil || !bytes.Equal(raw, req.CacheSecret) || len(raw) != CacheSecretSize || req.CacheTTL != ttl {
		t.Fatalf("cache %x ttl %d, encoding/json %q ttl %d (%v)", req.CacheSecret, req.CacheTTL, secret, ttl, err)
	}
}

// FuzzStreamOpener feeds mutated streams in two pieces: no panic, only the
// typed errors, the same outcome as feeding the whole stream at once, and
// an accepted stream yields the genuine reply.
func FuzzStreamOpener(f *testing.F) {
	ss, sc := newStream(f, SuiteX25519, 64)
	sse, _ := sealAll(f, ss, []string{"Hello", " world"}, finalStop)
	f.Add(sse, 10)
	f.Add(bytes.ReplaceAll(sse, []byte("\n"), []byte("\r\n")), 100)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		text, fin, err := OpenStream(sc, b)
		if cut < 0 || cut > len(b) {
			cut = len(b) / 2
		}
		text2, fin2, err2 := openSplit(sc, b, cut)
		if !bytes.Equal(text, text2) || fin != fin2 || errClass(err) != errClass(err2) {
			t.Fatalf("split at %d: %q %+v %v; whole: %q %+v %v", cut, text2, fin2, err2, text, fin, err)
		}
		if err != nil {
			if errClass(err) == "" {
				t.Fatalf("err %v", err)
			}
			return
		}
		if string(text) != "Hello world" || fin != finalStop {
			t.Fatalf("accepted a different stream: %q %+v", text, fin)
		}
	})
}

// openSplit opens b fed in two pieces, reading chunks after each.
func openSplit(sc *SenderContext, b []byte, cut int) (text []byte, f Final, err error) {
	o := NewStreamOpener(sc)
	for _, part := range [][]byte{b[:cut], b[cut:]} {
		_ = o.Feed(part)
		for {
			c, err := o.Next()
			if err == ErrNeedInput || err == io.EOF {
				break
			}
			if err != nil {
				return nil, Final{}, err
			}
			if c.Final != nil {
				f = *c.Final
			}
			text = append(text, c.Delta...)
		}
	}
	if err := o.End(); err != nil {
		return nil, Final{}, err
	}
	return text, f, nil
}

func errClass(err error) string {
	switch {
	case err == nil:
		return "nil"
	case errors.Is(err, ErrStreamCorrupt):
		return "corrupt"
	case errors.Is(err, ErrStreamTruncated):
		return "truncated"
	}
	return ""
}
