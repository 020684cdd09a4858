package crypto

import (
	"crypto/rand"
	"fmt"
	"io"
)

// SenderContext is what a client keeps of a sealed request to open the
// response stream: the suite, the encapsulated key and the exporter secret
// Export("sotto/v1 response", 32). Clients hold it in ordinary memory;
// Destroy clears the secret once the response is read.
type SenderContext struct {
	suite  Suite
	enc    []byte
	secret [Nh]byte
}

// Suite returns the request's suite.
func (c *SenderContext) Suite() Suite { return c.suite }

// Enc returns the encapsulated key sent in the body.
func (c *SenderContext) Enc() []byte { return c.enc }

// ExporterSecret returns a copy of the response exporter secret.
func (c *SenderContext) ExporterSecret() []byte { return append([]byte(nil), c.secret[:]...) }

// Destroy clears the exporter secret.
func (c *SenderContext) Destroy() { clear(c.secret[:]) }

// Seal builds a request body for the recipient public key pkR (key keyID
// of suite s): hdr || enc || HPKE-Seal(info, aad "", padded inner). inner
// is the inner request JSON; Seal pads it to its power-of-two bucket. rand
// supplies the KEM's encapsulation randomness (nil: crypto/rand); a reader
// of fixed bytes reproduces test vectors.
func Seal(s Suite, keyID uint8, pkR []byte, inner []byte, ts int64, rid [16]byte, rnd io.Reader) (body []byte, sender *SenderContext, err error) {
	pub, err := publicKey(s, pkR)
	if err != nil {
		return nil, nil, err
	}
	if ts < 0 {
		return nil, nil, fmt.Errorf("crypto: seal: negative ts")
	}
	padded, err := PadRequest(nil, inner)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: seal: %w", err)
	}
	defer clear(padded)
	if rnd == nil {
		rnd = rand.Reader
	}
	hdr := encodeHeader(s, keyID, ts, rid)
	snd, err := s.hpke().NewSender(pub, requestInfo(hdr[:]))
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: seal: %w", err)
	}
	enc, ctx, err := snd.Setup(rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: seal: %w", err)
	}
	ct, err := ctx.Seal(padded, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: seal: %w", err)
	}
	body = make([]byte, 0, HeaderSize+len(enc)+len(ct))
	body = append(append(append(body, hdr[:]...), enc...), ct...)
	sender = &SenderContext{suite: s, enc: enc}
	secret := ctx.Export([]byte(labelResponse), Nh)
	copy(sender.secret[:], secret)
	clear(secret)
	return body, sender, nil
}
