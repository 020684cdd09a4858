package buildtest

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// sandbox is the part of a systemd unit's [Service] sandbox that a root
// process can rebuild without systemd: a read-only file system but one
// tree (ProtectSystem=strict), an unprivileged user with no
// capabilities and no new privileges, the unit's resource limits, /proc as
// ProtectProc=invisible and ProcSubset=pid mount it, the unit's system-call
// allow-list and address families (refused calls fail with EPERM, as
// SystemCallErrorNumber=EPERM says), and MemoryDenyWriteExecute through
// PR_SET_MDWE. The test passes it to a re-executed test binary in the
// environment (sandboxVar) and that child enters it and execs the unit's
// command line.
type sandbox struct {
	UID, GID     int
	MemlockBytes uint64
	Syscalls     []string // allowed by name
	Families     []int    // socket() address families allowed
	DenyWX       bool
	Writable     string   // the one writable tree (StateDirectory=, RuntimeDirectory=)
	Exec         []string // the command line
}

// sandboxVar carries the encoded sandbox to the child.
const sandboxVar = "SOTTO_BUILDTEST_SANDBOX"

func (s sandbox) encode() string {
	fams := make([]string, len(s.Families))
	for i, f := range s.Families {
		fams[i] = strconv.Itoa(f)
	}
	return strings.Join([]string{
		strconv.Itoa(s.UID), strconv.Itoa(s.GID), strconv.FormatUint(s.MemlockBytes, 10),
		strings.Join(s.Syscalls, ","), strings.Join(fams, ","), strconv.FormatBool(s.DenyWX),
		s.Writable, strings.Join(s.Exec, "\x1f"),
	}, ";")
}

func decodeSandbox(v string) (sandbox, error) {
	f := strings.Split(v, ";")
	if len(f) != 8 {
		return sandbox{}, errors.New("buildtest: malformed sandbox")
	}
	var s sandbox
	var errs [4]error
	s.UID, errs[0] = strconv.Atoi(f[0])
	s.GID, errs[1] = strconv.Atoi(f[1])
	s.MemlockBytes, errs[2] = strconv.ParseUint(f[2], 10, 64)
	s.DenyWX, errs[3] = strconv.ParseBool(f[5])
	s.Syscalls = strings.Split(f[3], ",")
	for fam := range strings.SplitSeq(f[4], ",") {
		n, err := strconv.Atoi(fam)
		if err != nil {
			return sandbox{}, err
		}
		s.Families = append(s.Families, n)
	}
	s.Writable = f[6]
	s.Exec = strings.Split(f[7], "\x1f")
	return s, errors.Join(errs[:]...)
}

// enterSandbox runs in the child, which starts as root in a new mount
// namespace, and execs the command line; it returns only on failure.
func enterSandbox(v string) error {
	s, err := decodeSandbox(v)
	if err != nil {
		return err
	}
	steps := []func(sandbox) error{protectSystem, mountProc, setLimits, dropPrivileges, denyWriteExecute, loadSeccomp}
	for _, step := range steps {
		if err := step(s); err != nil {
			return err
		}
	}
	return syscall.Exec(s.Exec[0], s.Exec, os.Environ())
}

// protectSystem is ProtectSystem=strict with s.Writable as the unit's
// state and runtime directories: every mount read-only except the API
// file systems (/proc, /sys, /dev) and s.Writable, bind-mounted onto
// itself first so the remount passes it by.
func protectSystem(s sandbox) error {
	if err := unix.Mount(s.Writable, s.Writable, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("buildtest: bind %s: %w", s.Writable, err)
	}
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(info)) {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		mp := strings.ReplaceAll(f[4], `\040`, " ")
		if apiFS(mp) || mp == s.Writable || strings.HasPrefix(mp, s.Writable+"/") {
			continue
		}
		flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
		for _, o := range strings.Split(f[5], ",") {
			flags |= map[string]uintptr{"nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC}[o]
		}
		if err := unix.Mount("", mp, "", flags, ""); err != nil {
			return fmt.Errorf("buildtest: remount %s read-only: %w", mp, err)
		}
	}
	return nil
}

