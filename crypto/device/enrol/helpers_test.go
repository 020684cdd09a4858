package enrol_test

import (
	"crypto/sha256"

	"github.com/sottolabs/sotto/crypto/replay"
)

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func newBigRegister(c *clock) *replay.Memory { return replay.NewMemoryClock(10_000_000, c.now) }
