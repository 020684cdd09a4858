package crypto

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sottolabs/sotto/internal/locked"
)

// newStream opens a fresh request of suite s and returns a sealer for its
// response and the client's sender context.
func newStream(t testing.TB, s Suite, quantum int) (*StreamSealer, *SenderContext) {
	t.Helper()
	body, sc, seed := sealTest(t, s, innerHello)
	o := openTest(t, body, seed)
	t.Cleanup(o.Destroy)
	ss, err := NewStreamSealer(o, &countReader{n: byte(quantum)}, quantum, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ss.Close)
	return ss, sc
}

var longText = strings.Repeat("é", 5000) // 10000 bytes: split into 3 chunks

var deltas = []string{"Hello", ", \"Zoë\"\n", "\x00\x01\x1f\x7f tab\t\\", "👋", longText}

// sealAll seals deltas and a final chunk, returning the SSE text and its
// events (each ending in a blank line).
func sealAll(t testing.TB, ss *StreamSealer, ds []string, f Final) (sse []byte, events []string) {
	t.Helper()
	sse = ss.NonceEvent(nil)
	events = append(events, string(sse))
	for _, d := range ds {
		n := len(sse)
		var err error
		if sse, err = ss.SealDelta(sse, []byte(d)); err != nil {
			t.Fatal(err)
		}
		for _, ev := range strings.SplitAfter(string(sse[n:]), "\n\n") {
			if ev != "" {
				events = append(events, ev)
			}
		}
	}
	n := len(sse)
	sse, err := ss.SealFinal(sse, f)
	if err != nil {
		t.Fatal(err)
	}
	return sse, append(events, string(sse[n:]))
}

var finalStop = Final{Reason: FinishStop, PromptTokens: 12, CompletionTokens: 345}

func TestStreamRoundTrip(t *testing.T) {
	for _, s := range allSuites {
		for _, q := range []int{1, 64, 4096} {
			ss, sc := newStream(t, s, q)
			sse, events := sealAll(t, ss, deltas, finalStop)
			if len(events) != 1+4+3+1 {
				t.Fatalf("%d events", len(events))
			}
			text, f, err := OpenStream(sc, sse)
			if err != nil || string(text) != strings.Join(deltas, "") || f != finalStop {
				t.Fatalf("%v q%d: %q, %+v, %v", s, q, text, f, err)
			}
			checkChunkSizes(t, events[1:], q)
		}
	}
}

// checkChunkSizes checks that every chunk's ciphertext is a multiple of
// the quantum plus the tag: chunk sizes reveal only their bucket.
func checkChunkSizes(t *testing.T, events []string, q int) {
	for _, ev := range events {
		data := ev[strings.Index(ev, "data: ")+6 : len(ev)-2]
		n := len(data) * 6 / 8
		if (n-Nt)%q != 0 || n <= Nt {
			t.Fatalf("quantum %d: chunk of %d bytes", q, n)
		}
	}
}

func TestStreamFinalOnly(t *testing.T) {
	ss, sc := newStream(t, SuiteX25519, 0)
	f := Final{Reason: FinishError, PromptTokens: 1, ErrorCode: "model_unavailable"}
	sse, _ := sealAll(t, ss, nil, f)
	if !bytes.Contains(sse, []byte("\n\nid: 0\nevent: final\ndata: ")) {
		t.Fatalf("sse = %q", sse)
	}
	text, got, err := OpenStream(sc, append(sse, ": ka\n\n:\n"...))
	if err != nil || len(text) != 0 || got != f {
		t.Fatalf("%q, %+v, %v", text, got, err)
	}
}

