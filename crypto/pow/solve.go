package pow

import (
	"crypto/sha256"
	"encoding/binary"
)

// Solve finds a nonce for challenge and the body whose SHA-256 is
// bodySHA256, and returns the Sotto-PoW header value. It takes about
// 2^bits hashes; it does not check the mac or the expiry, which only the
// server can judge. It fails with ErrMalformed for a malformed challenge.
func Solve(challenge string, bodySHA256 [32]byte) (string, error) {
	c, err := parse(challenge)
	if err != nil {
		return "", err
	}
	// An 8-byte counter as nonce: 2^64 tries are far beyond MaxBits.
	in := workInput(challenge, make([]byte, MinNonceSize), bodySHA256)
	at := len(in) - 32 - MinNonceSize
	for n := uint64(0); ; n++ {
		binary.BigEndian.PutUint64(in[at:], n)
		if zeroBits(sha256.Sum256(in)) >= c.bits {
			return challenge + ";nonce=" + b64u.EncodeToString(in[at:at+MinNonceSize]), nil
		}
	}
}
