package keyconfig

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// Alg is the only signature algorithm of v1.
const Alg = "ed25519"

// SigningKeyID returns b64u(SHA-256(pub)[0:8]), the signing_key_id of pub.
func SigningKeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return b64u.EncodeToString(h[:8])
}

// Sign fills d.Signature with priv's signature over d.TBS(). priv may live
// in locked memory; Sign keeps no copy of it.
//
// The standard library's ed25519.Sign caches expanded keys under weak
// pointers to priv, which the Go runtime refuses (fatal error) for memory
// outside its heap such as memguard's; circl's implementation, which
// produces the same RFC 8032 signatures, has no such cache.
func Sign(d *Document, priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("keyconfig: signing key must be %d bytes", ed25519.PrivateKeySize)
	}
	tbs, err := d.TBS()
	if err != nil {
		return err
	}
	pub := priv.Public().(ed25519.PublicKey)
	d.Signature = Signature{Alg: Alg, SigningKeyID: SigningKeyID(pub), Sig: circled25519.Sign(circled25519.PrivateKey(priv), tbs)}
	return nil
}

// Verify checks that d is signed by pinned: ErrUnpinned when the document
// names another algorithm or signing key, ErrSignature when the signature
// does not verify.
func (d *Document) Verify(pinned ed25519.PublicKey) error {
	if len(pinned) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: pinned key must be %d bytes", ErrUnpinned, ed25519.PublicKeySize)
	}
	if d.Signature.Alg != Alg || d.Signature.SigningKeyID != SigningKeyID(pinned) {
		return ErrUnpinned
	}
	tbs, err := d.TBS()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pinned, tbs, d.Signature.Sig) {
		return ErrSignature
	}
	return nil
}
