//go:build !linux

package server

import "time"

// sleepUntil returns at t (or a little later: see sleep_linux.go).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
