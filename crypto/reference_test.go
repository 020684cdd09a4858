package crypto

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cloudflare/circl/hpke"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sottolabs/sotto/internal/testenv"
)

// refVectors is the part of vectors-v1.json this package checks (the key
// config and device signatures belong to crypto/keys and crypto/device).
type refVectors struct {
	Protocol string    `json:"protocol"`
	Cases    []refCase `json:"cases"`
}

type refCase struct {
	Name  string `json:"name"`
	Suite struct {
		Name                           string
		KEMID                          uint16 `json:"kem_id"`
		KDFID                          uint16 `json:"kdf_id"`
		AEADID                         uint16 `json:"aead_id"`
		Nenc, Npk, Nsk, Nk, Nn, Nt, Nh int
	} `json:"suite"`
	KeyID             uint8  `json:"key_id"`
	SkR               string `json:"sk_r"`
	SkRSerialized     string `json:"sk_r_serialized"`
	PkR               string `json:"pk_r"`
	IkmE              string `json:"ikm_e"`
	Eseed             string `json:"eseed"`
	TS                int64  `json:"ts"`
	RID               string `json:"rid"`
	Hdr               string `json:"hdr"`
	Info              string `json:"info"`
	InnerJSON         string `json:"inner_request_json"`
	InnerPaddedLength int    `json:"inner_request_padded_length"`
	InnerPadded       string `json:"inner_request_padded"`
	Enc               string `json:"enc"`
	SharedSecret      string `json:"shared_secret"`
	KeySchedule       struct {
		SuiteID        string `json:"suite_id"`
		Secret, Key    string
		BaseNonce      string `json:"base_nonce"`
		PskIDHash      string `json:"psk_id_hash"`
		InfoHash       string `json:"info_hash"`
		Context        string `json:"key_schedule_context"`
		ExporterSecret string `json:"exporter_secret"`
	} `json:"key_schedule"`
	CT         string      `json:"ct"`
	Body       string      `json:"body"`
	Response   refResponse `json:"response"`
	NegStreams []struct {
		Name, SSE string
	} `json:"negative_streams"`
	NegRequests []struct {
		Name, Body string
	} `json:"negative_requests"`
}

type refResponse struct {
	ExportLabel   string `json:"export_label"`
	ExportLength  int    `json:"export_length"`
	Secret        string `json:"secret"`
	ResponseNonce string `json:"response_nonce"`
	Salt, Prk     string
	Key, Nonce    string
	PadQuantum    int        `json:"pad_quantum"`
	Chunks        []vecChunk `json:"chunks"` // the same layout as our own vectors
	SSE           string     `json:"sse"`
	ReplyText     string     `json:"reply_text"`
	FinalJSON     string     `json:"final_json"`
}

func loadReference(t *testing.T) refVectors {
	t.Helper()
	raw, err := os.ReadFile(testenv.ReferenceVectors(t))
	if err != nil {
		t.Fatal(err)
	}
	var v refVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Protocol != "sotto/v1" || len(v.Cases) == 0 {
		t.Fatalf("reference vectors: protocol %q with %d cases", v.Protocol, len(v.Cases))
	}
	return v
}

func (c *refCase) suite() Suite {
	return Suite{KEM(c.Suite.KEMID), KDF(c.Suite.KDFID), AEAD(c.Suite.AEADID)}
}

func (c *refCase) senderContext(t *testing.T) *SenderContext {
	sc := &SenderContext{suite: c.suite(), enc: testenv.Unhex(t, c.Enc)}
	copy(sc.secret[:], testenv.Unhex(t, c.Response.Secret))
	return sc
}

func TestReferenceVectors(t *testing.T) {
	v := loadReference(t)
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Run("suite", func(t *testing.T) { refSuite(t, &c) })
			t.Run("open", func(t *testing.T) { refOpen(t, &c) })
			t.Run("seal", func(t *testing.T) { refSeal(t, &c) })
			t.Run("key_schedule", func(t *testing.T) { refKeySchedule(t, &c) })
			t.Run("response", func(t *testing.T) { refResponseChunks(t, &c) })
			t.Run("stream", func(t *testing.T) { refStream(t, &c) })
			t.Run("negative_streams", func(t *testing.T) { refNegativeStreams(t, &c) })
			t.Run("negative_requests", func(t *testing.T) { refNegativeRequests(t, &c) })
		})
	}
}

