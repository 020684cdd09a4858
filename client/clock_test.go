package client

import (
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto/keyconfig"
)

// TestClockLearnedFromPubkey: with an empty state and a clock minutes off
// the server's (behind: the fresh document looks issued in the future),
// the client takes the server's time from GET /api/pubkey's Date and its
// first request is accepted: one key fetch, one chat, no #date round trip
// (protocol section 2.1, issue 14 point 1).
func TestClockLearnedFromPubkey(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Minute, 50 * time.Minute, -5 * time.Minute, -50 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			s := clienttest.New(t)
			s.SetClockOffset(skew)
			state := filepath.Join(t.TempDir(), "keyconfig.json")
			c, _ := newClient(t, s, func(cfg *Config) { cfg.StatePath = state })
			_, res, err := chat(t, c, userRequest())
			if err != nil || res != helloResult {
				t.Fatalf("Chat: %+v, %v", res, err)
			}
			if got := s.Counts(); got.Pubkey != 1 || got.Chat != 1 {
				t.Errorf("counts = %+v, want 1 pubkey fetch and 1 chat", got)
			}
			if d := time.Until(s.Received()[0].TS) - skew; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("first ts off the server clock by %s", d)
			}
		})
	}
}

// TestClockTooFarBehind: a document issued more than an hour ahead of the
// local clock is refused even with a matching Date (the Go client's bound
// on a forward correction; the user must fix the device clock).
func TestClockTooFarBehind(t *testing.T) {
	s := clienttest.New(t)
	s.SetClockOffset(2 * time.Hour)
	// issued_at derives from the keys' times (crypto/keys): a rotation
	// under the server's clock puts the document two hours ahead.
	s.Rotate()
	c, _ := newClient(t, s, nil)
	_, _, err := chat(t, c, userRequest())
	if !errors.Is(err, ErrKeyConfig) || !errors.Is(err, keyconfig.ErrFuture) {
		t.Fatalf("err = %v, want ErrKeyConfig wrapping keyconfig.ErrFuture", err)
	}
	if got := s.Counts(); got.Chat != 0 {
		t.Errorf("chats = %d, want none sent", got.Chat)
	}
}

// TestServerTime: Date plus Age, whole seconds; a malformed Age counts
// as 0, a missing or malformed Date gives no time at all.
func TestServerTime(t *testing.T) {
	date := time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		date, age string
		want      time.Time
	}{
		{date.Format(http.TimeFormat), "", date},
		{date.Format(http.TimeFormat), "120", date.Add(2 * time.Minute)},
		{date.Format(http.TimeFormat), "-5", date},
		{date.Format(http.TimeFormat), "1.5", date},
		{date.Format(http.TimeFormat), "999999999", date.Add(maxAge)},
		{"", "120", time.Time{}},
		{"yesterday", "", time.Time{}},
	} {
		h := http.Header{}
		if tc.date != "" {
			h.Set("Date", tc.date)
		}
		if tc.age != "" {
			h.Set("Age", tc.age)
		}
		if got := serverTime(h); !got.Equal(tc.want) {
			t.Errorf("Date %q Age %q: %v, want %v", tc.date, tc.age, got, tc.want)
		}
	}
}
