package crypto

const hexDigits = "0123456789abcdef"

// appendEscaped writes text (valid UTF-8) JSON-escaped into buf at w and
// returns the new offset. It escapes only what JSON requires: '"', '\' and
// the control characters below 0x20 (short forms where JSON has them). buf
// must have room for 6 bytes per input byte.
func appendEscaped(buf []byte, w int, text []byte) int {
	for _, c := range text {
		switch {
		case c == '"' || c == '\\':
			buf[w], buf[w+1] = '\\', c
			w += 2
		case c >= 0x20:
			buf[w] = c
			w++
		default:
			w = escapeControl(buf, w, c)
		}
	}
	return w
}

func escapeControl(buf []byte, w int, c byte) int {
	var short byte
	switch c {
	case '\n':
		short = 'n'
	case '\r':
		short = 'r'
	case '\t':
		short = 't'
	case '\b':
		short = 'b'
	case '\f':
		short = 'f'
	}
	if short != 0 {
		buf[w], buf[w+1] = '\\', short
		return w + 2
	}
	copy(buf[w:], `\u00`)
	buf[w+4], buf[w+5] = hexDigits[c>>4], hexDigits[c&0xf]
	return w + 6
}
