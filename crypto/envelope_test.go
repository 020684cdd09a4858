package crypto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

var innerHello = []byte(`{"messages":[{"role":"user","content":"hello"}]}`)

// sealRaw seals an already padded plaintext, bypassing PadRequest, to test
// the server's padding checks.
func sealRaw(t *testing.T, s Suite, pub, padded []byte) []byte {
	t.Helper()
	hdr := encodeHeader(s, 7, 1, [16]byte{})
	pk, err := publicKey(s, pub)
	if err != nil {
		t.Fatal(err)
	}
	snd, _ := s.hpke().NewSender(pk, requestInfo(hdr[:]))
	enc, sealer, err := snd.Setup(&countReader{})
	if err != nil {
		t.Fatal(err)
	}
	ct, err := sealer.Seal(padded, nil)
	if err != nil {
		t.Fatal(err)
	}
	return append(append(hdr[:], enc...), ct...)
}

func TestParseHeader(t *testing.T) {
	body, _, _ := sealTest(t, SuiteX25519, innerHello)
	h, err := ParseHeader(body)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{KeyID: 7, Suite: SuiteX25519, TS: 1767225600123, RID: [16]byte{1, 2, 3}}
	copy(want.Raw[:], body)
	if h != want {
		t.Fatalf("ParseHeader = %+v, want %+v", h, want)
	}
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(body)) }
	bad := map[string][]byte{
		"empty":         nil,
		"short header":  body[:31],
		"version 0":     mut(func(b []byte) []byte { b[0] = 0; return b }),
		"version 2":     mut(func(b []byte) []byte { b[0] = 2; return b }),
		"kem 0x0010":    mut(func(b []byte) []byte { b[2], b[3] = 0, 0x10; return b }),
		"kdf 0x0002":    mut(func(b []byte) []byte { b[5] = 2; return b }),
		"aead 0x0001":   mut(func(b []byte) []byte { b[7] = 1; return b }),
		"ts top bit":    mut(func(b []byte) []byte { b[8] = 0x80; return b }),
		"no ciphertext": body[:HeaderSize+32+Nt-1],
		"short padded":  body[:HeaderSize+32+128+Nt],
		"truncated":     body[:len(body)-1],
		"extended":      append(bytes.Clone(body), 0),
		"too large":     make([]byte, MaxBodySize(SuiteX25519)+MaxRequestPadded),
	}
	for name, b := range bad {
		if len(b) > 0 && name == "too large" {
			copy(b, body[:HeaderSize])
		}
		if _, err := ParseHeader(b); !errors.Is(err, ErrEnvelope) {
			t.Errorf("%s: err = %v, want ErrEnvelope", name, err)
		}
	}
}

func TestOpenRoundTrip(t *testing.T) {
	for _, s := range allSuites {
		body, sc, seed := sealTest(t, s, innerHello)
		_, nenc, _, _ := s.Sizes()
		if len(body) != HeaderSize+nenc+256+Nt {
			t.Fatalf("%v: body length %d", s, len(body))
		}
		o := openTest(t, body, seed)
		if !bytes.Equal(o.Plaintext(), innerHello) || o.Suite() != s || !bytes.Equal(o.Enc(), sc.Enc()) ||
			!bytes.Equal(o.exporterSecret(), sc.ExporterSecret()) {
			t.Fatalf("%v: opened %q", s, o.Plaintext())
		}
		o.Destroy()
		o.Destroy()
	}
}

// TestOpenBitFlips flips one bit in every byte of a body: each must be
// refused with exactly ErrEnvelope, by ParseHeader or by Open.
func TestOpenBitFlips(t *testing.T) {
	for _, s := range allSuites {
		body, _, seed := sealTest(t, s, innerHello)
		for i := range body {
			for _, bit := range []byte{0x01, 0x80} {
				b := bytes.Clone(body)
				b[i] ^= bit
				h, err := ParseHeader(b)
				if err != nil {
					if !errors.Is(err, ErrEnvelope) {
						t.Fatalf("%v byte %d: ParseHeader err %v", s, i, err)
					}
					continue
				}
				if o, err := Open(h, b, seed, budget(t)); err != ErrEnvelope || o != nil {
					t.Fatalf("%v byte %d bit %#x: Open = %v, %v", s, i, bit, o, err)
				}
			}
		}
	}
}

