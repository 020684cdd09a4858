package router

import (
	"encoding/json"
	"time"

	"github.com/sottolabs/sotto/crypto/keyconfig"
)

// nextKeyDoc is the key configuration to serve after fetching body from a
// worker at now. Workers sharing a key directory publish the same bytes
// (crypto/keys derives issued_at from the directory), but one that has
// not reloaded yet, or was started from an older copy, may serve an older
// document: a client holding the newer one would refuse it as a rollback
// (protocol section 2, rule 5). So the router never goes back: a body
// issued before the held one is dropped while the held one has not
// expired. The router cannot verify the signature (it holds no pin);
// clients do.
func nextKeyDoc(held *keyDoc, body []byte, now time.Time) *keyDoc {
	issued, expires := docTimes(body)
	if held != nil && issued.Before(held.issuedAt) && now.Before(held.expires) {
		return &keyDoc{body: held.body, fetched: now, issuedAt: held.issuedAt, expires: held.expires}
	}
	return &keyDoc{body: body, fetched: now, issuedAt: issued, expires: expires}
}

// docTimes reads a document's issued_at and expires; zero when absent or
// malformed (such a document never displaces a dated one).
func docTimes(body []byte) (issued, expires time.Time) {
	var w struct {
		IssuedAt string `json:"issued_at"`
		Expires  string `json:"expires"`
	}
	if json.Unmarshal(body, &w) != nil {
		return time.Time{}, time.Time{}
	}
	issued, _ = keyconfig.ParseTime(w.IssuedAt)
	expires, _ = keyconfig.ParseTime(w.Expires)
	return issued, expires
}

// offerKeys installs the document fetched at now unless it is older than
// the held one; health checks of several upstreams run at once.
func (r *Router) offerKeys(body []byte, now time.Time) {
	for {
		held := r.keys.Load()
		if r.keys.CompareAndSwap(held, nextKeyDoc(held, body, now)) {
			return
		}
	}
}
