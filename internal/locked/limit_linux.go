package locked

import (
	"golang.org/x/sys/unix"
)

// reserveBytes is kept back from RLIMIT_MEMLOCK for memguard's own key
// buffers (its enclave coffer) and anything else the process locks.
const reserveBytes = 64 << 10

// RaiseLimit raises the soft RLIMIT_MEMLOCK to the hard limit and returns
// the budget the process can safely use: the soft limit less a reserve, or
// Unlimited when the process may lock without limit, as root with
// CAP_IPC_LOCK can.
func RaiseLimit() (int64, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
		return 0, err
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &rl); err != nil {
			return 0, err
		}
	}
	if rl.Cur == unix.RLIM_INFINITY || hasIPCLock() {
		return Unlimited, nil
	}
	budget := int64(rl.Cur) - reserveBytes
	if budget < 0 {
		budget = 0
	}
	return budget, nil
}

// hasIPCLock reports whether the process holds CAP_IPC_LOCK in its effective
// set, with which mlock ignores RLIMIT_MEMLOCK.
func hasIPCLock() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_IPC_LOCK/32].Effective&(1<<(unix.CAP_IPC_LOCK%32)) != 0
}
