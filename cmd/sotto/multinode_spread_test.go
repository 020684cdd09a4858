package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto/device"
)

// okPerWorker waits until the router has counted total streams relayed
// ok (it counts one as its relay returns, after the client's last byte)
// and returns the count per worker.
func okPerWorker(t *testing.T, r *proc, total int) []int {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		var got []int
		sum := 0
		for i := range 3 {
			n := max(0, int(metric(t, r, fmt.Sprintf(`sotto_upstream_requests_total{outcome="ok",upstream="w%d"}`, i+1))))
			got, sum = append(got, n), sum+n
		}
		if sum == total || time.Now().After(deadline) {
			if sum != total {
				t.Fatalf("%d streams relayed ok (%v per worker), want %d", sum, got, total)
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// spreadDevices enrols n new devices (the allow-list, then SIGHUP to every
// worker and the router, waiting for each to log its reload) and sends
// one short chat from each through r.
func spreadDevices(t *testing.T, c *cluster, r *proc, n int) {
	t.Helper()
	keys := enrolDevices(t, c, append([]*proc{r}, c.workers...), n)
	pin, err := parsePin(c.pin)
	if err != nil {
		t.Fatal(err)
	}
	for i, priv := range keys {
		cl, err := client.New(client.Config{BaseURL: r.url, SigningKey: pin, DeviceKey: priv, HTTPClient: &http.Client{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wantReply(cl, "The cat", 4); err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
	}
}

// enrolDevices allows n new devices (the allow-list, then SIGHUP to each
// of procs, waiting for each to log its reload) and returns their keys.
func enrolDevices(t *testing.T, c *cluster, procs []*proc, n int) []ed25519.PrivateKey {
	t.Helper()
	keys := make([]ed25519.PrivateKey, n)
	for i := range keys {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := device.PublicKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		if err := device.Allow(c.allow, pub); err != nil {
			t.Fatal(err)
		}
		keys[i] = priv
	}
	for _, p := range procs {
		before := strings.Count(p.logs.String(), "msg=reloaded")
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for i := 0; strings.Count(p.logs.String(), "msg=reloaded") == before; i++ {
			if i == 500 {
				t.Fatalf("%s did not reload its allow-list\n%s", p.name, p.logs.Bytes())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return keys
}