func TestStreamSealerErrors(t *testing.T) {
	ss, _ := newStream(t, SuiteX25519, 64)
	if _, err := ss.SealDelta(nil, nil); err != ErrEmptyDelta {
		t.Errorf("empty: %v", err)
	}
	if _, err := ss.SealDelta(nil, []byte("Zo\xc3")); err != ErrDeltaUTF8 {
		t.Errorf("split rune: %v", err)
	}
	bad := []Final{
		{Reason: "done"},
		{Reason: FinishError},
		{Reason: FinishError, ErrorCode: "Bad"},
		{Reason: FinishError, ErrorCode: strings.Repeat("a", 65)},
		{Reason: FinishStop, ErrorCode: "x"},
		{Reason: FinishLength, PromptTokens: -1},
	}
	for _, f := range bad {
		if dst, err := ss.SealFinal([]byte("x"), f); !errors.Is(err, ErrFinal) || string(dst) != "x" {
			t.Errorf("%+v: %v", f, err)
		}
	}
	if _, err := ss.SealFinal(nil, finalStop); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.SealDelta(nil, []byte("x")); err != ErrStreamClosed {
		t.Errorf("delta after final: %v", err)
	}
	if _, err := ss.SealFinal(nil, finalStop); err != ErrStreamClosed {
		t.Errorf("final after final: %v", err)
	}
	body, _, seed := sealTest(t, SuiteX25519, innerHello)
	o := openTest(t, body, seed)
	defer o.Destroy()
	for _, q := range []int{-1, MaxPadQuantum + 1} {
		if _, err := NewStreamSealer(o, &countReader{}, q, budget(t)); err != ErrPadQuantum {
			t.Errorf("quantum %d: %v", q, err)
		}
	}
	if _, err := NewStreamSealer(o, &countReader{}, 64, locked.NewBudget(0)); err != ErrOverloaded {
		t.Errorf("empty budget: %v", err)
	}
	if _, err := NewStreamSealer(o, iotest.ErrReader(io.ErrUnexpectedEOF), 64, budget(t)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("failing rand: %v", err)
	}
}

func TestSealDeltaAllocs(t *testing.T) {
	ss, _ := newStream(t, SuiteX25519, 64)
	dst := make([]byte, 0, 1<<16)
	text := []byte("token ")
	allocs := testing.AllocsPerRun(100, func() {
		dst, _ = ss.SealDelta(dst[:0], text)
	})
	if allocs != 0 {
		t.Fatalf("SealDelta: %v allocs per call", allocs)
	}
}

// rawChunk seals an arbitrary plaintext as chunk i of ss's stream.
func rawChunk(ss *StreamSealer, pt string, final bool) string {
	n := copy(ss.scratch.Bytes(), pt)
	return string(ss.sealChunk(nil, n, final))
}

