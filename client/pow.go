package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sottolabs/sotto/crypto/pow"
)

// solve answers a proof-of-work challenge for the body whose SHA-256 is
// sum (protocol section 6a). It refuses challenges harder than
// Config.MaxPoWBits, and returns when ctx is done; the abandoned search
// then finishes in the background within the same bound.
func (c *Client) solve(ctx context.Context, challenge string, sum [32]byte) (string, error) {
	bits, ok := challengeBits(challenge)
	if !ok {
		return "", fmt.Errorf("client: proof of work: %w", pow.ErrMalformed)
	}
	if bits > c.maxBits {
		return "", fmt.Errorf("%w: %d bits asked, at most %d solved", ErrPoWTooHard, bits, c.maxBits)
	}
	type answer struct {
		v   string
		err error
	}
	done := make(chan answer, 1)
	go func() {
		v, err := pow.Solve(challenge, sum)
		done <- answer{v, err}
	}()
	select {
	case a := <-done:
		if a.err != nil {
			return "", fmt.Errorf("client: proof of work: %w", a.err)
		}
		return a.v, nil
	case <-ctx.Done():
		return "", fmt.Errorf("client: %w", ctx.Err())
	}
}

// challengeBits reads the bits field of a challenge
// ("v1;bits=<n>;exp=...").
func challengeBits(challenge string) (int, bool) {
	for f := range strings.SplitSeq(challenge, ";") {
		if v, ok := strings.CutPrefix(f, "bits="); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil && n >= 1 && n <= pow.MaxBits
		}
	}
	return 0, false
}
