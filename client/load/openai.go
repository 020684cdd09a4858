package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// OpenAI is a Target speaking plain OpenAI chat completions with
// Server-Sent Events (POST /v1/chat/completions, "stream": true): a
// llama-server, or `sotto proxy` in front of a Sotto server.
type OpenAI struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Model   string // the "model" member (llama-server ignores it)
	HTTP    *http.Client
}

type oaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// oaRequest: the standard members, plus llama-server's cache_prompt
// (others, such as sotto proxy, ignore unknown members).
type oaRequest struct {
	Model         string      `json:"model"`
	Messages      []oaMessage `json:"messages"`
	MaxTokens     int         `json:"max_tokens"`
	Temperature   float64     `json:"temperature"`
	Seed          uint64      `json:"seed"`
	Stream        bool        `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	CachePrompt bool `json:"cache_prompt"`
}

type oaChunk struct {
	Choices []struct {
		Delta struct {
			Content string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// Send posts r and reads the stream to its "[DONE]".
func (t OpenAI) Send(ctx context.Context, r *Request, onDelta func([]byte)) Outcome {
	body := oaRequest{Model: t.Model, MaxTokens: r.MaxTokens, Seed: r.Seed, Stream: true, CachePrompt: r.Conv != nil}
	body.StreamOptions.IncludeUsage = true
	for _, m := range r.Messages {
		body.Messages = append(body.Messages, oaMessage(m))
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Outcome{Failure: "request"}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.BaseURL, "/")+"/v1/chat/completions", bytes.NewReader(b))
	if err != nil {
		return Outcome{Failure: "request"}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "text/event-stream")
	resp, err := t.HTTP.Do(hreq)
	if err != nil {
		name, _ := Classify(err)
		return Outcome{Failure: name}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return oaRefusal(resp)
	}
	o := readOpenAIStream(resp, onDelta)
	if o.Failure == "" && ctx.Err() != nil {
		o.Failure = "timeout"
	}
	return o
}

// oaRefusal names a non-200 answer by its error code (sotto proxy puts
// the Sotto problem's name there), else by its status.
func oaRefusal(resp *http.Response) Outcome {
	var e struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
	name := fmt.Sprintf("http-%d", resp.StatusCode)
	if c, ok := e.Error.Code.(string); ok && c != "" {
		name = c
	}
	refused := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
	return Outcome{Failure: name, Refused: refused}
}

// readOpenAIStream reads data events; a stream without "[DONE]" or
// without a finish reason is truncated. Without a usage chunk the
// completion tokens are the chunks with text (llama-server sends one a
// token).
func readOpenAIStream(resp *http.Response, onDelta func([]byte)) Outcome {
	var o Outcome
	var finish string
	var textChunks int
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			if finish == "" {
				return Outcome{Failure: "stream-truncated"}
			}
			if o.CompletionTokens == 0 {
				o.CompletionTokens = textChunks
			}
			return o
		}
		var c oaChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return Outcome{Failure: "stream-corrupt"}
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != "" {
				textChunks++
				onDelta([]byte(ch.Delta.Content))
			}
			if ch.FinishReason != nil && *ch.FinishReason != "" {
				finish = *ch.FinishReason
			}
		}
		if c.Usage != nil {
			o.PromptTokens, o.CompletionTokens = c.Usage.PromptTokens, c.Usage.CompletionTokens
		}
	}
	return Outcome{Failure: "stream-truncated"}
}