func refSuite(t *testing.T, c *refCase) {
	s := c.suite()
	npk, nenc, nsk, ok := s.Sizes()
	if !ok || npk != c.Suite.Npk || nenc != c.Suite.Nenc || nsk != c.Suite.Nsk {
		t.Fatalf("Sizes() = %d, %d, %d, %v; want %d, %d, %d", npk, nenc, nsk, ok, c.Suite.Npk, c.Suite.Nenc, c.Suite.Nsk)
	}
	if c.Suite.Nk != Nk || c.Suite.Nn != Nn || c.Suite.Nt != Nt || c.Suite.Nh != Nh {
		t.Fatalf("AEAD/KDF sizes differ from Nk %d Nn %d Nt %d Nh %d", Nk, Nn, Nt, Nh)
	}
	if s.String() != c.Suite.Name {
		t.Errorf("String() = %q, want %q", s.String(), c.Suite.Name)
	}
	// The clamped X25519 serialization is the same key: same public key.
	for _, sk := range []string{c.SkR, c.SkRSerialized} {
		pk, err := PublicKey(s, testenv.Unhex(t, sk))
		if err != nil || !bytes.Equal(pk, testenv.Unhex(t, c.PkR)) {
			t.Fatalf("PublicKey(%s) = %x, %v; want pk_r", sk, pk, err)
		}
	}
}

