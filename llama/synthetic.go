package llama

// SyntheticPrompt returns n token ids for benchmarks: BOS followed by
// pseudo-random text tokens (no control or end-of-generation tokens),
// varied by seed so that streams share no prefix. It holds no user text.
func SyntheticPrompt(m *Model, n int, seed uint32) []Token {
	out := make([]Token, 0, n)
	if n <= 0 {
		return out
	}
	out = append(out, m.info.BOS)
	x := seed*2654435761 + 1 // xorshift32 state; never 0 for small seeds
	if x == 0 {
		x = 1
	}
	for len(out) < n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		t := Token(x % uint32(m.nVocab))
		if !m.IsControl(t) && !m.IsEOG(t) {
			out = append(out, t)
		}
	}
	return out
}
