package pow

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

var (
	t0     = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secret = []byte("0123456789abcdef0123456789abcdef")
	body   = sha256.Sum256([]byte("a sealed request body"))
)

func issuer(t testing.TB, bits int) *Issuer {
	t.Helper()
	i, err := NewIssuer(secret, bits, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestRoundTrip(t *testing.T) {
	i := issuer(t, 12)
	c := mustIssue(t, i, t0)
	if !strings.HasPrefix(c, "v1;bits=12;exp=1767225660;salt=") || len(c) != len("v1;bits=12;exp=1767225660;salt=")+22+5+22 {
		t.Fatalf("challenge %q", c)
	}
	ans, err := Solve(c, body)
	if err != nil {
		t.Fatal(err)
	}
	h := work(c, mustNonce(t, ans), body)
	if zeroBits(h) < 12 {
		t.Fatalf("solution hash %x has fewer than 12 zero bits", h)
	}
	if err := i.Verify(ans, body, t0.Add(59*time.Second)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func mustIssue(t testing.TB, i *Issuer, now time.Time) string {
	t.Helper()
	c, err := i.Issue(now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSealedIssuer: an issuer whose secret lives in an enclave issues and
// verifies the same challenges as one holding the secret in place, and
// refuses (locked.ErrExhausted) when the budget cannot open it.
func TestSealedIssuer(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	sealed, err := NewIssuer(append([]byte(nil), secret...), 12, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	sealed.Seal(budget)
	if sealed.secret != nil {
		t.Fatal("the secret is still held in place after Seal")
	}
	ans, err := Solve(mustIssue(t, sealed, t0), body)
	if err != nil {
		t.Fatal(err)
	}
	if err := sealed.Verify(ans, body, t0); err != nil {
		t.Fatalf("sealed issuer refuses its own challenge: %v", err)
	}
	if err := issuer(t, 12).Verify(ans, body, t0); err != nil {
		t.Fatalf("same secret in place refuses the sealed issuer's challenge: %v", err)
	}
	if budget.InUse() != 0 {
		t.Fatalf("opened secret not destroyed: %d bytes in use", budget.InUse())
	}
	sealed.budget = locked.NewBudget(0)
	if _, err := sealed.Issue(t0); !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("Issue with a full budget = %v", err)
	}
	if err := sealed.Verify(ans, body, t0); !errors.Is(err, locked.ErrExhausted) {
		t.Fatalf("Verify with a full budget = %v", err)
	}
}

func mustNonce(t *testing.T, ans string) []byte {
	t.Helper()
	_, n, _ := strings.Cut(ans, ";nonce=")
	b, err := b64u.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRefusals(t *testing.T) {
	i := issuer(t, 12)
	c := mustIssue(t, i, t0)
	ans, _ := Solve(c, body)
	challenge, _, _ := strings.Cut(ans, ";nonce=")
	other, _ := NewIssuer([]byte("another secret of enough length"), 12, time.Minute)
	strict := issuer(t, 13)
	// A body the solution does not fit (most bodies; the first that fails).
	var wrongBody [32]byte
	for n := byte(0); ; n++ {
		wrongBody = sha256.Sum256([]byte{n})
		if zeroBits(work(challenge, mustNonce(t, ans), wrongBody)) < 12 {
			break
		}
	}
	type refusal struct {
		name   string
		iss    *Issuer
		header string
		body   [32]byte
		now    time.Time
		want   error
	}
	cases := []refusal{
		{"expired", i, ans, body, t0.Add(time.Minute), ErrExpired},
		{"wrong body", i, ans, wrongBody, t0, ErrWork},
		{"tampered mac", i, strings.Replace(ans, ";mac="+c[len(c)-22:], ";mac=AAAAAAAAAAAAAAAAAAAAAA", 1), body, t0, ErrMAC},
		{"tampered bits", i, strings.Replace(ans, "bits=12", "bits=13", 1), body, t0, ErrMAC},
		{"other secret", other, ans, body, t0, ErrMAC},
		{"more bits required", strict, ans, body, t0, ErrBits},
		{"too-short nonce", i, challenge + ";nonce=" + b64u.EncodeToString(make([]byte, 7)), body, t0, ErrMalformed},
		{"too-long nonce", i, challenge + ";nonce=" + b64u.EncodeToString(make([]byte, 33)), body, t0, ErrMalformed},
		{"padded nonce", i, ans + "=", body, t0, ErrMalformed},
		{"no nonce", i, challenge, body, t0, ErrMalformed},
		{"leading zero", i, strings.Replace(ans, "bits=12", "bits=012", 1), body, t0, ErrMalformed},
		{"extra field", i, strings.Replace(ans, "v1;", "v1;x=1;", 1), body, t0, ErrMalformed},
		{"v2", i, "v2" + ans[2:], body, t0, ErrMalformed},
		{"empty", i, "", body, t0, ErrMalformed},
	}
	for _, c := range cases {
		err := c.iss.Verify(c.header, c.body, c.now)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
		if err != nil && len(c.header) > 20 && strings.Contains(err.Error(), c.header[20:]) {
			t.Errorf("%s: error echoes the header", c.name)
		}
	}
}

func TestNewIssuerLimits(t *testing.T) {
	for _, c := range []struct {
		secret []byte
		bits   int
		ttl    time.Duration
	}{
		{secret[:15], 12, time.Minute}, {secret, 0, time.Minute}, {secret, 33, time.Minute}, {secret, 12, time.Millisecond},
	} {
		if _, err := NewIssuer(c.secret, c.bits, c.ttl); err == nil {
			t.Errorf("NewIssuer(%d-byte secret, %d, %v) accepted", len(c.secret), c.bits, c.ttl)
		}
	}
	if _, err := Solve("v1;bits=99;exp=1;salt=x;mac=y", body); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Solve of a malformed challenge: %v", err)
	}
}

func TestZeroBits(t *testing.T) {
	var h [32]byte
	if zeroBits(h) != 256 {
		t.Fatal("all zero")
	}
	h[1] = 0x10
	if zeroBits(h) != 11 {
		t.Fatalf("zeroBits = %d, want 11", zeroBits(h))
	}
}

func BenchmarkSolve16(b *testing.B) {
	i := issuer(b, 16)
	for n := 0; b.Loop(); n++ {
		body := sha256.Sum256([]byte{byte(n), byte(n >> 8)})
		if _, err := Solve(mustIssue(b, i, t0), body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	i := issuer(b, 16)
	ans, _ := Solve(mustIssue(b, i, t0), body)
	for b.Loop() {
		if err := i.Verify(ans, body, t0); err != nil {
			b.Fatal(err)
		}
	}
}
