package crypto

import "bytes"

// sseEvent is one dispatched Server-Sent Event, with the fields the
// protocol uses. Values are copies owned by the parser.
type sseEvent struct {
	name   []byte
	id     []byte
	hasID  bool
	data   []byte
	ndata  int
	fields bool // an event, id or data field was seen
}

func (e *sseEvent) reset() {
	e.name, e.id, e.data = e.name[:0], e.id[:0], e.data[:0]
	e.hasID, e.ndata, e.fields = false, 0, false
}

// sseParser splits an SSE byte stream into events incrementally (WHATWG
// HTML, "Interpreting an event stream"): lines end in CR, LF or CRLF; a
// blank line dispatches the event; lines starting with ':' are comments;
// one space after the field's colon is dropped; unknown fields (retry, and
// others) are ignored.
type sseParser struct {
	buf    []byte // unparsed input
	ev     sseEvent
	skipLF bool // the last line ended in CR: an LF right after it is part of that CRLF
}

func (p *sseParser) feed(b []byte) { p.buf = append(p.buf, b...) }

// next returns the next complete event; ok is false when the buffered
// input holds no further complete event.
func (p *sseParser) next() (ev *sseEvent, ok bool) {
	for {
		if p.skipLF && len(p.buf) > 0 {
			if p.buf[0] == '\n' {
				p.buf = p.buf[1:]
			}
			p.skipLF = false
		}
		line, rest, endCR, found := cutLine(p.buf)
		if !found {
			return nil, false
		}
		p.buf, p.skipLF = rest, endCR
		if len(line) == 0 {
			if p.ev.fields {
				return &p.ev, true
			}
			continue
		}
		p.field(line)
	}
}

// field applies one non-empty line to the event being built.
func (p *sseParser) field(line []byte) {
	if line[0] == ':' {
		return
	}
	name, value, found := bytes.Cut(line, []byte{':'})
	if found && len(value) > 0 && value[0] == ' ' {
		value = value[1:]
	}
	switch string(name) {
	case "event":
		p.ev.name = append(p.ev.name[:0], value...)
	case "data":
		p.ev.data = append(p.ev.data, value...)
		p.ev.ndata++
	case "id":
		p.ev.id = append(p.ev.id[:0], value...)
		p.ev.hasID = true
	default:
		return
	}
	p.ev.fields = true
}

// pending reports whether a started but undispatched event, or a partial
// line other than a comment, remains.
func (p *sseParser) pending() bool {
	return p.ev.fields || (len(p.buf) > 0 && p.buf[0] != ':' && p.buf[0] != '\r' && p.buf[0] != '\n')
}

// cutLine splits the first line off b. endCR reports a line that ended in
// a CR at the very end of b, whose LF (if any) has not arrived yet.
func cutLine(b []byte) (line, rest []byte, endCR, found bool) {
	i := bytes.IndexAny(b, "\r\n")
	switch {
	case i < 0:
		return nil, b, false, false
	case b[i] == '\n':
		return b[:i], b[i+1:], false, true
	case i+1 == len(b):
		return b[:i], b[i+1:], true, true
	case b[i+1] == '\n':
		return b[:i], b[i+2:], false, true
	}
	return b[:i], b[i+1:], false, true
}