func TestStreamOpenerRefusals(t *testing.T) {
	ss, sc := newStream(t, SuiteX25519, 64)
	_, ev := sealAll(t, ss, []string{"a", "b", "c"}, finalStop) // nonce, 0, 1, 2, final 3
	other, _ := NewStreamSealer(&Opened{suite: SuiteX25519, enc: sc.enc, buf: mustSecret(t, sc)}, &countReader{n: 99}, 64, budget(t))
	defer other.Close()
	_, oev := sealAll(t, other, []string{"a", "b", "c"}, finalStop)
	ss2 := otherRequestSealer(t, sc)
	_, xev := sealAll(t, ss2, []string{"a", "b", "c"}, finalStop)
	j := func(parts ...string) string { return strings.Join(parts, "") }
	fresh := func() *StreamSealer { // a sealer with ev's keys at chunk 0
		s := &StreamSealer{aead: ss.aead, nonce: ss.nonce, quantum: 64, scratch: ss.scratch}
		return s
	}
	at := func(i uint64) *StreamSealer { s := fresh(); s.i = i; return s }
	corrupt := map[string]string{
		"no nonce":            j(ev[1], ev[2], ev[3], ev[4]),
		"nonce twice":         j(ev[0], ev[0], ev[1], ev[2], ev[3], ev[4]),
		"nonce 31 bytes":      j("event: nonce\ndata: "+strings.Repeat("A", 41)+"\n\n", ev[1]),
		"nonce 33 bytes":      j("event: nonce\ndata: "+strings.Repeat("A", 44)+"\n\n", ev[1]),
		"nonce with id":       j("id: 0\n", ev[0]),
		"nonce of other":      j(oev[0], ev[1], ev[2], ev[3], ev[4]),
		"reordered":           j(ev[0], ev[2], ev[1], ev[3], ev[4]),
		"dropped":             j(ev[0], ev[1], ev[3], ev[4]),
		"duplicated":          j(ev[0], ev[1], ev[1], ev[2], ev[3], ev[4]),
		"spliced response":    j(ev[0], ev[1], oev[2], ev[3], ev[4]),
		"spliced request":     j(ev[0], ev[1], xev[2], ev[3], ev[4]),
		"after final":         j(ev[0], ev[1], ev[2], ev[3], ev[4], ev[1]),
		"final twice":         j(ev[0], ev[1], ev[2], ev[3], ev[4], ev[4]),
		"final unmarked":      j(ev[0], ev[1], ev[2], ev[3], strings.Replace(ev[4], "event: final\n", "", 1)),
		"delta marked final":  j(ev[0], strings.Replace(ev[1], "\ndata", "\nevent: final\ndata", 1)),
		"id leading zero":     j(ev[0], "id: 00\n"+ev[1][6:]),
		"id wrong":            j(ev[0], strings.Replace(ev[1], "id: 0", "id: 1", 1)),
		"unknown event":       j(ev[0], strings.Replace(ev[1], "\ndata", "\nevent: delta\ndata", 1)),
		"two data lines":      j(ev[0], strings.Replace(ev[1], "\n\n", "\ndata: AAAA\n\n", 1)),
		"no data":             j(ev[0], "id: 0\n\n"),
		"bad base64":          j(ev[0], "data: ***\n\n"),
		"short ct":            j(ev[0], "data: AAAA\n\n"),
		"padded base64":       j(ev[0], strings.Replace(ev[1], "\n\n", "==\n\n", 1)),
		"empty delta":         j(ev[0], rawChunk(at(0), `{"delta":""}`, false)),
		"empty chunk":         j(ev[0], rawChunk(at(0), ``, false)),
		"delta not string":    j(ev[0], rawChunk(at(0), `{"delta":1}`, false)),
		"delta extra member":  j(ev[0], rawChunk(at(0), `{"delta":"x","n":1}`, false)),
		"delta bad utf8":      j(ev[0], rawChunk(at(0), "{\"delta\":\"\xff\"}", false)),
		"delta lone surr":     j(ev[0], rawChunk(at(0), `{"delta":"\udc00"}`, false)),
		"delta trailing":      j(ev[0], rawChunk(at(0), `{"delta":"x"}x`, false)),
		"final no usage":      j(ev[0], rawChunk(at(0), `{"finish_reason":"stop"}`, true)),
		"final bad reason":    j(ev[0], rawChunk(at(0), `{"finish_reason":"done","usage":{"prompt_tokens":1,"completion_tokens":1}}`, true)),
		"final error no code": j(ev[0], rawChunk(at(0), `{"finish_reason":"error","usage":{"prompt_tokens":1,"completion_tokens":1}}`, true)),
		"final stop w/ error": j(ev[0], rawChunk(at(0), `{"finish_reason":"stop","usage":{"prompt_tokens":1,"completion_tokens":1},"error":{"code":"x"}}`, true)),
		"final usage dup":     j(ev[0], rawChunk(at(0), `{"finish_reason":"stop","usage":{"prompt_tokens":1,"prompt_tokens":1}}`, true)),
		"final neg tokens":    j(ev[0], rawChunk(at(0), `{"finish_reason":"stop","usage":{"prompt_tokens":-1,"completion_tokens":1}}`, true)),
		"final as delta":      j(ev[0], rawChunk(at(0), `{"finish_reason":"stop","usage":{"prompt_tokens":1,"completion_tokens":1}}`, false)),
		"garbage after":       j(ev[0], ev[1], ev[2], ev[3], ev[4], "data"),
	}
	for name, sse := range corrupt {
		if _, _, err := OpenStream(sc, []byte(sse)); !errors.Is(err, ErrStreamCorrupt) {
			t.Errorf("%s: err = %v, want ErrStreamCorrupt", name, err)
		}
	}
	ok := j(ev[0], ": ka\n\n", ev[1], ev[2], ev[3], ev[4], ": ka\n\n")
	if text, _, err := OpenStream(sc, []byte(ok)); err != nil || string(text) != "abc" {
		t.Errorf("keep-alives: %q, %v", text, err)
	}
	noIDs := j(ev[0], ev[1][6:], ev[2][6:], ev[3][6:], ev[4][6:])
	if text, _, err := OpenStream(sc, []byte(noIDs)); err != nil || string(text) != "abc" {
		t.Errorf("without ids: %q, %v", text, err)
	}
	message := j(ev[0], strings.Replace(ev[1], "\ndata", "\nevent: message\ndata", 1), ev[2], ev[3], ev[4])
	if text, _, err := OpenStream(sc, []byte(message)); err != nil || string(text) != "abc" {
		t.Errorf("event: message: %q, %v", text, err)
	}
	// Every proper prefix of a stream is truncated.
	full := j(ev...)
	for i := range len(full) {
		if _, _, err := OpenStream(sc, []byte(full[:i])); !errors.Is(err, ErrStreamTruncated) {
			t.Fatalf("prefix of %d bytes: err = %v", i, err)
		}
	}
}

