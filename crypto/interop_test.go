package crypto

import (
	"bytes"
	stdhpke "crypto/hpke"
	"encoding/json"
	"os"
	"testing"

	"github.com/cloudflare/circl/hpke"
	"github.com/sottolabs/sotto/internal/testenv"
)

// stdKey returns Go's crypto/hpke private key for our seed.
func stdKey(t *testing.T, s Suite, seed []byte) stdhpke.PrivateKey {
	t.Helper()
	kem, err := stdhpke.NewKEM(uint16(s.KEM))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := kem.NewPrivateKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// TestInteropStdlib checks both directions against Go's crypto/hpke, an
// independent implementation: same public key from the same seed, stdlib
// seals and we open, we seal and stdlib opens, equal exporter secrets.
func TestInteropStdlib(t *testing.T) {
	inner := []byte(`{"messages":[{"role":"user","content":"interop"}]}`)
	for _, s := range allSuites {
		t.Run(s.String(), func(t *testing.T) {
			pub, seed := testKey(t, s)
			sk := stdKey(t, s, seed)
			stdPub := sk.PublicKey().Bytes()
			if !bytes.Equal(stdPub, pub) {
				t.Fatal("public keys differ")
			}
			t.Run("stdlib-seals", func(t *testing.T) { stdSeals(t, s, seed, sk, inner) })
			t.Run("we-seal", func(t *testing.T) { weSeal(t, s, pub, sk, inner) })
		})
	}
}

func stdSeals(t *testing.T, s Suite, seed []byte, sk stdhpke.PrivateKey, inner []byte) {
	hdr := encodeHeader(s, 9, 1767225600000, [16]byte{9})
	padded, err := PadRequest(nil, inner)
	if err != nil {
		t.Fatal(err)
	}
	enc, snd, err := stdhpke.NewSender(sk.PublicKey(), stdhpke.HKDFSHA256(), stdhpke.ChaCha20Poly1305(), requestInfo(hdr[:]))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := snd.Seal(nil, padded)
	if err != nil {
		t.Fatal(err)
	}
	body := append(append(hdr[:], enc...), ct...)
	o := openTest(t, body, seed)
	defer o.Destroy()
	if !bytes.Equal(o.Plaintext(), inner) {
		t.Fatalf("plaintext = %q", o.Plaintext())
	}
	exp, err := snd.Export(labelResponse, Nh)
	if err != nil || !bytes.Equal(exp, o.exporterSecret()) {
		t.Fatalf("exporter secrets differ: %v", err)
	}
}

func weSeal(t *testing.T, s Suite, pub []byte, sk stdhpke.PrivateKey, inner []byte) {
	body, sc, err := Seal(s, 3, pub, inner, 1767225600000, [16]byte{3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, nenc, _, _ := s.Sizes()
	r, err := stdhpke.NewRecipient(body[HeaderSize:HeaderSize+nenc], sk, stdhpke.HKDFSHA256(), stdhpke.ChaCha20Poly1305(), requestInfo(body[:HeaderSize]))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := r.Open(nil, body[HeaderSize+nenc:])
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := PadRequest(nil, inner); !bytes.Equal(pt, want) {
		t.Fatal("stdlib opened different bytes")
	}
	exp, err := r.Export(labelResponse, Nh)
	if err != nil || !bytes.Equal(exp, sc.ExporterSecret()) {
		t.Fatalf("exporter secrets differ: %v", err)
	}
}

// rfcVector is a base-mode test vector of RFC 9180 appendix A.
type rfcVector struct {
	KEM          uint16 `json:"kem_id"`
	KDF          uint16 `json:"kdf_id"`
	AEAD         uint16 `json:"aead_id"`
	Mode         int    `json:"mode"`
	Info         string `json:"info"`
	IkmE         string `json:"ikmE"`
	SkRm         string `json:"skRm"`
	PkRm         string `json:"pkRm"`
	Enc          string `json:"enc"`
	SharedSecret string `json:"shared_secret"`
	Encryptions  []struct {
		AAD, CT, Nonce, PT string
	} `json:"encryptions"`
	Exports []struct {
		Context string `json:"exporter_context"`
		L       uint   `json:"L"`
		Value   string `json:"exported_value"`
	} `json:"exports"`
}

// TestRFC9180 checks our suite against RFC 9180's own vectors (A.2.1, the
// X25519 / HKDF-SHA256 / ChaCha20-Poly1305 base mode): our key handling
// gives pkRm from skRm, decapsulates the shared secret, seals to the same
// enc and ciphertexts from ikmE, opens them, and exports the same values.
func TestRFC9180(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc9180-a2-1.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []rfcVector
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for _, v := range vs {
		s := Suite{KEM(v.KEM), KDF(v.KDF), AEAD(v.AEAD)}
		if s != SuiteX25519 || v.Mode != 0 {
			t.Fatalf("unexpected vector suite %v mode %d", s, v.Mode)
		}
		rfcCheck(t, s, v)
	}
}

func rfcCheck(t *testing.T, s Suite, v rfcVector) {
	pk, err := PublicKey(s, testenv.Unhex(t, v.SkRm))
	if err != nil || !bytes.Equal(pk, testenv.Unhex(t, v.PkRm)) {
		t.Fatalf("PublicKey(skRm) = %x, %v", pk, err)
	}
	sk, err := privateKey(s, testenv.Unhex(t, v.SkRm))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := publicKey(s, pk)
	snd, _ := s.hpke().NewSender(pub, testenv.Unhex(t, v.Info))
	enc, sealer, err := snd.Setup(fixedReader(testenv.Unhex(t, v.IkmE)))
	if err != nil || !bytes.Equal(enc, testenv.Unhex(t, v.Enc)) {
		t.Fatalf("enc = %x, %v", enc, err)
	}
	rcv, _ := s.hpke().NewReceiver(sk, testenv.Unhex(t, v.Info))
	opener, err := rcv.Setup(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range v.Encryptions {
		ct, err := sealer.Seal(testenv.Unhex(t, e.PT), testenv.Unhex(t, e.AAD))
		if err != nil || !bytes.Equal(ct, testenv.Unhex(t, e.CT)) {
			t.Fatalf("encryption %d: ct differs (%v)", i, err)
		}
		pt, err := opener.Open(ct, testenv.Unhex(t, e.AAD))
		if err != nil || !bytes.Equal(pt, testenv.Unhex(t, e.PT)) {
			t.Fatalf("encryption %d: open: %v", i, err)
		}
	}
	for i, x := range v.Exports {
		got := opener.Export(testenv.Unhex(t, x.Context), x.L)
		if !bytes.Equal(got, testenv.Unhex(t, x.Value)) {
			t.Fatalf("export %d = %x, want %s", i, got, x.Value)
		}
	}
	ss, err := hpke.KEM(s.KEM).Scheme().Decapsulate(sk, enc)
	if err != nil || !bytes.Equal(ss, testenv.Unhex(t, v.SharedSecret)) {
		t.Fatalf("shared secret = %x, %v", ss, err)
	}
}
