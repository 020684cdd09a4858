package crypto

import (
	"math"
	"unicode/utf8"
)

// scanner is a minimal JSON tokenizer over a byte slice it may modify: it
// unescapes strings in place, so that their content stays in the caller's
// (locked) memory and never becomes a Go string. It knows only the grammar
// the protocol needs; a failure is reported as a request error code.
type scanner struct {
	b []byte
	i int
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-whitespace byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// eat consumes c after whitespace, reporting whether it was there.
func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// atEnd reports whether only whitespace remains.
func (s *scanner) atEnd() bool {
	s.ws()
	return s.i == len(s.b)
}

// str reads a string, unescapes it in place and returns a view of the
// result. code is CodeJSON for a syntax error or CodeUTF8 for invalid
// UTF-8 (raw, or a lone surrogate in a \u escape).
func (s *scanner) str() (v []byte, code string) {
	if !s.eat('"') {
		return nil, CodeJSON
	}
	start, w, r := s.i, s.i, s.i
	for r < len(s.b) {
		c := s.b[r]
		switch {
		case c == '"':
			s.i = r + 1
			return s.b[start:w], ""
		case c == '\\':
			var ok bool
			if r, w, code, ok = s.unescape(r, w); !ok {
				return nil, code
			}
		case c < 0x20:
			return nil, CodeJSON
		case c < utf8.RuneSelf:
			s.b[w] = c
			r, w = r+1, w+1
		default:
			ch, n := utf8.DecodeRune(s.b[r:])
			if ch == utf8.RuneError && n <= 1 {
				return nil, CodeUTF8
			}
			w += copy(s.b[w:], s.b[r:r+n])
			r += n
		}
	}
	return nil, CodeJSON
}

// unescape decodes the escape at s.b[r] (a backslash) to s.b[w].
func (s *scanner) unescape(r, w int) (int, int, string, bool) {
	if r+1 >= len(s.b) {
		return r, w, CodeJSON, false
	}
	var c byte
	switch s.b[r+1] {
	case '"', '\\', '/':
		c = s.b[r+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		return s.unescapeU(r, w)
	default:
		return r, w, CodeJSON, false
	}
	s.b[w] = c
	return r + 2, w + 1, "", true
}

// unescapeU decodes \uXXXX, or a surrogate pair \uD8XX\uDCXX, as UTF-8.
func (s *scanner) unescapeU(r, w int) (int, int, string, bool) {
	ch, ok := hex4(s.b, r+2)
	if !ok {
		return r, w, CodeJSON, false
	}
	r += 6
	if ch >= 0xDC00 && ch <= 0xDFFF {
		return r, w, CodeUTF8, false
	}
	if ch >= 0xD800 && ch <= 0xDBFF {
		if r+1 >= len(s.b) || s.b[r] != '\\' || s.b[r+1] != 'u' {
			return r, w, CodeUTF8, false
		}
		lo, ok := hex4(s.b, r+2)
		if !ok {
			return r, w, CodeJSON, false
		}
		if lo < 0xDC00 || lo > 0xDFFF {
			return r, w, CodeUTF8, false
		}
		ch = 0x10000 + (ch-0xD800)<<10 + (lo - 0xDC00)
		r += 6
	}
	// The encoding is never longer than the escape it replaces, so it
	// cannot overtake the read position.
	w += utf8.EncodeRune(s.b[w:], ch)
	return r, w, "", true
}

// hex4 parses four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// number reads a JSON number and returns its token; ok is false if the
// next value is not a number.
func (s *scanner) number() (tok []byte, ok bool) {
	s.ws()
	start, i := s.i, s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		i = digits(s.b, i)
	default:
		return nil, false
	}
	if i < len(s.b) && s.b[i] == '.' {
		if j := digits(s.b, i+1); j > i+1 {
			i = j
		} else {
			return nil, false
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		j := digits(s.b, i)
		if j == i {
			return nil, false
		}
		i = j
	}
	s.i = i
	return s.b[start:i], true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// parseUint parses a number token written as a non-negative integer (no
// fraction, no exponent) that fits in a uint64.
func parseUint(tok []byte) (uint64, bool) {
	if len(tok) == 0 || len(tok) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// parseFloat converts a number token (valid JSON grammar) to float64. It
// keeps 19 significant digits, which is ample for parameters checked
// against small ranges; for up to 15 digits and small exponents the result
// is correctly rounded.
func parseFloat(tok []byte) float64 {
	neg := tok[0] == '-'
	if neg {
		tok = tok[1:]
	}
	var mant uint64
	var exp, sig int
	i := 0
	for ; i < len(tok) && tok[i] != '.' && tok[i] != 'e' && tok[i] != 'E'; i++ {
		mant, exp, sig = addDigit(mant, exp, sig, tok[i], false)
	}
	if i < len(tok) && tok[i] == '.' {
		for i++; i < len(tok) && tok[i] != 'e' && tok[i] != 'E'; i++ {
			mant, exp, sig = addDigit(mant, exp, sig, tok[i], true)
		}
	}
	if i < len(tok) {
		exp += parseExp(tok[i+1:])
	}
	v := scale(mant, exp)
	if neg {
		v = -v
	}
	return v
}

// addDigit accumulates one digit of the mantissa; exp counts the decimal
// shift (fraction digits kept: -1, integer digits dropped: +1).
func addDigit(mant uint64, exp, sig int, c byte, frac bool) (uint64, int, int) {
	if mant == 0 && c == '0' {
		if frac {
			exp--
		}
		return mant, exp, sig
	}
	if sig >= 19 {
		if !frac {
			exp++
		}
		return mant, exp, sig
	}
	mant = mant*10 + uint64(c-'0')
	if frac {
		exp--
	}
	return mant, exp, sig + 1
}

// parseExp parses an exponent, saturating at +-10000.
func parseExp(e []byte) int {
	neg := false
	if len(e) > 0 && (e[0] == '+' || e[0] == '-') {
		neg = e[0] == '-'
		e = e[1:]
	}
	v := 0
	for _, c := range e {
		if v < 10000 {
			v = v*10 + int(c-'0')
		}
	}
	if neg {
		return -v
	}
	return v
}

func scale(mant uint64, exp int) float64 {
	switch {
	case mant == 0:
		return 0
	case exp > 400:
		return math.Inf(1)
	case exp < -400:
		return 0
	case exp >= 0:
		return float64(mant) * math.Pow10(exp)
	case exp >= -22 && mant < 1<<53:
		// Both operands are exact, so the quotient is correctly rounded.
		return float64(mant) / math.Pow10(-exp)
	default:
		return float64(mant) * math.Pow10(exp)
	}
}
