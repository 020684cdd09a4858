package crypto

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// shapedFixture seals a shaped stream for a fresh request: text is
// written frame by frame, then the final frame and padding to the bucket.
func shapedFixture(t *testing.T, text string) (sse []byte, sc *SenderContext, frames int) {
	t.Helper()
	body, sc, seed := sealTest(t, SuiteX25519, []byte(`{"messages":[{"role":"user","content":"x"}],"shape":"constant"}`))
	o := openTest(t, body, seed)
	defer o.Destroy()
	ss, err := NewStreamSealer(o, &countReader{}, 0, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	sse = ss.ShapedNonceEvent(nil)
	for rest := []byte(text); len(rest) > 0; {
		var n int
		if sse, n, err = ss.SealFrame(sse, rest); err != nil || n == 0 {
			t.Fatalf("SealFrame took %d bytes: %v", n, err)
		}
		rest = rest[n:]
	}
	if sse, err = ss.SealFinalFrame(sse, Final{Reason: FinishStop, PromptTokens: 3, CompletionTokens: 9}); err != nil {
		t.Fatal(err)
	}
	for ss.Frames() < ShapeFrames(ss.Frames()-1) {
		sse, _, _ = ss.SealFrame(sse, nil)
	}
	return sse, sc, int(ss.Frames())
}

func TestShapedFramesOneSize(t *testing.T) {
	// Escapes, multi-byte runes and a long text: every frame's SSE event
	// has the same length, the text splits at rune boundaries and comes
	// back whole, also when fed one byte at a time.
	text := strings.Repeat("a\"\\\n\x01é☕𝄞", 200)
	sse, sc, frames := shapedFixture(t, text)
	events := strings.Split(strings.TrimSuffix(string(sse), "\n\n"), "\n\n")[1:]
	if len(events) != frames || frames != 32 {
		t.Fatalf("%d events, %d frames; want 32 (the text needs more than 15 frames)", len(events), frames)
	}
	for i, ev := range events {
		if len(ev) != len("data: ")+(FrameCiphertextSize*4+2)/3 {
			t.Fatalf("frame %d: event of %d bytes", i, len(ev))
		}
	}
	got, f, err := OpenShapedStream(sc, sse)
	if err != nil || string(got) != text || f.CompletionTokens != 9 {
		t.Fatalf("opened %q, %+v, %v", got, f, err)
	}
	o := NewStreamOpener(sc)
	o.AcceptShaped()
	var text2 []byte
	for i := range sse {
		_ = o.Feed(sse[i : i+1])
		for {
			c, err := o.Next()
			if err != nil {
				break
			}
			text2 = append(text2, c.Delta...)
		}
	}
	if err := o.End(); err != nil || string(text2) != text || !o.Shaped() {
		t.Fatalf("byte at a time: %v, shaped %v", err, o.Shaped())
	}
}

func TestShapedStreamNeedsConsent(t *testing.T) {
	// A client that did not ask for a shaped stream refuses one: it could
	// not tell its padding frames from a broken stream.
	sse, sc, _ := shapedFixture(t, "hi")
	if _, _, err := OpenStream(sc, sse); !errors.Is(err, ErrStreamCorrupt) {
		t.Fatalf("legacy opener on a shaped stream: %v, want corrupt", err)
	}
}

func TestFramePrefix(t *testing.T) {
	for _, c := range []struct {
		text string
		room int
		want int
	}{
		{"abc", 2, 2},
		{"\"a", 2, 1},
		{"\x01a", 5, 0},
		{"\x01a", 7, 2},
		{"é", 1, 0},
		{"ab☕", 4, 2},
	} {
		if got := framePrefix([]byte(c.text), c.room); got != c.want || !utf8.Valid([]byte(c.text)[:got]) {
			t.Errorf("framePrefix(%q, %d) = %d, want %d", c.text, c.room, got, c.want)
		}
	}
}
