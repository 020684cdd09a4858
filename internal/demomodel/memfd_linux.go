package demomodel

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// seals make the memfd immutable once written: no write, no resize, no
// further change of seals. llama.cpp maps it read-only.
const seals = unix.F_SEAL_WRITE | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL

// openMemfd copies the model into an anonymous, sealed memory file and
// names it /proc/self/fd/N, which llama.cpp opens like any file.
func openMemfd() (*File, error) {
	fd, err := unix.MemfdCreate("sotto-demo-"+Name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("demomodel: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:"+Name)
	if err := fill(f); err != nil {
		f.Close()
		return nil, err
	}
	path := fmt.Sprintf("/proc/self/fd/%d", fd)
	if fi, err := os.Stat(path); err != nil || fi.Size() != Size {
		f.Close()
		return nil, errors.New("demomodel: /proc/self/fd does not show the memfd")
	}
	return &File{path: path, close: f.Close}, nil
}

func fill(f *os.File) error {
	if _, err := f.Write(weights); err != nil {
		return fmt.Errorf("demomodel: memfd write: %w", err)
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("demomodel: memfd seal: %w", err)
	}
	return nil
}
