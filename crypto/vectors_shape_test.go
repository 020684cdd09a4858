package crypto

import (
	"bytes"
	"strings"
	"testing"
)

// vecShaped is a shaped stream (protocol section 5.5) on the first case's
// request: its frames of every kind, the SSE text, and refused variants.
type vecShaped struct {
	FramePlaintextSize  int            `json:"frame_plaintext_size"`
	FrameCiphertextSize int            `json:"frame_ciphertext_size"`
	AAD                 string         `json:"aad"`
	Buckets             [][2]uint64    `json:"buckets"` // [final frame index, frames in the stream]
	ResponseNonce       string         `json:"response_nonce"`
	Key                 string         `json:"key"`
	Nonce               string         `json:"nonce"`
	Frames              []vecFrame     `json:"frames"`
	SSE                 string         `json:"sse"`
	ReplyText           string         `json:"reply_text"`
	FinalJSON           string         `json:"final_json"`
	Negative            []vecNegStream `json:"negative_streams"`
}

type vecFrame struct {
	I               uint64 `json:"i"`
	Kind            string `json:"kind"` // padding | delta | final
	PlaintextJSON   string `json:"plaintext_json"`
	PlaintextPadded string `json:"plaintext_padded"`
	NonceI          string `json:"nonce_i"`
	CT              string `json:"ct"`
	SSEEvent        string `json:"sse_event"`
}

// shapedScript is the vector's stream: padding while the prompt is
// processed, deltas, a padding frame between tokens, the final frame, and
// padding to the end of the 16-frame bucket.
var shapedScript = []string{"", "", "Oui", ", café ☕", "", "\n\"done\""}

