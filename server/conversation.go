package server

import (
	"crypto/sha256"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
)

// Private multi-turn (issue 11, protocol section 3.2.1): a request's cache
// secret names its conversation's KV prefix in the engine only through a
// key bound to the verified device key,
//
//	key = HMAC-SHA256(secret, "sotto/v1 conversation cache" || 0x00 || alg || 0x00 || device key bytes)
//
// so another device with the same secret, or the same device with another
// secret, names another entry (a miss). The secret never leaves locked
// memory: the HMAC pads are built in a locked scratch buffer and only
// one-way SHA-256 states pass through the hash's heap object. The derived
// key is held by the engine as a map key (docs/engine.md).
const conversationLabel = "sotto/v1 conversation cache"

// conversationScratch is the locked buffer of one derivation: the 64-byte
// HMAC pad, then the 32-byte key the engine request points to.
const conversationScratch = sha256.BlockSize + sha256.Size

// conversationCost is the locked memory AdmissionCost reserves for it.
func (s *Server) conversationCost() int64 {
	if !s.opts.ConversationCache {
		return 0
	}
	return locked.Cost(conversationScratch)
}

// setConversation points req at the conversation's cached prefix when the
// request carries a cache secret and the cache is on. Without locked
// memory the request simply runs without it (a miss, never an error).
func (s *Server) setConversation(st *chatState, req *engine.Request) {
	if !s.opts.ConversationCache || st.req.CacheSecret == nil || st.conversation != nil {
		return
	}
	owner, err := s.logIDs.prefixOwner(st.device.Alg().String(), st.device.Bytes())
	if err != nil {
		return
	}
	buf, err := s.budget.Alloc(conversationScratch)
	if err != nil {
		return
	}
	st.conversation = buf
	key := conversationKey(buf.Bytes(), st.req.CacheSecret, st.device)
	req.PrefixKey, req.PrefixOwner = key, owner
	req.PrefixTTL = time.Duration(st.req.CacheTTL) * time.Second // 0: the engine's cap
}

// conversationKey computes the HMAC of the package comment into scratch
// (conversationScratch locked bytes) and returns the key inside it. The
// pad is wiped before returning.
func conversationKey(scratch, secret []byte, dk device.Key) *[32]byte {
	pad, out := scratch[:sha256.BlockSize], (*[32]byte)(scratch[sha256.BlockSize:])
	clear(pad)
	copy(pad, secret) // 16 bytes: shorter than a block, used as it is
	for i := range pad {
		pad[i] ^= 0x36
	}
	h := sha256.New()
	h.Write(pad) // one whole block: hashed in place, not buffered
	h.Write([]byte(conversationLabel))
	h.Write([]byte{0})
	h.Write([]byte(dk.Alg().String()))
	h.Write([]byte{0})
	h.Write(dk.Bytes())
	h.Sum(out[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad)
	h.Write(out[:])
	h.Sum(out[:0])
	h.Reset()
	locked.Wipe(pad)
	return out
}
