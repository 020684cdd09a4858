package crypto

// ParseRequest parses the inner request JSON in plain, which it modifies:
// strings are unescaped in place and the returned views point into plain,
// so no content is copied out of locked memory or made into a Go string.
//
// The grammar is strict: the top level is one object whose members are
// messages (required), max_tokens, temperature, top_p, top_k, seed, stop
// cache and shape; unknown members are refused (CodeMember) rather than ignored, so a
// client never believes a parameter the server does not implement took
// effect. Errors are *RequestError.
func ParseRequest(plain []byte, lim Limits) (Request, error) {
	lim = lim.withDefaults()
	p := reqParser{s: scanner{b: plain}, lim: lim}
	if err := p.object(); err != nil {
		return Request{}, err
	}
	if !p.s.atEnd() {
		return Request{}, reqErr(CodeTrailing)
	}
	if p.req.Messages == nil {
		return Request{}, reqErr(CodeMessages)
	}
	return p.req, nil
}

type reqParser struct {
	s       scanner
	lim     Limits
	req     Request
	content int // unescaped content bytes so far
}

// Top-level members, as bits for duplicate detection.
const (
	memMessages = 1 << iota
	memMaxTokens
	memTemperature
	memTopP
	memTopK
	memSeed
	memStop
	memCache
	memShape
)

// object parses the top-level object member by member.
func (p *reqParser) object() error {
	if !p.s.eat('{') {
		return reqErr(CodeJSON)
	}
	if p.s.eat('}') {
		return nil
	}
	seen := 0
	for {
		name, code := p.s.str()
		if code != "" {
			return reqErr(code)
		}
		if !p.s.eat(':') {
			return reqErr(CodeJSON)
		}
		bit, err := p.member(name)
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return reqErr(CodeDuplicate)
		}
		seen |= bit
		if p.s.eat('}') {
			return nil
		}
		if !p.s.eat(',') {
			return reqErr(CodeJSON)
		}
	}
}

// member parses the value of the top-level member name and returns its bit.
func (p *reqParser) member(name []byte) (int, error) {
	switch string(name) { // compiled to a comparison, no allocation
	case "messages":
		return memMessages, p.messages()
	case "max_tokens":
		v, err := p.uintIn(1, uint64(p.lim.MaxTokens), CodeMaxTokens)
		p.req.MaxTokens, p.req.HasMaxTokens = int(v), true
		return memMaxTokens, err
	case "temperature":
		v, err := p.floatIn(2, CodeTemperature)
		p.req.Temperature, p.req.HasTemperature = v, true
		return memTemperature, err
	case "top_p":
		v, err := p.floatIn(1, CodeTopP)
		p.req.TopP, p.req.HasTopP = v, true
		return memTopP, err
	case "top_k":
		v, err := p.uintIn(0, 1000, CodeTopK)
		p.req.TopK, p.req.HasTopK = int(v), true
		return memTopK, err
	case "seed":
		v, err := p.uintIn(0, 1<<64-1, CodeSeed)
		p.req.Seed, p.req.HasSeed = v, true
		return memSeed, err
	case "stop":
		return memStop, p.stop()
	case "cache":
		return memCache, p.cache()
	case "shape":
		return memShape, p.shape()
	}
	return 0, reqErr(CodeMember)
}

// uintIn parses an integer in [lo, hi].
func (p *reqParser) uintIn(lo, hi uint64, code string) (uint64, error) {
	tok, ok := p.s.number()
	if !ok {
		return 0, reqErr(code)
	}
	v, ok := parseUint(tok)
	if !ok || v < lo || v > hi {
		return 0, reqErr(code)
	}
	return v, nil
}

// floatIn parses a number in [0, hi].
func (p *reqParser) floatIn(hi float64, code string) (float32, error) {
	tok, ok := p.s.number()
	if !ok || len(tok) > 64 {
		return 0, reqErr(code)
	}
	v := parseFloat(tok)
	if !(v >= 0 && v <= hi) {
		return 0, reqErr(code)
	}
	return float32(v), nil
}

// messages parses the non-empty array of messages.
func (p *reqParser) messages() error {
	if !p.s.eat('[') {
		return reqErr(CodeMessages)
	}
	if p.s.eat(']') {
		return reqErr(CodeMessages)
	}
	p.req.Messages = make([]Message, 0, 8)
	for {
		if len(p.req.Messages) == p.lim.MaxMessages {
			return reqErr(CodeMessages)
		}
		m, err := p.message()
		if err != nil {
			return err
		}
		p.req.Messages = append(p.req.Messages, m)
		if p.s.eat(']') {
			return nil
		}
		if !p.s.eat(',') {
			return reqErr(CodeJSON)
		}
	}
}

// message parses {"role": ..., "content": ...}, both required.
func (p *reqParser) message() (Message, error) {
	var m Message
	if !p.s.eat('{') {
		return m, reqErr(CodeMessages)
	}
	seen := 0
	for !p.s.eat('}') {
		if seen != 0 && !p.s.eat(',') {
			return m, reqErr(CodeJSON)
		}
		name, code := p.s.str()
		if code != "" {
			return m, reqErr(code)
		}
		if !p.s.eat(':') {
			return m, reqErr(CodeJSON)
		}
		bit, err := p.messageMember(name, &m)
		if err != nil {
			return m, err
		}
		if seen&bit != 0 {
			return m, reqErr(CodeDuplicate)
		}
		seen |= bit
	}
	if seen != 3 {
		return m, reqErr(CodeMessages)
	}
	return m, nil
}

func (p *reqParser) messageMember(name []byte, m *Message) (int, error) {
	switch string(name) {
	case "role":
		if p.s.peek() != '"' {
			return 0, reqErr(CodeRole)
		}
		v, code := p.s.str()
		if code != "" {
			return 0, reqErr(code)
		}
		m.Role = parseRole(v)
		if m.Role == 0 {
			return 0, reqErr(CodeRole)
		}
		return 1, nil
	case "content":
		if p.s.peek() != '"' {
			return 0, reqErr(CodeContent)
		}
		v, code := p.s.str()
		if code != "" {
			return 0, reqErr(code)
		}
		p.content += len(v)
		if p.content > p.lim.MaxContentBytes {
			return 0, reqErr(CodeContent)
		}
		m.Content = v
		return 2, nil
	}
	return 0, reqErr(CodeMember)
}

func parseRole(v []byte) Role {
	switch string(v) {
	case "system":
		return RoleSystem
	case "user":
		return RoleUser
	case "assistant":
		return RoleAssistant
	}
	return 0
}

// stop parses an array of non-empty strings.
func (p *reqParser) stop() error {
	if !p.s.eat('[') {
		return reqErr(CodeStop)
	}
	p.req.Stop = [][]byte{}
	if p.s.eat(']') {
		return nil
	}
	for {
		if len(p.req.Stop) == p.lim.MaxStop || p.s.peek() != '"' {
			return reqErr(CodeStop)
		}
		v, code := p.s.str()
		if code != "" {
			return reqErr(code)
		}
		if len(v) == 0 || len(v) > p.lim.MaxStopBytes {
			return reqErr(CodeStop)
		}
		p.req.Stop = append(p.req.Stop, v)
		if p.s.eat(']') {
			return nil
		}
		if !p.s.eat(',') {
			return reqErr(CodeJSON)
		}
	}
}
