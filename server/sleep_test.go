package server

import (
	"testing"
	"time"
)

// TestSleepUntilNeverEarly: sleepUntil returns at or after its time, for
// waits shorter than its spin, between its spin and its coarse part, and
// longer (a frame that left early would move the shape's schedule as much
// as one that left late). How close to its time it returns is measured by
// the observer test, not asserted here.
func TestSleepUntilNeverEarly(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 0, 50 * time.Microsecond, 300 * time.Microsecond,
		time.Millisecond, 2500 * time.Microsecond, 12 * time.Millisecond} {
		at := time.Now().Add(d)
		sleepUntil(at)
		if now := time.Now(); now.Before(at) {
			t.Errorf("a wait of %v returned %v early", d, at.Sub(now))
		}
	}
}
