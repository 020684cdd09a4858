package llama

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/synth"
)

// mappedRSS sums the resident bytes (smaps Rss) of this process's
// mappings of the file at path.
func mappedRSS(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := strconv.FormatUint(fi.Sys().(*syscall.Stat_t).Ino, 10)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var total int64
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			in = fields[4] == ino && strings.HasSuffix(sc.Text(), filepath.Base(path))
		case in && len(fields) >= 2 && fields[0] == "Rss:":
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			total += kb << 10
		}
	}
	return total
}

// repackedResident counts the pages of m's repacked tensors that are
// mapped into this process (/proc/self/pagemap's present bit): the pages
// a read of the mapping, or the kernel on a neighbour's behalf, faulted in.
func repackedResident(t *testing.T, m *Model, path string) int64 {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	maps, err := fileMappings(st.Dev, st.Ino)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Close()
	page := int64(os.Getpagesize())
	var n int64
	entry := make([]byte, 8)
	for _, r := range m.repackedRanges(f) {
		for _, mp := range maps {
			for off := max(r.lo, mp.off); off < min(r.hi, mp.off+int64(mp.end-mp.start)); off += page {
				addr := int64(mp.start) + off - mp.off
				if _, err := pm.ReadAt(entry, addr/page*8); err != nil {
					t.Fatal(err)
				}
				if binary.LittleEndian.Uint64(entry)>>63 == 1 {
					n++
				}
			}
		}
	}
	return n
}

// rereadCold evicts path from the page cache and reads it back, as a
// server's model file usually came in: by readahead, which fills the cache
// with large folios where the kernel has them (ext4 on Linux 6.x). A file
// just written sits in the cache as its writes left it.
func rereadCold(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil {
		t.Fatal(err)
	}
}

// loadGreedy loads path, measures its mapping's resident bytes, runs one
// greedy request, counts the repacked tensors' pages mapped after it, and
// closes the model.
func loadGreedy(t *testing.T, path string, keep bool) (rss, dropped int64, text string, after int64) {
	t.Helper()
	m, err := LoadModel(path, ModelParams{keepWeightPages: keep})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rss, dropped = mappedRSS(t, path), m.pagesDropped
	e, err := NewEngine(m, Config{Slots: 1, ContextPerSlot: 128, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	text, _, _, err = collect(t, e, &Request{Prompt: []byte("once upon a time"), MaxTokens: 24})
	if err != nil {
		t.Fatal(err)
	}
	return rss, dropped, text, repackedResident(t, m, path)
}

// TestRepackedPagesDropped: on a Q4_0 model, whose 2-D weights the CPU
// backend repacks into its own buffer, LoadModel releases those tensors'
// pages of the file mapping (its resident size falls by what was dropped,
// which is most of the file) and greedy output is unchanged.
func TestRepackedPagesDropped(t *testing.T) {
	c := synth.Presets["demo"]
	c.Type, c.Seed = gguf.TypeQ4_0, 1
	path := filepath.Join(t.TempDir(), "demo-q4_0.gguf")
	if err := synth.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	rereadCold(t, path)
	keptRSS, none, keptText, _ := loadGreedy(t, path, true)
	rss, dropped, text, after := loadGreedy(t, path, false)
	t.Logf("file %d bytes; mapping resident %d kept, %d dropped (%d released); %d repacked pages mapped after a request",
		fi.Size(), keptRSS, rss, dropped, after)
	if none != 0 || dropped < fi.Size()/2 {
		t.Fatalf("released %d bytes (kept: %d), want over half the file (%d)", dropped, none, fi.Size())
	}
	if rss > keptRSS-dropped {
		t.Errorf("mapping resident %d after releasing %d, want at most %d", rss, dropped, keptRSS-dropped)
	}
	// A request reads only the norms and embeddings between the repacked
	// matrices; the kernel must not map their neighbours with them.
	if after != 0 {
		t.Errorf("%d pages of repacked tensors mapped again after a request, want 0", after)
	}
	if text != keptText || text == "" {
		t.Errorf("greedy output changed: %q, kept pages: %q", text, keptText)
	}
}