func genShaped(t *testing.T, spec caseSpec, o *Opened, sc *SenderContext) *vecShaped {
	rn := vecSeed(spec.name+" shaped response_nonce", ResponseNonceSize)
	ss, err := NewStreamSealer(o, fixedReader(rn), 0, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	_, key, nonce, _ := responseKeyMaterial(o.Enc(), rn, o.exporterSecret())
	v := &vecShaped{FramePlaintextSize: FramePlaintextSize, FrameCiphertextSize: FrameCiphertextSize,
		AAD: hx(aadShaped), ResponseNonce: hx(rn), Key: hx(key), Nonce: hx(nonce), FinalJSON: finalJSON(spec.final)}
	for _, f := range []uint64{0, 15, 16, 31, 32, 100} {
		v.Buckets = append(v.Buckets, [2]uint64{f, ShapeFrames(f)})
	}
	sse := ss.ShapedNonceEvent(nil)
	var events []string
	add := func(kind, js string, ev []byte) {
		v.Frames = append(v.Frames, genFrame(t, ss, kind, js, ev))
		events = append(events, string(ev))
	}
	for _, d := range shapedScript {
		ev, n, err := ss.SealFrame(nil, []byte(d))
		if err != nil || n != len(d) {
			t.Fatalf("shaped frame: %d of %d bytes, %v", n, len(d), err)
		}
		kind, js := "padding", ""
		if d != "" {
			kind, js = "delta", deltaJSON(d)
			v.ReplyText += d
		}
		add(kind, js, ev)
	}
	ev, err := ss.SealFinalFrame(nil, spec.final)
	if err != nil {
		t.Fatal(err)
	}
	add("final", v.FinalJSON, ev)
	for ss.Frames() < ShapeFrames(uint64(len(shapedScript))) {
		ev, _, _ := ss.SealFrame(nil, nil)
		add("padding", "", ev)
	}
	v.SSE = string(sse) + strings.Join(events, "")
	text, f, err := OpenShapedStream(sc, []byte(v.SSE))
	if err != nil || string(text) != v.ReplyText || finalJSON(f) != v.FinalJSON {
		t.Fatalf("shaped vector does not open: %v", err)
	}
	v.Negative = genShapedNegatives(t, ss, string(sse), events, sc)
	return v
}

func deltaJSON(d string) string {
	var b bytes.Buffer
	b.WriteString(`{"delta":"`)
	buf := make([]byte, 6*len(d))
	b.Write(buf[:appendEscaped(buf, 0, []byte(d))])
	b.WriteString(`"}`)
	return b.String()
}

func genFrame(t *testing.T, ss *StreamSealer, kind, js string, ev []byte) vecFrame {
	i := ss.i - 1
	n := chunkNonce(&ss.nonce, i)
	padded := append([]byte(js), make([]byte, FramePlaintextSize-len(js))...)
	ct := ss.aead.Seal(nil, n[:], padded, aadShaped)
	if string(ev) != "data: "+b64(ct)+"\n\n" {
		t.Fatalf("frame %d: the sealer's event is not the expected frame", i)
	}
	return vecFrame{I: i, Kind: kind, PlaintextJSON: js, PlaintextPadded: hx(padded), NonceI: hx(n[:]), CT: hx(ct), SSEEvent: string(ev)}
}

// forgeFrame seals plaintext (padded with zeros to size) as frame i with
// the stream's real keys: what a buggy or hostile server could send.
func forgeFrame(ss *StreamSealer, i uint64, plaintext string, size int) string {
	n := chunkNonce(&ss.nonce, i)
	pt := append([]byte(plaintext), make([]byte, size-len(plaintext))...)
	return "data: " + b64(ss.aead.Seal(nil, n[:], pt, aadShaped)) + "\n\n"
}

func genShapedNegatives(t *testing.T, ss *StreamSealer, nonce string, ev []string, sc *SenderContext) []vecNegStream {
	j := func(parts []string) string { return nonce + strings.Join(parts, "") }
	fin := len(shapedScript) // the final frame's index
	with := func(i int, frame string) string {
		c := append([]string(nil), ev...)
		c[i] = frame
		return j(c)
	}
	moved := append([]string(nil), ev...)
	moved[fin], moved[fin+1] = moved[fin+1], moved[fin]
	negs := []vecNegStream{
		{"truncated-before-final", j(ev[:fin]), "truncated"},
		{"truncated-after-final", j(ev[:fin+3]), "truncated"},
		{"final-dropped", j(append(append([]string(nil), ev[:fin]...), ev[fin+1:]...)), "corrupt"},
		{"final-dropped-and-rest", j(ev[:fin]), "truncated"},
		{"final-moved", j(moved), "corrupt"},
		{"frame-after-bucket", j(append(append([]string(nil), ev...), forgeFrame(ss, uint64(len(ev)), "", FramePlaintextSize))), "corrupt"},
		{"padding-not-zero", with(0, forgeFrame(ss, 0, "\x00\x00\x01", FramePlaintextSize)), "corrupt"},
		{"padding-empty-object", with(0, forgeFrame(ss, 0, "{}", FramePlaintextSize)), "corrupt"},
		{"padding-short", with(0, forgeFrame(ss, 0, "", FramePlaintextSize-1)), "corrupt"},
		{"padding-long", with(0, forgeFrame(ss, 0, "", FramePlaintextSize+64)), "corrupt"},
		{"delta-after-final", with(fin+1, forgeFrame(ss, uint64(fin+1), `{"delta":"x"}`, FramePlaintextSize)), "corrupt"},
		{"empty-delta", with(0, forgeFrame(ss, 0, `{"delta":""}`, FramePlaintextSize)), "corrupt"},
		{"frame-with-id", with(0, "id: 0\n"+ev[0]), "corrupt"},
		{"final-with-event-type", with(fin, "event: final\n"+ev[fin]), "corrupt"},
		{"legacy-nonce-event", strings.Replace(j(ev), "event: "+EventNonceShaped, "event: nonce", 1), "corrupt"},
	}
	for _, n := range negs {
		if _, _, err := OpenShapedStream(sc, []byte(n.SSE)); errClass(err) != n.Error {
			t.Fatalf("negative shaped stream %s: %v", n.Name, err)
		}
	}
	return negs
}