func mustSecret(t *testing.T, sc *SenderContext) *locked.Buffer {
	b, err := budget(t).Alloc(Nh)
	if err != nil {
		t.Fatal(err)
	}
	copy(b.Bytes(), sc.secret[:])
	t.Cleanup(b.Destroy)
	return b
}

// TestStreamBitFlips flips one bit in every byte of a stream. Each must be
// refused, except flips that merely rename an optional "id" field (which
// then is ignored as unknown): those must yield the identical reply.
// The test relies on every id line being followed by more fields.
func TestStreamBitFlips(t *testing.T) {
	for _, s := range allSuites {
		ss, sc := newStream(t, s, 64)
		sse, _ := sealAll(t, ss, []string{"one", "two"}, finalStop)
		want, wantF, _ := OpenStream(sc, sse)
		for i := range sse {
			b := bytes.Clone(sse)
			b[i] ^= 0x01
			text, f, err := OpenStream(sc, b)
			if err == nil {
				ls := bytes.LastIndexByte(sse[:i], '\n') + 1
				idName := bytes.HasPrefix(sse[ls:], []byte("id: ")) && i < ls+3
				if !idName || !bytes.Equal(text, want) || f != wantF {
					t.Fatalf("%v: flip at %d (%q) accepted", s, i, sse[i])
				}
				continue
			}
			if !errors.Is(err, ErrStreamCorrupt) && !errors.Is(err, ErrStreamTruncated) {
				t.Fatalf("%v: flip at %d: err %v", s, i, err)
			}
		}
	}
}

func TestReadStream(t *testing.T) {
	ss, sc := newStream(t, SuiteXWing, 64)
	sse, _ := sealAll(t, ss, deltas, finalStop)
	var got []byte
	var final *Final
	err := ReadStream(sc, iotest.OneByteReader(bytes.NewReader(sse)), func(c Chunk) error {
		if final != nil {
			t.Fatal("chunk after final")
		}
		got, final = append(got, c.Delta...), c.Final
		return nil
	})
	if err != nil || string(got) != strings.Join(deltas, "") || final == nil || *final != finalStop {
		t.Fatalf("ReadStream: %q, %v, %v", got, final, err)
	}
	err = ReadStream(sc, bytes.NewReader(sse[:len(sse)-1]), func(Chunk) error { return nil })
	if !errors.Is(err, ErrStreamTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	err = ReadStream(sc, iotest.TimeoutReader(bytes.NewReader(sse)), func(Chunk) error { return nil })
	if !errors.Is(err, ErrStreamTruncated) || !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("read error: %v", err)
	}
	stop := errors.New("stop")
	if err := ReadStream(sc, bytes.NewReader(sse), func(Chunk) error { return stop }); err != stop {
		t.Fatalf("yield error: %v", err)
	}
}

// otherRequestSealer returns a sealer for a different request to the same
// key as sc's (fresh ephemeral key), to splice its chunks.
func otherRequestSealer(t *testing.T, sc *SenderContext) *StreamSealer {
	pub, seed := testKey(t, sc.suite)
	body, sc2, err := Seal(sc.suite, 7, pub, innerHello, 1767225600123, [16]byte{1, 2, 3}, nil)
	if err != nil || bytes.Equal(sc2.Enc(), sc.Enc()) {
		t.Fatalf("second request: %v", err)
	}
	o := openTest(t, body, seed)
	t.Cleanup(o.Destroy)
	ss, err := NewStreamSealer(o, &countReader{n: 64}, 64, budget(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ss.Close)
	return ss
}