func apiFS(mp string) bool {
	for _, p := range []string{"/proc", "/sys", "/dev"} {
		if mp == p || strings.HasPrefix(mp, p+"/") {
			return true
		}
	}
	return false
}

// mountProc mounts /proc as ProtectProc=invisible and ProcSubset=pid do:
// other users' processes hidden, nothing but the process directories.
func mountProc(sandbox) error {
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "hidepid=invisible,subset=pid"); err != nil {
		return fmt.Errorf("buildtest: mount /proc: %w", err)
	}
	return nil
}

// setLimits applies LimitMEMLOCK (soft and hard) and LimitCORE=0.
func setLimits(s sandbox) error {
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &unix.Rlimit{Cur: s.MemlockBytes, Max: s.MemlockBytes}); err != nil {
		return fmt.Errorf("buildtest: RLIMIT_MEMLOCK: %w", err)
	}
	return unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}

// dropPrivileges empties the capability bounding set
// (CapabilityBoundingSet=), sets NoNewPrivileges= and becomes s.UID:s.GID
// with no supplementary groups; the kernel clears the remaining
// capabilities at the change of user.
func dropPrivileges(s sandbox) error {
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("buildtest: drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("buildtest: no_new_privs: %w", err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("buildtest: setgroups: %w", err)
	}
	if err := syscall.Setresgid(s.GID, s.GID, s.GID); err != nil {
		return fmt.Errorf("buildtest: setgid: %w", err)
	}
	if err := syscall.Setresuid(s.UID, s.UID, s.UID); err != nil {
		return fmt.Errorf("buildtest: setuid: %w", err)
	}
	return nil
}

// denyWriteExecute is MemoryDenyWriteExecute=: no mapping may become both
// writable and executable (PR_SET_MDWE, Linux 6.3 and later; systemd
// itself uses it on such kernels).
func denyWriteExecute(s sandbox) error {
	if !s.DenyWX {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_MDWE, unix.PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0); err != nil {
		return fmt.Errorf("buildtest: PR_SET_MDWE: %w", err)
	}
	return nil
}

// loadSeccomp installs the allow-list for every thread: calls not on it,
// and sockets of other families, fail with EPERM.
func loadSeccomp(s sandbox) error {
	socket := seccomp.SyscallGroup{Action: seccomp.ActionAllow}
	for _, fam := range s.Families {
		socket.NamesWithCondtions = append(socket.NamesWithCondtions, seccomp.NameWithConditions{
			Name:       "socket",
			Conditions: seccomp.ArgumentConditions{{Argument: 0, Operation: seccomp.Equal, Value: uint64(fam)}},
		})
	}
	var names []string
	for _, n := range s.Syscalls {
		if n != "socket" {
			names = append(names, n)
		}
	}
	policy := seccomp.Policy{
		DefaultAction: seccomp.ActionErrno,
		Syscalls:      []seccomp.SyscallGroup{{Names: names, Action: seccomp.ActionAllow}, socket},
	}
	prog, err := policy.Assemble()
	if err != nil {
		return fmt.Errorf("buildtest: seccomp policy: %w", err)
	}
	return installFilter(withErrno(prog, uint32(unix.EPERM)))
}

// withErrno makes the policy's bare "errno" returns (errno 0, which would
// fake success) return errno instead.
func withErrno(prog []bpf.Instruction, errno uint32) []bpf.Instruction {
	for i, ins := range prog {
		if r, ok := ins.(bpf.RetConstant); ok && r.Val == uint32(seccomp.ActionErrno) {
			prog[i] = bpf.RetConstant{Val: uint32(seccomp.ActionErrno) | errno}
		}
	}
	return prog
}

func installFilter(prog []bpf.Instruction) error {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return fmt.Errorf("buildtest: assemble seccomp filter: %w", err)
	}
	filter := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("buildtest: seccomp: %w", errno)
	}
	return nil
}