func refOpen(t *testing.T, c *refCase) {
	body := testenv.Unhex(t, c.Body)
	h, err := ParseHeader(body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Raw[:], testenv.Unhex(t, c.Hdr)) || h.KeyID != c.KeyID || h.TS != c.TS ||
		!bytes.Equal(h.RID[:], testenv.Unhex(t, c.RID)) || h.Suite != c.suite() {
		t.Fatalf("ParseHeader = %+v, want hdr %s", h, c.Hdr)
	}
	if got := requestInfo(h.Raw[:]); !bytes.Equal(got, testenv.Unhex(t, c.Info)) {
		t.Fatalf("info = %x, want %s", got, c.Info)
	}
	o, err := Open(h, body, testenv.Unhex(t, c.SkR), budget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Destroy()
	if string(o.Plaintext()) != c.InnerJSON {
		t.Fatalf("plaintext = %q, want %q", o.Plaintext(), c.InnerJSON)
	}
	if !bytes.Equal(o.buf.Bytes()[:o.pl], testenv.Unhex(t, c.InnerPadded)) || o.pl != c.InnerPaddedLength {
		t.Fatal("padded plaintext differs")
	}
	if !bytes.Equal(o.exporterSecret(), testenv.Unhex(t, c.Response.Secret)) {
		t.Fatalf("exporter secret = %x, want %s", o.exporterSecret(), c.Response.Secret)
	}
	if !bytes.Equal(o.Enc(), testenv.Unhex(t, c.Enc)) {
		t.Fatal("enc differs")
	}
	req, err := ParseRequest(o.Plaintext(), Limits{})
	if err != nil || len(req.Messages) == 0 {
		t.Fatalf("ParseRequest = %+v, %v", req, err)
	}
}

// refSeal rebuilds the request body byte for byte from the fixed
// ephemeral: circl's DHKEM derives the ephemeral key pair from the ikm it
// reads (RFC 9180 DeriveKeyPair), and its X-Wing reads the 64-byte eseed.
func refSeal(t *testing.T, c *refCase) {
	eph := c.IkmE
	if c.suite().KEM == KEM_XWING {
		eph = c.Eseed
	}
	var rid [16]byte
	copy(rid[:], testenv.Unhex(t, c.RID))
	body, sc, err := Seal(c.suite(), c.KeyID, testenv.Unhex(t, c.PkR), []byte(c.InnerJSON), c.TS, rid, fixedReader(testenv.Unhex(t, eph)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, testenv.Unhex(t, c.Body)) {
		t.Fatalf("body differs from the reference")
	}
	if !bytes.Equal(sc.Enc(), testenv.Unhex(t, c.Enc)) || !bytes.Equal(sc.ExporterSecret(), testenv.Unhex(t, c.Response.Secret)) {
		t.Fatal("sender context differs")
	}
}

// refKeySchedule recomputes the RFC 9180 key schedule from the shared
// secret our KEM decapsulates, and checks every intermediate.
func refKeySchedule(t *testing.T, c *refCase) {
	s := c.suite()
	sk, err := privateKey(s, testenv.Unhex(t, c.SkR))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := hpke.KEM(s.KEM).Scheme().Decapsulate(sk, testenv.Unhex(t, c.Enc))
	if err != nil || !bytes.Equal(ss, testenv.Unhex(t, c.SharedSecret)) {
		t.Fatalf("shared secret = %x, %v; want %s", ss, err, c.SharedSecret)
	}
	ks := c.KeySchedule
	suiteID := []byte("HPKE")
	suiteID = binary.BigEndian.AppendUint16(suiteID, uint16(s.KEM))
	suiteID = binary.BigEndian.AppendUint16(suiteID, uint16(s.KDF))
	suiteID = binary.BigEndian.AppendUint16(suiteID, uint16(s.AEAD))
	check := func(name string, got []byte, want string) {
		t.Helper()
		if !bytes.Equal(got, testenv.Unhex(t, want)) {
			t.Fatalf("%s = %x, want %s", name, got, want)
		}
	}
	check("suite_id", suiteID, ks.SuiteID)
	pskIDHash := labeledExtract(t, suiteID, nil, "psk_id_hash", nil)
	check("psk_id_hash", pskIDHash, ks.PskIDHash)
	infoHash := labeledExtract(t, suiteID, nil, "info_hash", testenv.Unhex(t, c.Info))
	check("info_hash", infoHash, ks.InfoHash)
	ctx := append(append([]byte{0}, pskIDHash...), infoHash...)
	check("key_schedule_context", ctx, ks.Context)
	secret := labeledExtract(t, suiteID, ss, "secret", nil)
	check("secret", secret, ks.Secret)
	key := labeledExpand(t, suiteID, secret, "key", ctx, Nk)
	check("key", key, ks.Key)
	baseNonce := labeledExpand(t, suiteID, secret, "base_nonce", ctx, Nn)
	check("base_nonce", baseNonce, ks.BaseNonce)
	exp := labeledExpand(t, suiteID, secret, "exp", ctx, Nh)
	check("exporter_secret", exp, ks.ExporterSecret)
	check("response secret", labeledExpand(t, suiteID, exp, "sec", []byte(labelResponse), Nh), c.Response.Secret)
	aead, _ := chacha20poly1305.New(key)
	pt, err := aead.Open(nil, baseNonce, testenv.Unhex(t, c.CT), nil)
	if err != nil {
		t.Fatal(err)
	}
	check("inner_request_padded", pt, c.InnerPadded)
	if c.Response.ExportLabel != labelResponse || c.Response.ExportLength != Nh {
		t.Fatalf("export label %q length %d", c.Response.ExportLabel, c.Response.ExportLength)
	}
}

func labeledExtract(t *testing.T, suiteID, salt []byte, label string, ikm []byte) []byte {
	in := append(append(append([]byte("HPKE-v1"), suiteID...), label...), ikm...)
	prk, err := hkdf.Extract(sha256.New, in, salt)
	if err != nil {
		t.Fatal(err)
	}
	return prk
}

func labeledExpand(t *testing.T, suiteID, prk []byte, label string, info []byte, n int) []byte {
	in := binary.BigEndian.AppendUint16(nil, uint16(n))
	in = append(append(append(append(in, "HPKE-v1"...), suiteID...), label...), info...)
	out, err := hkdf.Expand(sha256.New, prk, string(in), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refResponseChunks rebuilds every chunk and the whole SSE text from the
// given secret and response nonce.
func refResponseChunks(t *testing.T, c *refCase) {
	r := c.Response
	salt := append(testenv.Unhex(t, c.Enc), testenv.Unhex(t, r.ResponseNonce)...)
	if !bytes.Equal(salt, testenv.Unhex(t, r.Salt)) {
		t.Fatal("salt differs")
	}
	prk, key, nonce, err := responseKeyMaterial(testenv.Unhex(t, c.Enc), testenv.Unhex(t, r.ResponseNonce), testenv.Unhex(t, r.Secret))
	if err != nil || !bytes.Equal(prk, testenv.Unhex(t, r.Prk)) || !bytes.Equal(key, testenv.Unhex(t, r.Key)) || !bytes.Equal(nonce, testenv.Unhex(t, r.Nonce)) {
		t.Fatalf("response key schedule = %x %x %x, %v", prk, key, nonce, err)
	}
	o := &Opened{suite: c.suite(), enc: testenv.Unhex(t, c.Enc)}
	var err2 error
	o.buf, err2 = budget(t).Alloc(Nh)
	if err2 != nil {
		t.Fatal(err2)
	}
	defer o.Destroy()
	copy(o.buf.Bytes(), testenv.Unhex(t, r.Secret))
	ss, err := NewStreamSealer(o, fixedReader(testenv.Unhex(t, r.ResponseNonce)), r.PadQuantum, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	sse := ss.NonceEvent(nil)
	var n [Nn]byte
	copy(n[:], nonce)
	aead, _ := chacha20poly1305.New(key)
	for _, ch := range r.Chunks {
		if got := chunkNonce(&n, ch.I); !bytes.Equal(got[:], testenv.Unhex(t, ch.NonceI)) {
			t.Fatalf("nonce_%d = %x, want %s", ch.I, got, ch.NonceI)
		}
		if got := ChunkPaddedLen(len(ch.PlaintextJSON), r.PadQuantum); got != len(ch.PlaintextPadded)/2 ||
			!strings.HasPrefix(ch.PlaintextPadded, hexString(ch.PlaintextJSON)) {
			t.Fatalf("chunk %d padding differs", ch.I)
		}
		wantAAD := ""
		if ch.Final {
			wantAAD = hexString(aadFinal)
		}
		pt, err := aead.Open(nil, testenv.Unhex(t, ch.NonceI), testenv.Unhex(t, ch.CT), testenv.Unhex(t, ch.AAD))
		if ch.AAD != wantAAD || err != nil || !bytes.Equal(pt, testenv.Unhex(t, ch.PlaintextPadded)) {
			t.Fatalf("chunk %d: ct does not open to plaintext_padded with aad %q: %v", ch.I, ch.AAD, err)
		}
		ev, err := sealRefChunk(t, ss, ch.Final, ch.PlaintextJSON)
		if err != nil {
			t.Fatal(err)
		}
		if string(ev) != ch.SSEEvent {
			t.Fatalf("chunk %d event = %q, want %q", ch.I, ev, ch.SSEEvent)
		}
		sse = append(sse, ev...)
	}
	if string(sse) != r.SSE {
		t.Fatalf("SSE = %q, want %q", sse, r.SSE)
	}
}

func hexString(s string) string { return strings.ToLower(hexEncode([]byte(s))) }

// sealRefChunk seals a reference chunk's plaintext through the sealer's
// public API: SealDelta with the unescaped text, or SealFinal.
func sealRefChunk(t *testing.T, ss *StreamSealer, final bool, js string) ([]byte, error) {
	if !final {
		var d struct{ Delta string }
		if err := json.Unmarshal([]byte(js), &d); err != nil {
			t.Fatal(err)
		}
		return ss.SealDelta(nil, []byte(d.Delta))
	}
	return ss.SealFinal(nil, finalFromJSON(t, js))
}

func finalFromJSON(t *testing.T, js string) Final {
	var f struct {
		FinishReason string `json:"finish_reason"`
		Usage        struct {
			Prompt     int `json:"prompt_tokens"`
			Completion int `json:"completion_tokens"`
		}
		Error struct{ Code string }
	}
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	return Final{f.FinishReason, f.Usage.Prompt, f.Usage.Completion, f.Error.Code}
}

func refStream(t *testing.T, c *refCase) {
	text, f, err := OpenStream(c.senderContext(t), []byte(c.Response.SSE))
	if err != nil {
		t.Fatal(err)
	}
	if string(text) != c.Response.ReplyText {
		t.Fatalf("reply = %q, want %q", text, c.Response.ReplyText)
	}
	if want := finalFromJSON(t, c.Response.FinalJSON); f != want {
		t.Fatalf("final = %+v, want %+v", f, want)
	}
	// The same stream with CRLF and CR line endings, fed one byte at a time.
	for _, eol := range []string{"\r\n", "\r"} {
		o := NewStreamOpener(c.senderContext(t))
		var got []byte
		for _, b := range []byte(strings.ReplaceAll(c.Response.SSE, "\n", eol)) {
			_ = o.Feed([]byte{b})
			for {
				ch, err := o.Next()
				if err != nil {
					break
				}
				got = append(got, ch.Delta...)
			}
		}
		if err := o.End(); err != nil || string(got) != c.Response.ReplyText {
			t.Fatalf("eol %q: reply %q, %v", eol, got, err)
		}
	}
}

func refNegativeStreams(t *testing.T, c *refCase) {
	if len(c.NegStreams) < 9 {
		t.Fatalf("only %d negative streams", len(c.NegStreams))
	}
	for _, n := range c.NegStreams {
		_, _, err := OpenStream(c.senderContext(t), []byte(n.SSE))
		want := ErrStreamCorrupt
		if strings.HasPrefix(n.Name, "truncated") {
			want = ErrStreamTruncated
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", n.Name, err, want)
		}
	}
}

func refNegativeRequests(t *testing.T, c *refCase) {
	if len(c.NegRequests) < 5 {
		t.Fatalf("only %d negative requests", len(c.NegRequests))
	}
	for _, n := range c.NegRequests {
		body := testenv.Unhex(t, n.Body)
		h, err := ParseHeader(body)
		if err != nil {
			t.Fatalf("%s: ParseHeader: %v", n.Name, err)
		}
		o, err := Open(h, body, testenv.Unhex(t, c.SkR), budget(t))
		if err != ErrEnvelope || o != nil {
			t.Errorf("%s: Open = %v, %v; want ErrEnvelope", n.Name, o, err)
		}
	}
}
