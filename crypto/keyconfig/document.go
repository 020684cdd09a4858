package keyconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// State is a published key's state. Retired keys are not published.
type State uint8

// The states of the document, with their tbs encodings.
const (
	StateCurrent State = 0x01
	StateNext    State = 0x02
)

// String returns the state's JSON spelling ("current", "next").
func (s State) String() string {
	switch s {
	case StateCurrent:
		return "current"
	case StateNext:
		return "next"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

func parseState(s string) (State, error) {
	switch s {
	case "current":
		return StateCurrent, nil
	case "next":
		return StateNext, nil
	}
	return 0, fmt.Errorf("%w: unknown key state", ErrMalformed)
}

// Key is one published HPKE public key. NotBefore is inclusive and
// NotAfter exclusive: the key is valid while NotBefore <= now < NotAfter.
type Key struct {
	KeyID     uint8
	Suite     crypto.Suite
	PublicKey []byte
	NotBefore time.Time
	NotAfter  time.Time
	State     State
}

// Signature is the document's signature member. Alg is always "ed25519".
type Signature struct {
	Alg          string
	SigningKeyID string
	Sig          []byte
}

// Document is a key configuration document. Times are whole seconds in UTC.
type Document struct {
	IssuedAt  time.Time
	Expires   time.Time
	Keys      []Key
	Signature Signature
}

var b64u = base64.RawURLEncoding.Strict()

type wireKey struct {
	KeyID     *uint8  `json:"key_id"`
	KEM       *uint16 `json:"kem_id"`
	KDF       *uint16 `json:"kdf_id"`
	AEAD      *uint16 `json:"aead_id"`
	PublicKey string  `json:"public_key"`
	NotBefore string  `json:"not_before"`
	NotAfter  string  `json:"not_after"`
	State     string  `json:"state"`
}

type wireSignature struct {
	Alg          string `json:"alg"`
	SigningKeyID string `json:"signing_key_id"`
	Sig          string `json:"sig"`
}

type wireDocument struct {
	IssuedAt  string        `json:"issued_at"`
	Expires   string        `json:"expires"`
	Keys      []wireKey     `json:"keys"`
	Signature wireSignature `json:"signature"`
}

// MarshalJSON returns the document's JSON, members in the protocol's order.
func (d Document) MarshalJSON() ([]byte, error) {
	w := wireDocument{
		IssuedAt: FormatTime(d.IssuedAt),
		Expires:  FormatTime(d.Expires),
		Keys:     make([]wireKey, len(d.Keys)),
		Signature: wireSignature{
			Alg:          d.Signature.Alg,
			SigningKeyID: d.Signature.SigningKeyID,
			Sig:          b64u.EncodeToString(d.Signature.Sig),
		},
	}
	for i, k := range d.Keys {
		id, kem, kdf, aead := k.KeyID, uint16(k.Suite.KEM), uint16(k.Suite.KDF), uint16(k.Suite.AEAD)
		w.Keys[i] = wireKey{
			KeyID: &id, KEM: &kem, KDF: &kdf, AEAD: &aead,
			PublicKey: b64u.EncodeToString(k.PublicKey),
			NotBefore: FormatTime(k.NotBefore),
			NotAfter:  FormatTime(k.NotAfter),
			State:     k.State.String(),
		}
	}
	return json.Marshal(w)
}

// Parse decodes a document and checks its form: every member present,
// times in TimeLayout, known states, base64url without padding, unique key
// ids. It does not verify the signature (see Verify and Accept). Members
// the protocol does not define are ignored.
func Parse(data []byte) (*Document, error) {
	var w wireDocument
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: invalid JSON", ErrMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformed)
	}
	return w.document()
}

// UnmarshalJSON decodes the document with the checks of Parse.
func (d *Document) UnmarshalJSON(data []byte) error {
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*d = *p
	return nil
}

func (w *wireDocument) document() (*Document, error) {
	var d Document
	var err error
	if d.IssuedAt, err = timeField("issued_at", w.IssuedAt); err != nil {
		return nil, err
	}
	if d.Expires, err = timeField("expires", w.Expires); err != nil {
		return nil, err
	}
	if len(w.Keys) == 0 || len(w.Keys) > 255 {
		return nil, fmt.Errorf("%w: keys must hold 1 to 255 keys", ErrMalformed)
	}
	seen := make(map[uint8]bool, len(w.Keys))
	for i := range w.Keys {
		k, err := w.Keys[i].key()
		if err != nil {
			return nil, err
		}
		if seen[k.KeyID] {
			return nil, fmt.Errorf("%w: duplicate key_id", ErrMalformed)
		}
		seen[k.KeyID] = true
		d.Keys = append(d.Keys, k)
	}
	if d.Signature, err = w.Signature.signature(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (w *wireKey) key() (Key, error) {
	var k Key
	if w.KeyID == nil || w.KEM == nil || w.KDF == nil || w.AEAD == nil {
		return k, fmt.Errorf("%w: key without key_id, kem_id, kdf_id or aead_id", ErrMalformed)
	}
	k.KeyID = *w.KeyID
	k.Suite = crypto.Suite{KEM: crypto.KEM(*w.KEM), KDF: crypto.KDF(*w.KDF), AEAD: crypto.AEAD(*w.AEAD)}
	pk, err := b64u.DecodeString(w.PublicKey)
	if err != nil || len(pk) == 0 || len(pk) > 0xFFFF {
		return k, fmt.Errorf("%w: bad public_key", ErrMalformed)
	}
	if npk, _, _, ok := k.Suite.Sizes(); ok && len(pk) != npk {
		return k, fmt.Errorf("%w: public_key length does not match its suite", ErrMalformed)
	}
	k.PublicKey = pk
	if k.NotBefore, err = timeField("not_before", w.NotBefore); err != nil {
		return k, err
	}
	if k.NotAfter, err = timeField("not_after", w.NotAfter); err != nil {
		return k, err
	}
	if k.State, err = parseState(w.State); err != nil {
		return k, err
	}
	return k, nil
}

func (w *wireSignature) signature() (Signature, error) {
	sig, err := b64u.DecodeString(w.Sig)
	if err != nil || w.Alg == "" || w.SigningKeyID == "" {
		return Signature{}, fmt.Errorf("%w: bad signature member", ErrMalformed)
	}
	return Signature{Alg: w.Alg, SigningKeyID: w.SigningKeyID, Sig: sig}, nil
}
