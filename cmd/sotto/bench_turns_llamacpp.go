package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The llama-server side of `sotto bench turns --llama-server`: the same
// conversation (sotto's replies as the assistant turns, so both servers
// read the same history) through llama.cpp's OpenAI-compatible streaming
// endpoint with cache_prompt, its slot keeping the previous prompt.

// llamaHTTP opens a connection per request: llama-server may close a
// kept-alive connection after a stream, and reusing it fails (EOF).
var llamaHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

type llamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type llamaChunk struct {
	Content string     `json:"content"` // /completion
	Choices []struct { // /v1/chat/completions
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
	} `json:"choices"`
	Timings *struct {
		CacheN  int `json:"cache_n"`
		PromptN int `json:"prompt_n"`
	} `json:"timings"`
}

// llamaServerConversation runs o's conversation against o.llamaServer with
// replies as the assistant turns.
func llamaServerConversation(ctx context.Context, o benchTurnsFlags, replies []string) ([]turnTiming, error) {
	var msgs []llamaMessage
	var out []turnTiming
	for i := range o.turns {
		m := turnMessage(o, i)
		msgs = append(msgs, llamaMessage{m.Role, m.Content})
		t, err := llamaServerTurn(ctx, o, msgs)
		if err != nil {
			return nil, fmt.Errorf("bench: llama-server turn %d: %w", i+1, err)
		}
		t.Turn = i + 1
		out = append(out, t)
		msgs = append(msgs, llamaMessage{"assistant", replies[i]})
	}
	return out, nil
}

// llamaServerBody is one turn's request: the chat endpoint, or with
// --llama-server-plain the completion endpoint with the messages joined by
// "\n", which is how Sotto's engine renders a model without a chat
// template (llama-server would apply ChatML), so both read the same tokens.
func llamaServerBody(o benchTurnsFlags, msgs []llamaMessage) (path string, body []byte) {
	req := map[string]any{"stream": true, "temperature": 0, "seed": o.seed, "cache_prompt": true}
	path = "/v1/chat/completions"
	if o.llamaServerPlain {
		contents := make([]string, len(msgs))
		for i, m := range msgs {
			contents[i] = m.Content
		}
		path, req["prompt"], req["n_predict"] = "/completion", strings.Join(contents, "\n"), o.maxTokens
	} else {
		req["messages"], req["max_tokens"] = msgs, o.maxTokens
	}
	body, _ = json.Marshal(req)
	return path, body
}

// llamaServerTurn sends one streamed greedy request and times its first
// text; the prompt and cached token counts come from its timings.
func llamaServerTurn(ctx context.Context, o benchTurnsFlags, msgs []llamaMessage) (turnTiming, error) {
	path, body := llamaServerBody(o, msgs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(o.llamaServer, "/")+path, bytes.NewReader(body))
	if err != nil {
		return turnTiming{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := llamaHTTP.Do(req)
	if err != nil {
		return turnTiming{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return turnTiming{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	var t turnTiming
	var first time.Time
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ch llamaChunk
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			return turnTiming{}, fmt.Errorf("chunk: %w", err)
		}
		if first.IsZero() && (ch.Content != "" || len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "") {
			first = time.Now()
		}
		if ch.Timings != nil {
			t.PromptTokens, t.CachedTokens = ch.Timings.PromptN+ch.Timings.CacheN, ch.Timings.CacheN
		}
	}
	if first.IsZero() {
		first = time.Now()
	}
	t.TTFTMs = ms(first.Sub(start))
	return t, sc.Err()
}
