package server

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepUntil returns at t, within tens of microseconds (the kernel's
// high-resolution timer), where time.Sleep returns up to a millisecond
// late: the Go runtime waits for its timers in epoll_wait, whose timeout
// is in milliseconds, and how late it wakes depends on what else the
// process's threads are doing. A shaped stream's frames leave on this
// clock (shape.go): a timer late by more while the engine computes a long
// prompt was a signal an observer's classifier found (docs/benchmarks.md,
// "Traffic shape"). The Go timer takes the wait to within coarseSleep of
// t, clock_nanosleep to within spinLast, blocking this goroutine's thread
// (without giving up its P: a wait shorter than sysmon's 10 ms with idle
// Ps keeps it) for about a millisecond, and the last spinLast is spent
// reading the clock.
func sleepUntil(t time.Time) {
	if d := time.Until(t) - coarseSleep; d > 0 {
		time.Sleep(d)
	}
	d := time.Until(t)
	if d <= 0 {
		return
	}
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) != nil {
		time.Sleep(d)
		return
	}
	if d > spinLast {
		at := unix.NsecToTimespec(now.Nano() + (d - spinLast).Nanoseconds())
		for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &at, nil) == unix.EINTR {
		}
	}
	for time.Now().Before(t) {
	}
}

// spinLast is how much of a wait sleepUntil spends awake, reading the
// clock. A thread woken while the engine's thread runs on its CPU may
// wait for that thread's time slice (the scheduler protects a running
// task's slice from a waking one, nice 10 or not: up to about a
// millisecond), and not when the engine is idle: a difference the
// observer's classifier found. With 200 us, frame 0 of a 400-word prompt
// left a median 72 us later than a 20-word one's (AUC 0.55 at 200 streams
// a class); with 1 ms, within 2 us (0.505). The cost is the spin: 2% of a
// core per shaped stream at 50 ms frames (docs/benchmarks.md).
const spinLast = time.Millisecond

// coarseSleep is how much of a wait sleepUntil leaves to the kernel's
// timer: more than the Go timer's lateness (up to about 1 ms).
const coarseSleep = 2 * time.Millisecond
