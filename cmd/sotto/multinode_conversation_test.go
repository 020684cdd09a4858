package main

import (
	"context"
	"strconv"
	"testing"

	"github.com/sottolabs/sotto/client"
)

// TestMultiNodeConversationStaysHome: through a router in front of three
// workers with the conversation cache on, every turn of a conversation
// reaches the device's home worker, which reuses the earlier turns'
// prompts: one worker's cached-token counter holds them all.
func TestMultiNodeConversationStaysHome(t *testing.T) {
	c := newCluster(t, 3)
	for _, w := range c.workers { // the cache on: restart each worker with it
		w.kill(t)
		// Live metrics (a batch of 1): the test reads the cache counter.
		w.env = append(w.env, "SOTTO_PREFIX_CACHE_BYTES=16777216", "SOTTO_METRICS_BATCH=1")
		w.start(t, "worker")
		w.waitReady(t, c.mtls)
	}
	r := c.startRouter(t)
	cl := c.sdk(t, r, nil)
	conv := client.NewConversation(0)
	msgs := []client.Message{{Role: client.RoleUser, Content: "Once upon a time, a little fox"}}
	want := 0
	for turn := range 3 {
		req := greedyReq("", 16)
		req.Messages, req.Conversation = msgs, conv
		var reply []byte
		res, err := cl.Chat(context.Background(), req, func(p []byte) error { reply = append(reply, p...); return nil })
		if err != nil {
			t.Fatalf("turn %d: %v", turn+1, err)
		}
		if turn < 2 {
			want += res.PromptTokens - 1
		}
		msgs = append(msgs, client.Message{Role: client.RoleAssistant, Content: string(reply)},
			client.Message{Role: client.RoleUser, Content: "Then it ran home"})
	}
	var cached []float64
	for _, w := range c.workers {
		v, err := strconv.ParseFloat(c.workerMetric(t, w, "sotto_prompt_tokens_cached_total"), 64)
		if err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		cached = append(cached, v)
	}
	home := 0
	for i, v := range cached {
		if v > cached[home] {
			home = i
		}
	}
	if cached[home] < float64(want) {
		t.Fatalf("workers reused %v prompt tokens, want one with at least %d", cached, want)
	}
}
