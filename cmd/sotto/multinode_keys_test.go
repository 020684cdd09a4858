package main

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestWorkersPublishOneKeyConfiguration: workers sharing a key directory,
// started in different seconds, publish the same signed key configuration
// byte for byte, and a router in front of them serves it (issue 17, item
// 14: a client holding one worker's document never sees another's as a
// rollback or a conflict).
func TestWorkersPublishOneKeyConfiguration(t *testing.T) {
	c := newCluster(t, 1)
	first := get(t, c.mtls, c.workers[0].url+"/api/pubkey")
	for s := time.Now().Unix(); time.Now().Unix() == s; {
		time.Sleep(20 * time.Millisecond) // waits for the next second: issued_at has whole seconds
	}
	c.workers = append(c.workers, c.startWorker(t, 2, fmt.Sprintf("127.0.0.1:%d", freePort(t))))
	second := get(t, c.mtls, c.workers[1].url+"/api/pubkey")
	if !bytes.Equal(first, second) {
		t.Fatalf("workers started seconds apart publish different documents:\n%.60s\n%.60s", first, second)
	}
	r := c.startRouter(t)
	if got := get(t, http.DefaultClient, r.url+"/api/pubkey"); !bytes.Equal(got, first) {
		t.Fatalf("the router serves another document:\n%.60s", got)
	}
}
