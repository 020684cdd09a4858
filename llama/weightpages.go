package llama

/*
#cgo CXXFLAGS: -std=c++17
#include "weightpages.h"
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/internal/gguf"
)

// fileRange is a byte range of the model file, [lo, hi).
type fileRange struct{ lo, hi int64 }

// repackedRanges returns the file ranges of the tensors llama.cpp
// repacked into its own buffer, shrunk to whole pages: a page shared with
// a tensor read from the mapping stays.
func (m *Model) repackedRanges(f *gguf.File) []fileRange {
	byName := make(map[string]gguf.TensorInfo, len(f.Tensors))
	for _, t := range f.Tensors {
		byName[t.Name] = t
	}
	page := int64(os.Getpagesize())
	var out []fileRange
	for i := range int(C.sotto_model_n_tensors(m.ptr)) {
		var repacked C.int
		name := C.GoString(C.sotto_model_tensor(m.ptr, C.int(i), &repacked))
		t, ok := byName[name]
		if repacked == 0 || !ok {
			continue
		}
		start := f.DataOffset + int64(t.Offset)
		lo, hi := (start+page-1)/page*page, (start+int64(t.Bytes()))/page*page
		if hi > lo {
			out = append(out, fileRange{lo, hi})
		}
	}
	return out
}

// mapping is one segment of /proc/self/maps backed by the model file:
// addresses [start, end) hold the file from offset off.
type mapping struct {
	start, end uintptr
	off        int64
}

// fileMappings lists this process's mapped segments of the file with
// device dev and inode ino.
func fileMappings(dev, ino uint64) ([]mapping, error) {
	fh, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out []mapping
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		// start-end perms offset major:minor inode path
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[4] != strconv.FormatUint(ino, 10) {
			continue
		}
		maj, minr, _ := strings.Cut(f[3], ":")
		ma, _ := strconv.ParseUint(maj, 16, 32)
		mi, _ := strconv.ParseUint(minr, 16, 32)
		if unix.Mkdev(uint32(ma), uint32(mi)) != dev {
			continue
		}
		s, e, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(s, 16, 64)
		end, err2 := strconv.ParseUint(e, 16, 64)
		off, err3 := strconv.ParseInt(f[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("llama: /proc/self/maps: malformed line")
		}
		out = append(out, mapping{uintptr(start), uintptr(end), off})
	}
	return out, sc.Err()
}

// dropRepackedPages releases this process's pages of the model file's
// mapping that hold repacked tensors (MADV_DONTNEED: the pages leave the
// resident set; the file is unchanged, and a read, which llama.cpp never
// makes, would fault them back from it), and keeps the kernel from mapping
// them again beside the tensors that are read. It returns the bytes released.
// Tensors read from the mapping itself (the token embeddings, norms, any
// type the CPU backend does not repack) keep their pages.
func (m *Model) dropRepackedPages(path string) (int64, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, nil
	}
	maps, err := fileMappings(st.Dev, st.Ino)
	if err != nil {
		return 0, err
	}
	var dropped int64
	for _, r := range m.repackedRanges(f) {
		for _, mp := range maps {
			lo, hi := max(r.lo, mp.off), min(r.hi, mp.off+int64(mp.end-mp.start))
			if hi <= lo {
				continue
			}
			addr := mp.start + uintptr(lo-mp.off)
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(hi-lo), unix.MADV_DONTNEED); e != 0 {
				return dropped, fmt.Errorf("llama: madvise: %w", e)
			}
			// A range of its own (a VMA): where the page cache holds large
			// folios (ext4 on Linux 6.x, a file read by readahead), a fault
			// on a norm of 8 KiB between two repacked matrices maps the whole
			// folio around it, up to 2 MiB of dropped pages, and fault-around
			// maps 64 KiB; neither crosses a VMA's edge. TinyLlama got 76 MiB
			// of its dropped pages back in its first request. DONTDUMP is a
			// flag that changes nothing else, and true: a core dump has no
			// use for these pages.
			if _, _, e := unix.Syscall(unix.SYS_MADVISE, addr, uintptr(hi-lo), unix.MADV_DONTDUMP); e != 0 {
				return dropped, fmt.Errorf("llama: madvise: %w", e)
			}
			dropped += hi - lo
		}
	}
	return dropped, nil
}
