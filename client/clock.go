package client

import (
	"net/http"
	"strconv"
	"time"
)

// maxAge bounds the Age header taken into account (a day: more is a
// misbehaving cache, and the document's own expiry is a day).
const maxAge = 24 * time.Hour

// serverTime is the server's clock as a response shows it (protocol
// section 2.1): its Date header plus its Age header (whole seconds an HTTP
// cache held the response; GET /api/pubkey may be cached for 300 s).
// Zero when Date is absent or malformed; a malformed Age counts as 0.
func serverTime(h http.Header) time.Time {
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	if age, err := strconv.ParseUint(h.Get("Age"), 10, 32); err == nil {
		date = date.Add(min(time.Duration(age)*time.Second, maxAge))
	}
	return date
}

// learnClock sets the clock offset (server clock - local clock) from a
// server time read at the local time now. Every GET /api/pubkey and every
// #date refusal does this, so a client whose clock is off learns the
// server's time before its first chat, not from a refused one.
func (c *Client) learnClock(server, now time.Time) {
	if server.IsZero() {
		return
	}
	c.mu.Lock()
	c.keys.offset = server.Sub(now)
	c.mu.Unlock()
}
