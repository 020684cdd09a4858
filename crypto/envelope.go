package crypto

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/sottolabs/sotto/internal/locked"
)

// ErrOverloaded is returned when a locked buffer cannot be allocated. It
// wraps locked.ErrExhausted; servers answer 503 #overloaded, never
// #envelope, so that a client retries.
var ErrOverloaded = fmt.Errorf("crypto: %w", locked.ErrExhausted)

// Opened is a decrypted request: its inner request in locked memory and the
// material the response stream needs. An Opened is owned by one goroutine;
// Destroy wipes it.
type Opened struct {
	suite Suite
	enc   []byte         // the encapsulated key (public)
	buf   *locked.Buffer // padded plaintext || exporter secret
	n     int            // unpadded plaintext length
	pl    int            // padded plaintext length
}

// Open decrypts a request body whose header h came from ParseHeader(body),
// with the recipient's private key seed, into locked memory charged to
// budget. It checks the padding rule and strips the padding.
//
// Every failure, whatever its cause, is ErrEnvelope, except a full budget,
// which is ErrOverloaded (errors.Is(err, locked.ErrExhausted)).
func Open(h Header, body []byte, seed []byte, budget *locked.Budget) (*Opened, error) {
	_, nenc, _, ok := h.Suite.Sizes()
	if !ok || len(body) < HeaderSize+nenc+Nt || subtle.ConstantTimeCompare(h.Raw[:], body[:HeaderSize]) != 1 {
		return nil, ErrEnvelope
	}
	ct := body[HeaderSize+nenc:]
	pl := len(ct) - Nt
	if !validPaddedLen(pl) {
		return nil, ErrEnvelope
	}
	buf, err := budget.Alloc(pl + Nh)
	if err != nil {
		if errors.Is(err, locked.ErrExhausted) {
			return nil, ErrOverloaded
		}
		return nil, ErrEnvelope
	}
	o := &Opened{suite: h.Suite, buf: buf, pl: pl}
	o.enc = append([]byte(nil), body[HeaderSize:HeaderSize+nenc]...)
	if err := o.decrypt(h, ct, seed); err != nil {
		o.Destroy()
		return nil, ErrEnvelope
	}
	return o, nil
}

// decrypt runs SetupBaseR and Open, moving the plaintext and the exporter
// secret into o.buf and wiping the library's heap copies at once.
func (o *Opened) decrypt(h Header, ct, seed []byte) error {
	sk, err := privateKey(o.suite, seed)
	if err != nil {
		return err
	}
	r, err := o.suite.hpke().NewReceiver(sk, requestInfo(h.Raw[:]))
	if err != nil {
		return err
	}
	ctx, err := r.Setup(o.enc)
	if err != nil {
		return err
	}
	pt, err := ctx.Open(ct, nil)
	if err != nil {
		return err
	}
	b := o.buf.Bytes()
	copy(b[:o.pl], pt)
	locked.Wipe(pt)
	secret := ctx.Export([]byte(labelResponse), Nh)
	copy(b[o.pl:], secret)
	locked.Wipe(secret)
	n, ok := unpadRequest(b[:o.pl])
	if !ok {
		return ErrEnvelope
	}
	o.n = n
	return nil
}

// Suite returns the request's suite.
func (o *Opened) Suite() Suite { return o.suite }

// Enc returns the request's encapsulated key (public; part of the response
// key schedule's salt). The slice must not be modified.
func (o *Opened) Enc() []byte { return o.enc }

// Plaintext returns the inner request without padding: a view into locked
// memory, valid until Destroy. ParseRequest unescapes strings in place in
// it.
func (o *Opened) Plaintext() []byte { return o.buf.Bytes()[:o.n] }

// exporterSecret returns Export("sotto/v1 response", 32), in locked memory.
func (o *Opened) exporterSecret() []byte { return o.buf.Bytes()[o.pl : o.pl+Nh] }

// Destroy wipes the plaintext and the exporter secret and releases their
// locked memory. It is safe to call more than once.
func (o *Opened) Destroy() {
	if o == nil || o.buf == nil {
		return
	}
	o.buf.Destroy()
	o.buf = nil
	o.n = 0
}
