// Package harden applies process-wide protections at the start of `sotto
// serve`, before any secret is loaded: no core dumps, not dumpable (no
// ptrace attach or /proc/<pid>/mem access by other processes of the same
// user), and glibc malloc tunables that overwrite freed heap memory.
//
// memguard's guarantees for locked buffers assume core dumps are off; the
// malloc tunables cover what memguard cannot: the C++ heap of llama.cpp,
// which copies prompt text into std::string buffers while tokenizing and
// templating.
//
// The functions change the whole process and are meant to be called once,
// from the main goroutine, before the server starts.
package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Apply disables core dumps and marks the process not dumpable.
func Apply() error {
	if err := DisableCoreDumps(); err != nil {
		return err
	}
	return DumpableOff()
}

// DisableCoreDumps sets RLIMIT_CORE to 0, soft and hard, so that neither
// this process nor a child can raise it again.
func DisableCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("harden: set RLIMIT_CORE to 0: %w", err)
	}
	return nil
}

// DumpableOff clears the process's dumpable flag (PR_SET_DUMPABLE 0): no
// core dump even if RLIMIT_CORE is raised by the kernel's core_pattern
// pipe, and processes of the same user can no longer ptrace it or read
// /proc/<pid>/mem. The flag resets on execve, so call it after
// ReexecWithMallocTunables.
func DumpableOff() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("harden: prctl(PR_SET_DUMPABLE, 0): %w", err)
	}
	return nil
}

// Dumpable reports the process's dumpable flag (PR_GET_DUMPABLE).
func Dumpable() (bool, error) {
	v, _, errno := unix.Syscall6(unix.SYS_PRCTL, unix.PR_GET_DUMPABLE, 0, 0, 0, 0, 0)
	if errno != 0 {
		return false, fmt.Errorf("harden: prctl(PR_GET_DUMPABLE): %w", errno)
	}
	return v != 0, nil
}
