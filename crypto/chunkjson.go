package crypto

// parseDelta parses a non-final chunk's JSON, exactly {"delta":"<text>"}
// with a non-empty text, and returns the unescaped text (in place in pt).
func parseDelta(pt []byte) ([]byte, bool) {
	s := scanner{b: pt}
	if !s.eat('{') {
		return nil, false
	}
	name, code := s.str()
	if code != "" || string(name) != "delta" || !s.eat(':') {
		return nil, false
	}
	text, code := s.str()
	if code != "" || len(text) == 0 || !s.eat('}') || !s.atEnd() {
		return nil, false
	}
	return text, true
}

// parseFinal parses a final chunk's JSON: finish_reason, usage
// {prompt_tokens, completion_tokens} and, exactly when finish_reason is
// "error", error {code}. Unknown and duplicate members are refused.
func parseFinal(pt []byte) (Final, bool) {
	var f Final
	s := scanner{b: pt}
	seen := 0
	if !s.eat('{') {
		return f, false
	}
	for !s.eat('}') {
		if seen != 0 && !s.eat(',') {
			return f, false
		}
		name, code := s.str()
		if code != "" || !s.eat(':') {
			return f, false
		}
		bit, ok := finalMember(&s, name, &f)
		if !ok || seen&bit != 0 {
			return f, false
		}
		seen |= bit
	}
	wantErr := f.Reason == FinishError
	if !s.atEnd() || seen&3 != 3 || (seen&4 != 0) != wantErr {
		return f, false
	}
	return f, f.validate() == nil
}

func finalMember(s *scanner, name []byte, f *Final) (int, bool) {
	switch string(name) {
	case "finish_reason":
		v, code := s.str()
		f.Reason = finishReason(v)
		return 1, code == "" && f.Reason != ""
	case "usage":
		ok := object(s, func(n []byte) bool {
			switch string(n) {
			case "prompt_tokens":
				return count(s, &f.PromptTokens)
			case "completion_tokens":
				return count(s, &f.CompletionTokens)
			}
			return false
		}, 2)
		return 2, ok
	case "error":
		ok := object(s, func(n []byte) bool {
			if string(n) != "code" {
				return false
			}
			v, code := s.str()
			if code != "" || !validErrorCode(string(v)) {
				return false
			}
			f.ErrorCode = string(v)
			return true
		}, 1)
		return 4, ok
	}
	return 0, false
}

// object parses an object of exactly want distinct members, each value
// parsed by member.
func object(s *scanner, member func(name []byte) bool, want int) bool {
	if !s.eat('{') {
		return false
	}
	var names [2][]byte
	n := 0
	for !s.eat('}') {
		if n != 0 && !s.eat(',') {
			return false
		}
		name, code := s.str()
		if code != "" || !s.eat(':') || n == want || (n == 1 && string(names[0]) == string(name)) {
			return false
		}
		names[n] = name
		n++
		if !member(name) {
			return false
		}
	}
	return n == want
}

func count(s *scanner, v *int) bool {
	tok, ok := s.number()
	if !ok {
		return false
	}
	u, ok := parseUint(tok)
	if !ok || u > 1<<31-1 {
		return false
	}
	*v = int(u)
	return true
}

func finishReason(v []byte) string {
	for _, r := range []string{FinishStop, FinishLength, FinishCancelled, FinishError} {
		if string(v) == r {
			return r
		}
	}
	return ""
}
