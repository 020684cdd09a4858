package llama

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

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

// loadGreedy loads path, measures its mapping's resident bytes, runs one
// greedy request and closes the model.
func loadGreedy(t *testing.T, path string, keep bool) (rss, dropped int64, text string) {
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
	return rss, dropped, text
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
	keptRSS, none, keptText := loadGreedy(t, path, true)
	rss, dropped, text := loadGreedy(t, path, false)
	t.Logf("file %d bytes; mapping resident %d kept, %d dropped (%d released)", fi.Size(), keptRSS, rss, dropped)
	if none != 0 || dropped < fi.Size()/2 {
		t.Fatalf("released %d bytes (kept: %d), want over half the file (%d)", dropped, none, fi.Size())
	}
	if rss > keptRSS-dropped {
		t.Errorf("mapping resident %d after releasing %d, want at most %d", rss, dropped, keptRSS-dropped)
	}
	if text != keptText || text == "" {
		t.Errorf("greedy output changed: %q, kept pages: %q", text, keptText)
	}
}
