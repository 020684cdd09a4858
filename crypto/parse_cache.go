package crypto

// The optional "cache" member of the inner request (protocol section
// 3.2.1): {"secret":"<22 base64url characters>","ttl":<seconds>}. The
// secret names a conversation's KV prefix on the server; it is decoded in
// place, so its 16 bytes stay in the locked plaintext like any content.

// CacheSecretSize is the size of a conversation-cache secret: 128 bits,
// 22 characters of unpadded base64url on the wire.
const CacheSecretSize = 16

// cacheSecretChars is the length of a secret's base64url text.
const cacheSecretChars = 22

// MaxCacheTTL is the largest ttl a request may ask for, in seconds (a
// day); servers cap it further (SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS).
const MaxCacheTTL = 86400

// cache parses the cache object; secret is required, ttl optional.
func (p *reqParser) cache() error {
	if !p.s.eat('{') {
		return reqErr(CodeCache)
	}
	seen := 0
	for !p.s.eat('}') {
		if seen != 0 && !p.s.eat(',') {
			return reqErr(CodeJSON)
		}
		name, code := p.s.str()
		if code != "" {
			return reqErr(code)
		}
		if !p.s.eat(':') {
			return reqErr(CodeJSON)
		}
		bit, err := p.cacheMember(name)
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return reqErr(CodeDuplicate)
		}
		seen |= bit
	}
	if seen&1 == 0 {
		return reqErr(CodeCache)
	}
	return nil
}

func (p *reqParser) cacheMember(name []byte) (int, error) {
	switch string(name) {
	case "secret":
		if p.s.peek() != '"' {
			return 0, reqErr(CodeCache)
		}
		v, code := p.s.str()
		if code != "" {
			return 0, reqErr(code)
		}
		secret, ok := decodeSecret(v)
		if !ok {
			return 0, reqErr(CodeCache)
		}
		p.req.CacheSecret = secret
		return 1, nil
	case "ttl":
		v, err := p.uintIn(1, MaxCacheTTL, CodeCacheTTL)
		p.req.CacheTTL = int(v)
		return 2, err
	}
	return 0, reqErr(CodeMember)
}

// decodeSecret decodes 22 characters of canonical unpadded base64url into
// the first 16 bytes of v, in place (each group of four characters is
// read before its three bytes are written, at or before them). The last
// character's four unused bits must be zero, so every secret has exactly
// one spelling.
func decodeSecret(v []byte) ([]byte, bool) {
	if len(v) != cacheSecretChars {
		return nil, false
	}
	var acc uint32
	w := 0
	for i := 0; i < cacheSecretChars; i++ {
		d := b64uValue(v[i])
		if d < 0 {
			return nil, false
		}
		acc = acc<<6 | uint32(d)
		if i%4 == 3 {
			v[w], v[w+1], v[w+2] = byte(acc>>16), byte(acc>>8), byte(acc)
			w += 3
			acc = 0
		}
	}
	// 22 = 5*4 + 2: two characters left, 12 bits, of which 8 are data.
	if acc&0xf != 0 {
		return nil, false
	}
	v[w] = byte(acc >> 4)
	clear(v[CacheSecretSize:]) // the text of the last 6 characters
	return v[:CacheSecretSize], true
}

func b64uValue(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return -1
}

// shape parses the "shape" member (protocol section 5.5): the string
// "constant", the only shape v1 defines.
func (p *reqParser) shape() error {
	if p.s.peek() != '"' {
		return reqErr(CodeShape)
	}
	v, code := p.s.str()
	if code != "" {
		return reqErr(code)
	}
	if string(v) != ShapeConstant {
		return reqErr(CodeShape)
	}
	p.req.Shape = true
	return nil
}
