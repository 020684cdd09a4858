package llama

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEngineThreadPriority: the engine's threads (the scheduler's and
// llama.cpp's thread pool) run at nice engineNice, and no other thread of
// the process does (a shaped stream's writer must win the CPU).
func TestEngineThreadPriority(t *testing.T) {
	// The threads at nice 10, by id: earlier engines' threads may still be
	// exiting while this runs, so the test counts the new ones, not all.
	niced := func() map[string]bool {
		ids := map[string]bool{}
		tasks, _ := filepath.Glob("/proc/self/task/*/stat")
		for _, p := range tasks {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			// Fields after the command's closing parenthesis; nice is
			// field 19 of stat, the 17th after it.
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) > 16 && f[16] == "10" {
				ids[filepath.Base(filepath.Dir(p))] = true
			}
		}
		return ids
	}
	before := niced()
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 128, Threads: 2})
	added := 0
	for id := range niced() {
		if !before[id] {
			added++
		}
	}
	if added < 2 {
		t.Fatalf("%d new threads at nice %d with a 2-thread engine (%d before): want the scheduler's and the pool's", added, engineNice, len(before))
	}
	e.Close()
}
