package memscan

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// The child mode: the test binary re-run with this variable builds a canary
// from its reversed form, keeps it or wipes it, says "ready" and waits.
const childEnv = "MEMSCAN_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runChild(mode, os.Getenv("MEMSCAN_TEST_REVERSED"))
		return
	}
	os.Exit(m.Run())
}

var sink [][]byte

func runChild(mode, reversed string) {
	canary := []byte(reversed)
	slices.Reverse(canary)
	sink = append(sink, canary)
	if mode == "wipe" {
		clear(canary)
	}
	os.Stdout.WriteString("ready\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// TestScan runs a child that holds (or wiped) a canary only it has
// assembled: the scan finds it in the first case and not in the second.
func TestScan(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("reading another process's memory needs root here")
	}
	// Only the reversed canary is a literal (in the binary's rodata, which
	// the child maps too); the canary itself exists only once built.
	reversed := []byte("0d77e1c9a3f5-yranac-nacsmem-ottos")
	canary := slices.Clone(reversed)
	slices.Reverse(canary)
	for mode, want := range map[string]bool{"keep": true, "wipe": false} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+mode, "MEMSCAN_TEST_REVERSED="+string(reversed))
			stdin, _ := cmd.StdinPipe()
			stdout, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { stdin.Close(); _ = cmd.Wait() }()
			if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
				t.Fatalf("child: %q %v", line, err)
			}
			hits, err := Scan(cmd.Process.Pid, canary)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(hits) > 0; got != want {
				t.Fatalf("mode %s: %d hits %+v, want found=%v", mode, len(hits), hits, want)
			}
		})
	}
}
