package intake

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

func req(body string, length int64, ct string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, wire.PathChat, strings.NewReader(body))
	r.ContentLength = length
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

// TestHeadAndBody: size before type (413 over 415), types compared
// without parameters or case, a body growing past the limit without a
// Content-Length is 413.
func TestHeadAndBody(t *testing.T) {
	for _, tc := range []struct {
		r    *http.Request
		want string
	}{
		{req("x", 11, "text/plain"), problemTooLarge},
		{req("x", 1, "text/plain"), problemMediaType},
		{req("x", 1, ""), problemMediaType},
		{req("x", 1, "Application/Sotto-Request; charset=utf-8"), ""},
	} {
		if got := name(CheckHead(tc.r, 10)); got != tc.want {
			t.Errorf("%q %d: %q, want %q", tc.r.Header.Get("Content-Type"), tc.r.ContentLength, got, tc.want)
		}
	}
	if _, p := ReadBody(req(strings.Repeat("a", 11), -1, wire.MediaTypeRequest), 10); name(p) != problemTooLarge {
		t.Errorf("chunked body past the limit: %q", name(p))
	}
	if b, p := ReadBody(req("abc", 3, wire.MediaTypeRequest), 10); p != nil || !bytes.Equal(b, []byte("abc")) {
		t.Errorf("body %q, %v", b, p)
	}
}

const (
	problemTooLarge  = wire.ProblemTooLarge
	problemMediaType = wire.ProblemMediaType
)

func name(p *problem.Problem) string {
	if p == nil {
		return ""
	}
	return p.Name
}

// TestDateWindow: both bounds inclusive at millisecond resolution.
func TestDateWindow(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	for off, ok := range map[time.Duration]bool{60 * time.Second: true, -60 * time.Second: true,
		60*time.Second + time.Millisecond: false, -60*time.Second - time.Millisecond: false} {
		p := CheckDate(crypto.Header{TS: now.Add(off).UnixMilli()}, now, time.Minute)
		if (p == nil) != ok {
			t.Errorf("offset %v: problem %v, want accepted %v", off, p, ok)
		}
	}
}
