package llama

import (
	"bytes"
	"unicode/utf8"
)

// pieceCap is the largest token piece we render; llama.cpp vocabularies
// have pieces of at most a few hundred bytes.
const pieceCap = 512

// holdCap bounds the text held back: an unfinished stop-string prefix
// (< MaxStopLen) plus an incomplete UTF-8 sequence (< 4), plus one piece.
const holdCap = MaxStopLen + utf8.UTFMax + pieceCap

// outCap holds a sanitized flush of the held text: every invalid byte may
// become a 3-byte U+FFFD.
const outCap = 3 * holdCap

// streamer turns token pieces into sink calls that are valid UTF-8 and
// never contain, or end in the beginning of, a stop string. Its buffers
// are views into the slot's locked scratch; it is used by the scheduler
// goroutine only.
type streamer struct {
	piece []byte // token text from llama_token_to_piece (pieceCap)
	hold  []byte // pending text, backing array of holdCap
	out   []byte // sanitized text handed to the sink (outCap)
	n     int    // bytes pending in hold
	stops [][]byte
}

// reset prepares for a new request, wiping what the last one left.
func (s *streamer) reset(stops [][]byte) {
	clear(s.hold[:s.n])
	s.n = 0
	s.stops = stops
}

// push appends a piece and emits what is safe. It reports whether a stop
// string was found (the text before it is emitted, the rest dropped).
func (s *streamer) push(piece []byte, sink Sink) (stopped bool, err error) {
	s.n += copy(s.hold[s.n:], piece)
	pending := s.hold[:s.n]
	if at := s.firstStop(pending); at >= 0 {
		err = s.emit(pending[:at], sink)
		s.consume(s.n)
		return true, err
	}
	safe := s.n - s.heldTail(pending)
	if safe == 0 {
		return false, nil
	}
	err = s.emit(pending[:safe], sink)
	s.consume(safe)
	return false, err
}

// flush emits everything still held (at the end of a generation); an
// incomplete UTF-8 tail becomes U+FFFD.
func (s *streamer) flush(sink Sink) error {
	err := s.emit(s.hold[:s.n], sink)
	s.consume(s.n)
	return err
}

// firstStop returns the index of the earliest stop string in p, or -1.
func (s *streamer) firstStop(p []byte) int {
	at := -1
	for _, st := range s.stops {
		if i := bytes.Index(p, st); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

// heldTail is how many trailing bytes of p must wait: the longest suffix
// that starts a stop string, or an incomplete UTF-8 sequence.
func (s *streamer) heldTail(p []byte) int {
	hold := 0
	for _, st := range s.stops {
		for k := min(len(st)-1, len(p)); k > hold; k-- {
			if bytes.HasSuffix(p, st[:k]) {
				hold = k
				break
			}
		}
	}
	return max(hold, incompleteUTF8(p))
}

// incompleteUTF8 returns the length of a valid but unfinished UTF-8
// sequence at the end of p (0 if none).
func incompleteUTF8(p []byte) int {
	for k := 1; k <= min(utf8.UTFMax-1, len(p)); k++ {
		c := p[len(p)-k]
		if utf8.RuneStart(c) {
			if utf8.FullRune(p[len(p)-k:]) {
				return 0
			}
			return k
		}
	}
	return 0
}

// consume drops the first k pending bytes, wiping the vacated tail.
func (s *streamer) consume(k int) {
	rest := copy(s.hold, s.hold[k:s.n])
	clear(s.hold[rest:s.n])
	s.n = rest
}

// emit sanitizes p into out (invalid bytes become U+FFFD), calls the sink
// and wipes out.
func (s *streamer) emit(p []byte, sink Sink) error {
	if len(p) == 0 {
		return nil
	}
	o := 0
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			o += utf8.EncodeRune(s.out[o:], utf8.RuneError)
		} else {
			o += copy(s.out[o:], p[:size])
		}
		p = p[size:]
	}
	err := sink(s.out[:o])
	clear(s.out[:o])
	return err
}
