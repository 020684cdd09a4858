package keyconfig

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

type vectorCheck struct {
	Name            string          `json:"name"`
	Now             string          `json:"now"`
	HoldingDocument bool            `json:"holding_document"`
	Expect          string          `json:"expect"`
	SignatureValid  bool            `json:"signature_valid"`
	Document        json.RawMessage `json:"document"`
}

type vectorKeyConfig struct {
	SigningSeed      string          `json:"signing_seed"`
	SigningPublicKey string          `json:"signing_public_key"`
	SigningKeyID     string          `json:"signing_key_id"`
	Document         json.RawMessage `json:"document"`
	TBS              string          `json:"tbs"`
	Signature        string          `json:"signature"`
	ClientChecks     []vectorCheck   `json:"client_checks"`
}

func loadVectors(t *testing.T) vectorKeyConfig {
	t.Helper()
	data, err := os.ReadFile(testenv.ReferenceVectors(t))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		KeyConfig vectorKeyConfig `json:"key_config"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.KeyConfig.ClientChecks) == 0 {
		t.Fatal("vectors: no key_config client checks")
	}
	return v.KeyConfig
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestVectorDocument(t *testing.T) {
	v := loadVectors(t)
	priv := ed25519.NewKeyFromSeed(testenv.Unhex(t, v.SigningSeed))
	pub := priv.Public().(ed25519.PublicKey)
	if !bytes.Equal(pub, testenv.Unhex(t, v.SigningPublicKey)) {
		t.Fatalf("public key %x, want %s", pub, v.SigningPublicKey)
	}
	if got := SigningKeyID(pub); got != v.SigningKeyID {
		t.Fatalf("SigningKeyID = %q, want %q", got, v.SigningKeyID)
	}
	d, err := Parse(v.Document)
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := d.TBS()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tbs, testenv.Unhex(t, v.TBS)) {
		t.Fatalf("tbs\n got %x\nwant %s", tbs, v.TBS)
	}
	if err := d.Verify(pub); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	resigned := *d
	resigned.Signature = Signature{}
	if err := Sign(&resigned, priv); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resigned.Signature.Sig, testenv.Unhex(t, v.Signature)) {
		t.Fatalf("signature %x, want %s", resigned.Signature.Sig, v.Signature)
	}
	out, err := resigned.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, out, v.Document) {
		t.Fatalf("MarshalJSON differs from the vector document:\n%s", out)
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// wantErr names the refusal each negative vector must produce.
var wantErr = map[string]error{
	"rollback":             ErrRollback,
	"expired":              ErrExpired,
	"non-canonical-time":   ErrTimeFormat,
	"non-canonical-offset": ErrTimeFormat,
	"tampered":             ErrSignature,
	"issued-at-changed":    ErrSignature,
	"unpinned":             ErrUnpinned,
}

func TestVectorClientChecks(t *testing.T) {
	v := loadVectors(t)
	pinned := ed25519.PublicKey(testenv.Unhex(t, v.SigningPublicKey))
	held, err := Parse(v.Document)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range v.ClientChecks {
		t.Run(c.Name, func(t *testing.T) {
			var h *Document
			if c.HoldingDocument {
				h = held
			}
			got, err := Accept(h, c.Document, pinned, mustTime(t, c.Now))
			switch c.Expect {
			case "accept":
				if err != nil {
					t.Fatalf("Accept: %v, want accept", err)
				}
				want, _ := Parse(c.Document)
				if !got.IssuedAt.Equal(want.IssuedAt) || len(got.Keys) != len(want.Keys) {
					t.Fatalf("Accept returned another document")
				}
			case "refuse":
				want, ok := wantErr[c.Name]
				if !ok {
					t.Fatalf("no expected error for refusal %q", c.Name)
				}
				if !errors.Is(err, want) || got != nil {
					t.Fatalf("Accept = %v, %v; want %v", got, err, want)
				}
			default:
				t.Fatalf("unknown expect %q", c.Expect)
			}
		})
	}
}

// signed returns the JSON of a copy of d with issued_at set and signed.
func signed(t *testing.T, d Document, issued time.Time, priv ed25519.PrivateKey) []byte {
	t.Helper()
	d.IssuedAt = issued
	d.Keys = append([]Key(nil), d.Keys...)
	if err := Sign(&d, priv); err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAcceptFutureAndConflict(t *testing.T) {
	v := loadVectors(t)
	priv := ed25519.NewKeyFromSeed(testenv.Unhex(t, v.SigningSeed))
	pub := priv.Public().(ed25519.PublicKey)
	held, err := Parse(v.Document)
	if err != nil {
		t.Fatal(err)
	}
	now := held.IssuedAt.Add(time.Hour)

	future := signed(t, *held, now.Add(61*time.Second), priv)
	if _, err := Accept(held, future, pub, now); !errors.Is(err, ErrFuture) {
		t.Fatalf("61 s ahead: %v, want ErrFuture", err)
	}
	edge := signed(t, *held, now.Add(60*time.Second), priv)
	if _, err := Accept(held, edge, pub, now); err != nil {
		t.Fatalf("60 s ahead: %v, want accept", err)
	}

	other := *held
	other.Keys = held.Keys[:1]
	conflict := signed(t, other, held.IssuedAt, priv)
	if _, err := Accept(held, conflict, pub, now); !errors.Is(err, ErrConflict) {
		t.Fatalf("same issued_at, other keys: %v, want ErrConflict", err)
	}
	atExpiry := signed(t, *held, held.IssuedAt, priv)
	if _, err := Accept(nil, atExpiry, pub, held.Expires); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expires: %v, want ErrExpired", err)
	}
}

func TestParseTime(t *testing.T) {
	good := "2026-01-02T03:04:05Z"
	if tm, err := ParseTime(good); err != nil || tm.Unix() != 1767323045 {
		t.Fatalf("ParseTime(%q) = %v, %v", good, tm, err)
	}
	for _, s := range []string{
		"2026-01-02T03:04:05.000Z", "2026-01-02T03:04:05+00:00", "2026-01-02t03:04:05z",
		"2026-01-02 03:04:05Z", "2026-1-02T03:04:05Z", "2026-01-02T03:04:05", "", "2026-01-02T03:04:60Z",
	} {
		if _, err := ParseTime(s); !errors.Is(err, ErrTimeFormat) {
			t.Errorf("ParseTime(%q) = %v, want ErrTimeFormat", s, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	v := loadVectors(t)
	var m map[string]any
	if err := json.Unmarshal(v.Document, &m); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var c map[string]any
		_ = json.Unmarshal(v.Document, &c)
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	key0 := func(c map[string]any) map[string]any { return c["keys"].([]any)[0].(map[string]any) }
	cases := map[string][]byte{
		"not json":       []byte("{"),
		"trailing":       append(append([]byte{}, v.Document...), []byte(" {}")...),
		"no keys":        edit(func(c map[string]any) { c["keys"] = []any{} }),
		"retired state":  edit(func(c map[string]any) { key0(c)["state"] = "retired" }),
		"padded b64":     edit(func(c map[string]any) { key0(c)["public_key"] = key0(c)["public_key"].(string) + "=" }),
		"short key":      edit(func(c map[string]any) { key0(c)["public_key"] = "AAAA" }),
		"no key_id":      edit(func(c map[string]any) { delete(key0(c), "key_id") }),
		"key_id 256":     edit(func(c map[string]any) { key0(c)["key_id"] = 256 }),
		"duplicate id":   edit(func(c map[string]any) { c["keys"].([]any)[1].(map[string]any)["key_id"] = 1 }),
		"no signature":   edit(func(c map[string]any) { delete(c, "signature") }),
		"time as number": edit(func(c map[string]any) { c["expires"] = 1767830400 }),
	}
	for name, doc := range cases {
		_, err := Parse(doc)
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTimeFormat) {
			t.Errorf("%s: Parse = %v, want ErrMalformed or ErrTimeFormat", name, err)
		}
	}
}
