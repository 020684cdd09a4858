package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWriteEachType(t *testing.T) {
	tests := []struct {
		p          Problem
		status     int
		body       string
		retryAfter string
		powHeader  string
	}{
		{New(Envelope), 400, `{"type":"https://sotto.invalid/problems/v1#envelope","title":"Malformed or undecryptable request","status":400}`, "", ""},
		{New(Date), 400, `{"type":"https://sotto.invalid/problems/v1#date","title":"Request time outside the accepted window","status":400}`, "", ""},
		{New(Replay), 400, `{"type":"https://sotto.invalid/problems/v1#replay","title":"Request already received","status":400}`, "", ""},
		{New(Device), 401, `{"type":"https://sotto.invalid/problems/v1#device","title":"Device not authenticated","status":401}`, "", ""},
		{New(TooLarge), 413, `{"type":"https://sotto.invalid/problems/v1#too-large","title":"Request body too large","status":413}`, "", ""},
		{New(MediaType), 415, `{"type":"https://sotto.invalid/problems/v1#media-type","title":"Unsupported media type","status":415}`, "", ""},
		{KeyConfig(json.RawMessage(`{ "keys": [1, 2] }`)), 422, `{"type":"https://sotto.invalid/problems/v1#key","title":"Unknown or expired key","status":422,"key_config":{"keys":[1,2]}}`, "", ""},
		{RateLimitedAfter(1500 * time.Millisecond), 429, `{"type":"https://sotto.invalid/problems/v1#rate-limited","title":"Too many requests","status":429}`, "2", ""},
		{PoWRequired("v1;bits=18;exp=1;salt=AA;mac=BB"), 429, `{"type":"https://sotto.invalid/problems/v1#pow","title":"Proof of work required","status":429,"challenge":"v1;bits=18;exp=1;salt=AA;mac=BB"}`, "", "v1;bits=18;exp=1;salt=AA;mac=BB"},
		{OverloadedAfter(5 * time.Second), 503, `{"type":"https://sotto.invalid/problems/v1#overloaded","title":"Server overloaded","status":503}`, "5", ""},
		{InvalidRequest("max_tokens"), 400, `{"type":"https://sotto.invalid/problems/v1#request","title":"Invalid request","status":400,"code":"max_tokens"}`, "", ""},
		{New(Internal), 500, `{"type":"https://sotto.invalid/problems/v1#internal","title":"Internal server error","status":500}`, "", ""},
		{New(WorkerLost), 502, `{"type":"https://sotto.invalid/problems/v1#worker-lost","title":"Worker lost before answering","status":502}`, "", ""},
		{New(WorkerTimeout), 504, `{"type":"https://sotto.invalid/problems/v1#worker-timeout","title":"Worker did not answer in time","status":504}`, "", ""},
		{AttestationRefused("nonce"), 403, `{"type":"https://sotto.invalid/problems/v1#attestation","title":"Enrolment refused","status":403,"code":"nonce"}`, "", ""},
	}
	if len(tests) != len(Names()) {
		t.Fatalf("%d cases for %d names", len(tests), len(Names()))
	}
	for _, tt := range tests {
		t.Run(tt.p.Name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, tt.p)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Body.String(); got != tt.body {
				t.Errorf("body =\n%s\nwant\n%s", got, tt.body)
			}
			want := http.Header{
				"Content-Type":           {"application/problem+json"},
				"Content-Length":         {itoa(len(tt.body))},
				"Cache-Control":          {"no-store"},
				"X-Content-Type-Options": {"nosniff"},
			}
			if tt.retryAfter != "" {
				want["Retry-After"] = []string{tt.retryAfter}
			}
			if tt.powHeader != "" {
				want["Sotto-Pow-Challenge"] = []string{tt.powHeader}
			}
			assertHeader(t, rec.Header(), want)
		})
	}
}

func TestWriteFallsBackToInternal(t *testing.T) {
	const internal = `{"type":"https://sotto.invalid/problems/v1#internal","title":"Internal server error","status":500}`
	tests := map[string]Problem{
		"unknown name":      {Name: "nope", Status: 418, Title: "x"},
		"empty name":        {},
		"invalid extra":     New(Key).With("x", 1).withRaw("bad", `{"a":`),
		"missing extra raw": New(Key).withRaw("key_config", ""),
	}
	for name, p := range tests {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			Write(rec, p)
			if rec.Code != 500 || rec.Body.String() != internal {
				t.Fatalf("got %d %s", rec.Code, rec.Body.String())
			}
		})
	}
}

func TestReservedMembersIgnored(t *testing.T) {
	p := New(Device).With("type", "evil").With("status", 200).With("detail", "x").With("zeta", true).With("alpha", 1)
	rec := httptest.NewRecorder()
	Write(rec, p)
	want := `{"type":"https://sotto.invalid/problems/v1#device","title":"Device not authenticated","status":401,"alpha":1,"zeta":true}`
	if rec.Body.String() != want || rec.Code != 401 {
		t.Fatalf("got %d %s", rec.Code, rec.Body.String())
	}
}

func TestWithCopiesExtra(t *testing.T) {
	base := New(Request).With("code", "a")
	b := base.With("code", "b")
	if string(base.Extra["code"]) != `"a"` || string(b.Extra["code"]) != `"b"` {
		t.Fatalf("base %s, derived %s", base.Extra["code"], b.Extra["code"])
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Nanosecond: "1", time.Second: "1", time.Second + 1: "2", 59999 * time.Millisecond: "60",
	} {
		rec := httptest.NewRecorder()
		Write(rec, RateLimitedAfter(d))
		if got := rec.Header().Get("Retry-After"); got != want {
			t.Errorf("Retry-After(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestKnown(t *testing.T) {
	for _, n := range Names() {
		if !Known(n) {
			t.Errorf("Known(%q) = false", n)
		}
	}
	if Known("none") {
		t.Error(`Known("none") = true`)
	}
}

func (p Problem) withRaw(name, raw string) Problem {
	p = p.With(name, nil)
	p.Extra[name] = json.RawMessage(raw)
	return p
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func assertHeader(t *testing.T, got, want http.Header) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("headers = %v, want %v", got, want)
	}
	for k, v := range want {
		if g := got.Values(k); len(g) != len(v) || g[0] != v[0] {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
}
