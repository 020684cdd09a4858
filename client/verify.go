package client

import (
	"context"
	"fmt"
)

// Verify fetches the server's key configuration (GET /api/pubkey), checks
// it against the pinned key exactly as Chat would, and keeps it; it also
// learns the server's clock. A long-running client (sotto proxy) calls it
// at start, so that a wrong pin or URL shows before the first request.
// Errors are those of Chat's key configuration step: ErrKeyConfig
// (wrapping the keyconfig error), *ProblemError, ErrState, ErrResponse and
// transport errors.
func (c *Client) Verify(ctx context.Context) error {
	if _, err := c.fetchKeyConfig(ctx); err != nil {
		return err
	}
	if _, ok := c.pickKey(); !ok {
		return fmt.Errorf("%w: no valid %s key", ErrKeyConfig, c.suite)
	}
	return nil
}
