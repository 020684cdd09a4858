package crypto

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sottolabs/sotto/internal/locked"
)

// ResponseNonceSize is the size of response_nonce: max(Nn, Nk).
const ResponseNonceSize = 32

// responseKeys is the response key schedule (RFC 9458 section 4.4 with our
// label):
//
//	prk   = HKDF-Extract(salt = enc || response_nonce, ikm = secret)
//	key   = HKDF-Expand(prk, "key", Nk)
//	nonce = HKDF-Expand(prk, "nonce", Nn)
//
// with plain RFC 5869 HKDF-SHA256. The returned AEAD keeps its own copy of
// the key in the Go heap (x/crypto offers no other way); the heap copies
// made here are wiped before returning.
func responseKeys(enc, responseNonce, secret []byte) (cipher.AEAD, [Nn]byte, error) {
	var nonce [Nn]byte
	prk, key, n, err := responseKeyMaterial(enc, responseNonce, secret)
	if err != nil {
		return nil, nonce, err
	}
	defer locked.Wipe(prk)
	defer locked.Wipe(key)
	copy(nonce[:], n)
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		return nil, nonce, err
	}
	return aead, nonce, nil
}

// responseKeyMaterial computes prk, key and nonce. The caller wipes prk
// and key.
func responseKeyMaterial(enc, responseNonce, secret []byte) (prk, key, nonce []byte, err error) {
	salt := make([]byte, 0, len(enc)+len(responseNonce))
	salt = append(append(salt, enc...), responseNonce...)
	prk, err = hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err = hkdf.Expand(sha256.New, prk, labelKey, Nk)
	if err != nil {
		locked.Wipe(prk)
		return nil, nil, nil, err
	}
	nonce, err = hkdf.Expand(sha256.New, prk, labelNonce, Nn)
	if err != nil {
		locked.Wipe(prk)
		locked.Wipe(key)
		return nil, nil, nil, err
	}
	return prk, key, nonce, nil
}

// chunkNonce returns nonce XOR I2OSP(i, Nn).
func chunkNonce(base *[Nn]byte, i uint64) [Nn]byte {
	n := *base
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], i)
	for j := range c {
		n[Nn-8+j] ^= c[j]
	}
	return n
}
