// Package memscan searches a live process's memory for byte strings, to
// prove that a prompt or a reply left no copy behind. It reads
// /proc/PID/maps and /proc/PID/mem, so the caller needs ptrace access to
// the target (root, or the same user with a permissive ptrace scope and a
// dumpable target; Sotto makes itself non-dumpable, so tests run as root).
package memscan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Hit is one occurrence of a needle.
type Hit struct {
	Needle int    // index into the needles passed to Scan
	Addr   uint64 // address of the first byte
	Region string // the maps line of the region holding it
}

// chunkSize is how much of a region is read at once.
const chunkSize = 1 << 20

// Scan returns every occurrence of each needle in the readable memory of
// process pid. Regions the kernel refuses to read (guard pages, vvar) are
// skipped.
func Scan(pid int, needles ...[]byte) ([]Hit, error) {
	regions, err := readableRegions(pid)
	if err != nil {
		return nil, err
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, fmt.Errorf("memscan: %w", err)
	}
	defer mem.Close()
	longest := 0
	for _, n := range needles {
		longest = max(longest, len(n))
	}
	var hits []Hit
	buf := make([]byte, chunkSize+longest)
	for _, r := range regions {
		hits = append(hits, scanRegion(mem, r, buf, needles)...)
	}
	return hits, nil
}

type region struct {
	start, end uint64
	line       string
}

func readableRegions(pid int) ([]region, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("memscan: %w", err)
	}
	defer f.Close()
	var out []region
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1][0] != 'r' || strings.HasSuffix(line, "[vvar]") || strings.HasSuffix(line, "[vsyscall]") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, region{start, end, line})
	}
	return out, sc.Err()
}

// scanRegion reads r in chunks of chunkSize plus longest-1 bytes of
// overlap, so a needle across a chunk boundary is found, and counts a match
// only in the chunk where it starts.
func scanRegion(mem io.ReaderAt, r region, buf []byte, needles [][]byte) []Hit {
	var hits []Hit
	for off := r.start; off < r.end; off += chunkSize {
		got, _ := mem.ReadAt(buf[:min(uint64(len(buf)), r.end-off)], int64(off))
		if got <= 0 {
			return hits // unreadable (guard page, reserved): skip the rest
		}
		data := buf[:got]
		for i, needle := range needles {
			for from := 0; ; {
				j := bytes.Index(data[from:], needle)
				if j < 0 || from+j >= chunkSize {
					break
				}
				hits = append(hits, Hit{Needle: i, Addr: off + uint64(from+j), Region: r.line})
				from += j + 1
			}
		}
	}
	return hits
}
