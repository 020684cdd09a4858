package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestMultiNodeEnrolment: behind a router, workers with the attested
// policy refuse a device that has not enrolled (401 relayed), and serve it
// once it enrolled through the router, which relays enrolment without
// holding a key directory.
func TestMultiNodeEnrolment(t *testing.T) {
	c := newCluster(t, 0)
	for i := range 2 {
		c.workers = append(c.workers, c.startWorker(t, i+1, fmt.Sprintf("127.0.0.1:%d", freePort(t)),
			"SOTTO_DEVICE_POLICY=attested", "SOTTO_ENROL_SOFTWARE=true"))
	}
	r := c.startRouter(t, "SOTTO_DEVICE_POLICY=attested")
	chat := func(args ...string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		all := append([]string{"chat", "--server", r.url, "--pin", c.pin, "--device-key", c.deviceKey,
			"--temperature", "0", "--max-tokens", "8", "--quiet", "-p", "Once upon a time"}, args...)
		cmd := exec.CommandContext(ctx, "sotto", all...)
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+c.dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	if _, stderr, err := chat(); err == nil || !strings.Contains(stderr, "401 device") {
		t.Fatalf("unenrolled device: err %v, stderr %q", err, stderr)
	}
	for range 3 { // each run enrols again and lands on either worker
		if out, stderr, err := chat("--enrol-software"); err != nil || out == "" {
			t.Fatalf("enrolled device: err %v, stderr %q\nrouter logs:\n%s", err, stderr, r.logs.Bytes())
		}
	}
}
