package keyconfig

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
)

// compactDocument returns the reference document in compact JSON and its
// pinned signing key.
func compactDocument(t *testing.T) ([]byte, ed25519.PublicKey) {
	t.Helper()
	v := loadVectors(t)
	var b bytes.Buffer
	if err := json.Compact(&b, v.Document); err != nil {
		t.Fatal(err)
	}
	pin, err := hex.DecodeString(v.SigningPublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), pin
}

// TestIDsMustBeIntegers: key_id and the suite ids are JSON integers in
// range; 1.0, 1e0, -1, "1" and 256 are refused (protocol section 2).
func TestIDsMustBeIntegers(t *testing.T) {
	doc, _ := compactDocument(t)
	if _, err := Parse(doc); err != nil {
		t.Fatal(err)
	}
	for _, repl := range [][2]string{
		{`"key_id":1,`, `"key_id":1.0,`}, {`"key_id":1,`, `"key_id":1e0,`}, {`"key_id":1,`, `"key_id":-1,`},
		{`"key_id":1,`, `"key_id":"1",`}, {`"kem_id":32,`, `"kem_id":32.0,`}, {`"kem_id":32,`, `"kem_id":65536,`},
	} {
		bad := bytes.Replace(doc, []byte(repl[0]), []byte(repl[1]), 1)
		if bytes.Equal(bad, doc) {
			t.Fatalf("%s not in the document", repl[0])
		}
		if _, err := Parse(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Parse = %v, want ErrMalformed", repl[1], err)
		}
	}
}

// TestDuplicateMembersSignatureDecides: the Go client's JSON reading takes
// the last of duplicate members (and matches names case-insensitively);
// the signature over tbs, built from the values read, then decides. A
// forged value wins only where it is not used: after the genuine value it
// breaks the signature; before it, it is ignored (protocol section 2).
func TestDuplicateMembersSignatureDecides(t *testing.T) {
	doc, pin := compactDocument(t)
	const genuine = `"key_id":1,`
	for _, tc := range []struct {
		name, repl string
		want       error
	}{
		{"forged first", `"key_id":9,"key_id":1,`, nil},
		{"forged last", `"key_id":1,"key_id":9,`, ErrSignature},
		{"forged last, other case", `"key_id":1,"KEY_ID":9,`, ErrSignature},
	} {
		d, err := Parse(bytes.Replace(doc, []byte(genuine), []byte(tc.repl), 1))
		if err != nil {
			t.Fatalf("%s: Parse: %v", tc.name, err)
		}
		if err := d.Verify(pin); err != tc.want && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
}
