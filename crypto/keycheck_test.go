package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// TestXWingEncapsulationKeyCheck: a client seals only to an X-Wing key
// whose ML-KEM-768 part passes FIPS 203's encapsulation key check (every
// 12-bit coefficient below q = 3329); protocol section 1, issue 14
// point 8.
func TestXWingEncapsulationKeyCheck(t *testing.T) {
	seed := bytes.Repeat([]byte{3}, SeedSize)
	pk, err := PublicKey(SuiteXWing, seed)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Seal(SuiteXWing, 1, pk, innerHello, 1, [16]byte{}, nil); err != nil {
		t.Fatalf("genuine key: %v", err)
	}
	bad := bytes.Clone(pk)
	bad[0], bad[1] = 0xFF, bad[1]|0x0F // first coefficient 0xFFF >= 3329
	if _, _, err := Seal(SuiteXWing, 1, bad, innerHello, 1, [16]byte{}, nil); !errors.Is(err, ErrKey) {
		t.Fatalf("coefficient above q: err = %v, want ErrKey", err)
	}
}

// TestX25519LowOrderEncRefused: DHKEM(X25519) refuses an all-zero shared
// secret (RFC 9180 section 7.1.4), so a body whose enc is a low-order
// point is the one generic #envelope answer.
func TestX25519LowOrderEncRefused(t *testing.T) {
	seed := bytes.Repeat([]byte{5}, SeedSize)
	pk, err := PublicKey(SuiteX25519, seed)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := Seal(SuiteX25519, 1, pk, innerHello, 1, [16]byte{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range [][]byte{make([]byte, 32), append([]byte{1}, make([]byte, 31)...)} {
		b := bytes.Clone(body)
		copy(b[HeaderSize:], enc)
		h, err := ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if o, err := Open(h, b, seed, budget(t)); !errors.Is(err, ErrEnvelope) {
			if o != nil {
				o.Destroy()
			}
			t.Fatalf("low-order enc %x: err = %v, want ErrEnvelope", enc[:1], err)
		}
	}
}
