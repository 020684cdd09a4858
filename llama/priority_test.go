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
	niced := func() int {
		n := 0
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
				n++
			}
		}
		return n
	}
	before := niced()
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 128, Threads: 2})
	if got := niced(); got < before+2 {
		t.Fatalf("%d threads at nice %d with a 2-thread engine, %d before: want the scheduler's and the pool's", got, engineNice, before)
	}
	e.Close()
}
