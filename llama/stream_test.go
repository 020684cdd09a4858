package llama

import (
	"errors"
	"slices"
	"testing"
)

func newTestStreamer(stops ...string) *streamer {
	s := &streamer{piece: make([]byte, pieceCap), hold: make([]byte, holdCap), out: make([]byte, outCap)}
	var st [][]byte
	for _, x := range stops {
		st = append(st, []byte(x))
	}
	s.reset(st)
	return s
}

// feed pushes pieces and returns what the sink saw, and whether a stop
// string ended the stream.
func feed(t *testing.T, s *streamer, pieces ...string) ([]string, bool) {
	t.Helper()
	var got []string
	sink := func(p []byte) error { got = append(got, string(p)); return nil }
	for _, p := range pieces {
		stopped, err := s.push([]byte(p), sink)
		if err != nil {
			t.Fatal(err)
		}
		if stopped {
			return got, true
		}
	}
	if err := s.flush(sink); err != nil {
		t.Fatal(err)
	}
	return got, false
}

func TestStreamerUTF8(t *testing.T) {
	got, _ := feed(t, newTestStreamer(), "\xc3", "\xa9t\xc3", "\xa9", "\xe2\x82", "\xac!")
	if want := []string{"ét", "é", "€!"}; !slices.Equal(got, want) {
		t.Errorf("pieces = %q, want %q", got, want)
	}
	got, _ = feed(t, newTestStreamer(), "a\xffb", "\xe2\x82")
	if want := []string{"a\uFFFDb", "\uFFFD\uFFFD"}; !slices.Equal(got, want) {
		t.Errorf("invalid bytes: pieces = %q, want %q", got, want)
	}
}

func TestStreamerStop(t *testing.T) {
	cases := []struct {
		stops   []string
		pieces  []string
		want    []string
		stopped bool
	}{
		{[]string{"girl"}, []string{" little", " g", "ir", "l", " named"}, []string{" little", " "}, true},
		{[]string{"Lily!"}, []string{" Lily", ".", " She"}, []string{" ", "Lily.", " She"}, false},
		{[]string{"xyz", "ed b"}, []string{" r", "ed", " b", "all"}, []string{" r"}, true},
		{[]string{"\n\n"}, []string{"a\n", "b\n", "\n", "c"}, []string{"a", "\nb"}, true},
		{[]string{"é!"}, []string{"caf\xc3", "\xa9", "!"}, []string{"caf"}, true},
		{[]string{"end"}, []string{"the en"}, []string{"the ", "en"}, false},
	}
	for _, c := range cases {
		got, stopped := feed(t, newTestStreamer(c.stops...), c.pieces...)
		if !slices.Equal(got, c.want) || stopped != c.stopped {
			t.Errorf("stops %q pieces %q: got %q stopped=%v, want %q stopped=%v", c.stops, c.pieces, got, stopped, c.want, c.stopped)
		}
	}
}

func TestStreamerSinkError(t *testing.T) {
	s := newTestStreamer()
	boom := errors.New("boom")
	if _, err := s.push([]byte("hi"), func([]byte) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("push = %v, want boom", err)
	}
}
