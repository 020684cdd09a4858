package router

import "time"

// nextKeyDoc is the key configuration to serve after fetching cand from a
// worker at now. Workers sharing a key directory publish the same bytes
// (crypto/keys derives issued_at from the directory), but one that has
// not reloaded yet, or was started from an older copy, may serve an older
// document: a client holding the newer one would refuse it as a rollback
// (protocol section 2, rule 5). So the router never goes back: a
// document issued before the held one is dropped while the held one has
// not expired (issue 17, item 14). The router cannot verify the signature
// (it holds no pin); clients do.
func nextKeyDoc(held, cand *keyDoc, now time.Time) *keyDoc {
	if held != nil && cand.issuedAt.Before(held.issuedAt) && now.Before(held.expires) {
		kept := *held
		kept.fetched = now
		return &kept
	}
	return cand
}

// offerKeys installs the document fetched at now unless it is older than
// the held one; health checks of several upstreams run at once.
func (r *Router) offerKeys(cand *keyDoc, now time.Time) {
	for {
		held := r.keys.Load()
		if r.keys.CompareAndSwap(held, nextKeyDoc(held, cand, now)) {
			return
		}
	}
}
