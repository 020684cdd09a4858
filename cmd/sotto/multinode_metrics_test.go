package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/sottolabs/sotto/client"
)

// workerCounter reads one counter of a worker's /metrics listener, as the
// router's host that scrapes it would.
func workerCounter(t *testing.T, addr, name string) float64 {
	t.Helper()
	v := metric(t, &proc{url: "http://" + addr}, name)
	if v < 0 {
		t.Fatalf("%s missing from the worker's metrics", name)
	}
	return v
}

// TestMultiNodeMetricsBatched (issue 19): the router relays every request
// and its host scrapes the workers' metrics, so live token counters would
// give it each request's exact counts. A worker publishes its metrics in
// snapshots of 16 finished requests: around one relayed request the
// counters do not move; after 16 they hold exactly the 16 requests' sums,
// and a 17th moves nothing again.
func TestMultiNodeMetricsBatched(t *testing.T) {
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	c := newClusterWith(t, 1, "SOTTO_METRICS_LISTEN="+maddr)
	r := c.startRouter(t)
	cl := c.sdk(t, r, nil)
	counters := func() [2]float64 {
		return [2]float64{workerCounter(t, maddr, "sotto_prompt_tokens_total"), workerCounter(t, maddr, "sotto_generated_tokens_total")}
	}
	chat := func(i int) [2]float64 {
		temp := 0.0
		res, err := cl.Chat(context.Background(), client.Request{
			Messages:  []client.Message{{Role: client.RoleUser, Content: fmt.Sprintf("Tom had %d red balls", i)}},
			MaxTokens: 4 + i%5, Temperature: &temp,
		}, nil)
		if err != nil {
			t.Fatalf("chat %d: %v", i, err)
		}
		return [2]float64{float64(res.PromptTokens), float64(res.CompletionTokens)}
	}
	before := counters()
	var sum [2]float64
	for i := range 16 {
		got := chat(i)
		sum[0], sum[1] = sum[0]+got[0], sum[1]+got[1]
		if i < 15 && counters() != before {
			t.Fatalf("after %d requests the worker's counters moved from %v to %v: a scraper would see one request", i+1, before, counters())
		}
	}
	if after := counters(); after[0]-before[0] != sum[0] || after[1]-before[1] != sum[1] {
		t.Fatalf("after 16 requests the counters moved by %v, want the sums %v", [2]float64{after[0] - before[0], after[1] - before[1]}, sum)
	}
	snap := counters()
	chat(16)
	if counters() != snap {
		t.Fatal("a 17th request moved the published counters")
	}
}

// TestMultiNodeShapedRelay: a worker with the shape on, behind a router:
// the client's reply arrives shaped, exactly the engine's greedy text; the
// router relays the frames without knowing which carry text.
func TestMultiNodeShapedRelay(t *testing.T) {
	c := newClusterWith(t, 1, "SOTTO_STREAM_SHAPE=constant", "SOTTO_STREAM_FRAME_MS=10")
	r := c.startRouter(t)
	const prompt = "Once upon a time, a little fox"
	want := greedyReply(t, prompt)
	cl := c.sdk(t, r, nil)
	temp := 0.0
	var text []byte
	res, err := cl.Chat(context.Background(), client.Request{
		Messages: []client.Message{{Role: client.RoleUser, Content: prompt}}, MaxTokens: 48, Temperature: &temp,
	}, func(p []byte) error { text = append(text, p...); return nil })
	if err != nil || !res.Shaped || string(text) != want {
		t.Fatalf("through the router: shaped %v, %q, %v; want the engine's %q", res.Shaped, text, err, want)
	}
}