func TestOpenRefusals(t *testing.T) {
	for _, s := range allSuites {
		pub, seed := testKey(t, s)
		body, _, _ := sealTest(t, s, innerHello)
		h, _ := ParseHeader(body)
		other := bytes.Repeat([]byte{0x42}, SeedSize)
		json256 := append([]byte(`{"messages":[]}`), bytes.Repeat([]byte{' '}, 256-15)...)
		cases := map[string]openCase{
			"wrong key":          {h, body, other},
			"short seed":         {h, body, seed[:31]},
			"header of another":  {mustHeader(t, sealRaw(t, s, pub, padTo(innerHello, 256))), body, seed},
			"all padding":        rawCase(t, s, pub, make([]byte, 256)),
			"over-padded":        rawCase(t, s, pub, padTo(innerHello, 512)),
			"over-padded 256":    rawCase(t, s, pub, padTo(json256, 1024)),
			"suite of other kem": {Header{Suite: Suite{KEM: 1}, Raw: h.Raw}, body, seed},
		}
		for name, c := range cases {
			if c.seed == nil {
				c.seed = seed
			}
			if o, err := Open(c.h, c.body, c.seed, budget(t)); err != ErrEnvelope || o != nil {
				t.Errorf("%v %s: Open = %v, %v; want ErrEnvelope", s, name, o, err)
			}
		}
		// Exactly 256 bytes of JSON need no padding at all.
		o := openTest(t, sealRaw(t, s, pub, json256), seed)
		if !bytes.Equal(o.Plaintext(), json256) {
			t.Errorf("%v: unpadded 256-byte request opened to %d bytes", s, len(o.Plaintext()))
		}
		o.Destroy()
	}
}

func padTo(b []byte, n int) []byte { return append(bytes.Clone(b), make([]byte, n-len(b))...) }

func mustHeader(t *testing.T, body []byte) Header {
	h, err := ParseHeader(body)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type openCase struct {
	h    Header
	body []byte
	seed []byte
}

func rawCase(t *testing.T, s Suite, pub, padded []byte) openCase {
	b := sealRaw(t, s, pub, padded)
	return openCase{h: mustHeader(t, b), body: b}
}

func TestOpenBudgetExhausted(t *testing.T) {
	body, _, seed := sealTest(t, SuiteX25519, innerHello)
	h, _ := ParseHeader(body)
	o, err := Open(h, body, seed, locked.NewBudget(0))
	if o != nil || err != ErrOverloaded || !errors.Is(err, locked.ErrExhausted) || errors.Is(err, ErrEnvelope) {
		t.Fatalf("Open = %v, %v; want ErrOverloaded", o, err)
	}
	b := locked.NewBudget(locked.Cost(256 + Nh))
	o, err = Open(h, body, seed, b)
	if err != nil || b.InUse() != locked.Cost(256+Nh) {
		t.Fatalf("Open with an exact budget: %v, in use %d", err, b.InUse())
	}
	o.Destroy()
	if b.InUse() != 0 {
		t.Fatalf("after Destroy %d bytes in use", b.InUse())
	}
}

func TestGenerateKeyPair(t *testing.T) {
	for _, s := range allSuites {
		pub, seed, err := GenerateKeyPair(s, &countReader{}, budget(t))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := PublicKey(s, seed.Bytes())
		npk, _, _, _ := s.Sizes()
		if !bytes.Equal(pub, want) || len(pub) != npk || seed.Len() != SeedSize {
			t.Fatalf("%v: key pair does not match", s)
		}
		body, _, err := Seal(s, 1, pub, innerHello, 5, [16]byte{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o := openTest(t, body, seed.Bytes())
		if !bytes.Equal(o.Plaintext(), innerHello) {
			t.Fatalf("%v: generated key does not open", s)
		}
		o.Destroy()
		seed.Destroy()
	}
	if _, _, err := GenerateKeyPair(Suite{KEM: 0x10, KDF: 1, AEAD: 3}, &countReader{}, budget(t)); err != ErrSuite {
		t.Fatalf("P-256 suite: err %v", err)
	}
	if _, _, err := GenerateKeyPair(SuiteX25519, &countReader{}, locked.NewBudget(0)); !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("empty budget: err %v", err)
	}
}

func TestSuiteTable(t *testing.T) {
	cases := []struct {
		s              Suite
		npk, nenc, nsk int
		ok             bool
	}{
		{SuiteX25519, 32, 32, 32, true},
		{SuiteXWing, 1216, 1120, 32, true},
		{Suite{KEM_X25519, KDF_HKDF_SHA256, 1}, 0, 0, 0, false},
		{Suite{KEM_XWING, 2, AEAD_ChaCha20Poly1305}, 0, 0, 0, false},
		{Suite{0x0010, KDF_HKDF_SHA256, AEAD_ChaCha20Poly1305}, 0, 0, 0, false},
	}
	for _, c := range cases {
		npk, nenc, nsk, ok := c.s.Sizes()
		if npk != c.npk || nenc != c.nenc || nsk != c.nsk || ok != c.ok || c.s.Supported() != c.ok {
			t.Errorf("%v: Sizes() = %d %d %d %v", c.s, npk, nenc, nsk, ok)
		}
	}
	if KEM_XWING != 25722 || SuiteX25519.String() != "x25519" || SuiteXWing.String() != "xwing" {
		t.Fatal("suite constants")
	}
	if _, err := PublicKey(SuiteXWing, make([]byte, 31)); !errors.Is(err, ErrKey) {
		t.Fatalf("short seed: %v", err)
	}
	if _, _, err := Seal(SuiteXWing, 1, make([]byte, 32), innerHello, 1, [16]byte{}, nil); !errors.Is(err, ErrKey) {
		t.Fatalf("short public key: %v", err)
	}
}
